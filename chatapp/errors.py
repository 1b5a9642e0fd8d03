"""One exception tree; each error knows its HTTP status and a stable code.

Handlers raise these; the app turns them into ``{"error": code, "message": text}``
JSON bodies, so every bad input gets a clear, machine-readable answer.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ChatError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "LengthRequired",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "TooManyRequests",
]


class ChatError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}


class BadRequest(ChatError):
    status = 422
    code = "invalid_input"


class Unauthorized(ChatError):
    status = 401
    code = "unauthenticated"


class Forbidden(ChatError):
    status = 403
    code = "forbidden"


class NotFound(ChatError):
    status = 404
    code = "not_found"


class Conflict(ChatError):
    status = 409
    code = "conflict"


class LengthRequired(ChatError):
    status = 411
    code = "length_required"


class PayloadTooLarge(ChatError):
    status = 413
    code = "too_large"


class UnsupportedMediaType(ChatError):
    status = 415
    code = "unsupported_media_type"


class TooManyRequests(ChatError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, retry_after=max(1, round(retry_after)))
        self.retry_after = max(1, round(retry_after))
