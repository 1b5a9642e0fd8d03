"""The wire form of messages between nodes on the Redis pub/sub channel.

One message is a JSON header array, a newline, then an opaque body::

    [1, "<node id>", <sent at, ms since the epoch>, "<kind>", arg, ...]\\n<body bytes>

The body is usually an already-encoded Pusher frame: it is never parsed or
re-encoded on the way, so a trigger is serialised once for the whole cluster.
JSON escapes newlines, so the first ``\\n`` always ends the header. Every message
carries its sender's node id; a node drops its own messages when they come back.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

import orjson

__all__ = ["Kind", "BusMessage", "BusDecodeError", "encode", "decode", "WIRE_VERSION"]

WIRE_VERSION = 1


class Kind(enum.StrEnum):
    """What a bus message asks its receivers to do (see docs/scaling.md)."""

    MESSAGE = "m"  # args: app, channel, except_socket_id | None; body: Pusher frame
    TERMINATE = "t"  # args: app, user_id; close that user's sockets
    QUERY = "q"  # args: request id, question, app; every other node answers with REPLY
    REPLY = "r"  # args: request id, asking node; body: JSON answer


class BusDecodeError(ValueError):
    """A bus message that is not ours (another program on the channel) or is damaged."""


@dataclass(frozen=True, slots=True)
class BusMessage:
    node: str
    kind: Kind
    args: tuple[str | None, ...]
    body: bytes = b""
    sent_at: float = 0.0  # sender's wall clock, seconds: gives the bus lag on receipt


def encode(node: str, kind: Kind, *args: str | None, body: bytes = b"") -> bytes:
    sent_at = int(time.time() * 1000)
    return orjson.dumps([WIRE_VERSION, node, sent_at, kind.value, *args]) + b"\n" + body


def decode(raw: bytes) -> BusMessage:
    head, sep, body = raw.partition(b"\n")
    if not sep:
        raise BusDecodeError("no header line")
    try:
        header = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise BusDecodeError(f"header is not JSON: {exc}") from None
    if not isinstance(header, list) or len(header) < 4 or header[0] != WIRE_VERSION:
        raise BusDecodeError(f"unknown header {head[:80]!r}")
    node, sent_at, kind, *args = header[1:]
    try:
        kind = Kind(kind)
    except ValueError:
        raise BusDecodeError(f"unknown message kind {kind!r}") from None
    if not isinstance(node, str) or not all(a is None or isinstance(a, str) for a in args):
        raise BusDecodeError("header fields must be strings")
    if not isinstance(sent_at, int) or len(args) < _ARITY[kind]:
        raise BusDecodeError(f"malformed {kind.name} header")
    return BusMessage(node=node, kind=kind, args=tuple(args), body=body, sent_at=sent_at / 1000)


_ARITY = {Kind.MESSAGE: 3, Kind.TERMINATE: 2, Kind.QUERY: 3, Kind.REPLY: 2}
