"""Checks for client-supplied values; each failure names the field and the rule."""

from __future__ import annotations

import re
from typing import Any

from chatapp.errors import BadRequest

__all__ = [
    "text_field",
    "optional_id",
    "int_param",
    "bool_field",
    "choice",
    "idempotency_key",
    "socket_id",
    "MAX_ID",
    "SOCKET_ID_RE",
]

MAX_ID = 2**63 - 1
SOCKET_ID_RE = re.compile(r"^[0-9]{1,20}\.[0-9]{1,20}\Z")  # ASCII digits, no trailing newline
_KEY = re.compile(r"^[\x21-\x7e]{1,100}\Z")


def _has_forbidden_chars(value: str) -> bool:
    return "\x00" in value or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)


def text_field(doc: dict[str, Any], name: str, *, max_length: int, required: bool = True, default: str = "") -> str:
    value = doc.get(name)
    if value is None:
        if required:
            raise BadRequest(f"'{name}' is required", field=name)
        return default
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string", field=name)
    if _has_forbidden_chars(value):
        raise BadRequest(f"'{name}' contains a NUL byte or an unpaired surrogate", field=name)
    if len(value) > max_length:
        raise BadRequest(
            f"'{name}' is {len(value)} characters; the limit is {max_length}", field=name, max_length=max_length
        )
    return value


def optional_id(doc: dict[str, Any], name: str) -> int | None:
    value = doc.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
        raise BadRequest(f"'{name}' must be a positive integer id", field=name)
    return value


def int_param(raw: str | None, name: str, *, default: int | None, minimum: int, maximum: int) -> int | None:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 19 or not minimum <= int(raw) <= maximum:
        raise BadRequest(f"'{name}' must be an integer from {minimum} to {maximum}", field=name)
    return int(raw)


def bool_field(doc: dict[str, Any], name: str, default: bool | None = None) -> bool:
    value = doc.get(name, default)
    if not isinstance(value, bool):
        raise BadRequest(f"'{name}' must be true or false", field=name)
    return value


def choice(value: object, name: str, allowed: tuple[str, ...] | list[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise BadRequest(f"'{name}' must be one of: {', '.join(allowed)}", field=name, allowed=list(allowed))
    return value


def idempotency_key(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _KEY.match(value):
        raise BadRequest(
            "'idempotency_key' must be 1 to 100 printable ASCII characters without spaces", field="idempotency_key"
        )
    return value


def socket_id(value: str | None) -> str | None:
    """The ``X-Socket-ID`` header Echo sends, so the sender's own socket is skipped."""
    if not value:
        return None
    if not SOCKET_ID_RE.match(value):
        raise BadRequest("'X-Socket-ID' must look like '1234.5678'", field="X-Socket-ID")
    return value
