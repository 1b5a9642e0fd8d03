"""Server-to-client WebSocket frames, built once per broadcast.

Server frames are never masked, so one encoded frame can be written to every
subscriber's transport as the same bytes object.
"""

from __future__ import annotations

import struct

__all__ = ["text_frame", "close_frame"]

_FIN_TEXT = 0x81
_FIN_CLOSE = 0x88


def _header(opcode_byte: int, length: int) -> bytes:
    if length < 126:
        return bytes((opcode_byte, length))
    if length < 65536:
        return struct.pack("!BBH", opcode_byte, 126, length)
    return struct.pack("!BBQ", opcode_byte, 127, length)


def text_frame(payload: bytes) -> bytes:
    """A complete, unmasked, unfragmented text frame carrying ``payload``."""
    return _header(_FIN_TEXT, len(payload)) + payload


def close_frame(code: int, reason: str = "") -> bytes:
    body = struct.pack("!H", code) + reason.encode()[:123]
    return _header(_FIN_CLOSE, len(body)) + body
