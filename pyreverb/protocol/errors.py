"""Errors that carry a Pusher error code; they become ``pusher:error`` frames."""

from __future__ import annotations

__all__ = [
    "PusherError",
    "InvalidMessage",
    "UnknownApp",
    "AppDisabled",
    "OverConnectionQuota",
    "Unauthorized",
    "ClientEventRejected",
    "ServerShuttingDown",
    "PongNotReceived",
    "OverCapacity",
]


class PusherError(Exception):
    """Base class: ``code`` follows Pusher's ranges (4000-4099 no reconnect, ...)."""

    code: int = 4200
    default_message: str = "Error"

    def __init__(self, message: str | None = None, code: int | None = None) -> None:
        self.message = message or self.default_message
        if code is not None:
            self.code = code
        super().__init__(self.message)

    def payload(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message}


class InvalidMessage(PusherError):
    """Bad JSON, missing fields, wrong types or an unknown event (Reverb uses 4200)."""

    code = 4200
    default_message = "Invalid message format"


class UnknownApp(PusherError):
    code = 4001
    default_message = "Application does not exist"


class AppDisabled(PusherError):
    code = 4003
    default_message = "Application is disabled"


class OverConnectionQuota(PusherError):
    code = 4004
    default_message = "Application is over connection quota"


class Unauthorized(PusherError):
    code = 4009
    default_message = "Connection is unauthorized"


class OverCapacity(PusherError):
    code = 4100
    default_message = "Over capacity"


class ServerShuttingDown(PusherError):
    code = 4200
    default_message = "Server is shutting down, reconnect"


class PongNotReceived(PusherError):
    code = 4201
    default_message = "Pong reply not received"


class ClientEventRejected(PusherError):
    code = 4301
    default_message = "Client event rejected"
