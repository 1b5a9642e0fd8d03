"""Decoding client frames and encoding server frames.

Server-to-client ``data`` is a JSON-encoded *string* (Pusher's double encoding);
a broadcast is encoded once and the same bytes go to every subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from pyreverb.protocol.errors import InvalidMessage

__all__ = ["ClientMessage", "decode", "encode_event", "encode_error", "encode_data"]


@dataclass(frozen=True, slots=True)
class ClientMessage:
    event: str
    data: Any
    channel: str | None


def decode(raw: bytes | str) -> ClientMessage:
    """Parse one client frame; raise only :class:`InvalidMessage`."""
    try:
        doc = orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidMessage("Invalid message format: not valid JSON") from exc
    if not isinstance(doc, dict):
        raise InvalidMessage("Invalid message format: expected a JSON object")
    event = doc.get("event")
    if not isinstance(event, str) or not event:
        raise InvalidMessage("Invalid message format: 'event' must be a non-empty string")
    channel = doc.get("channel")
    if channel is not None and not isinstance(channel, str):
        raise InvalidMessage("Invalid message format: 'channel' must be a string")
    return ClientMessage(event=event, data=doc.get("data"), channel=channel)


def encode_data(data: Any) -> str:
    """Pusher's inner encoding: JSON text of ``data`` (strings pass through)."""
    if isinstance(data, str):
        return data
    return orjson.dumps(data).decode()


def encode_event(event: str, data: Any = None, channel: str | None = None, **extra: Any) -> bytes:
    """Encode a server frame; ``data`` becomes a JSON string unless already one."""
    doc: dict[str, Any] = {"event": event}
    if channel is not None:
        doc["channel"] = channel
    doc["data"] = encode_data({} if data is None else data)
    doc.update(extra)
    return orjson.dumps(doc)


def encode_error(code: int, message: str) -> bytes:
    return encode_event("pusher:error", {"code": code, "message": message})
