"""Client WebSocket frames (RFC 6455) read without I/O: the server side of one socket.

Why not websockets' ``ServerProtocol`` after the handshake: for the life of the socket it
keeps the parsed upgrade request, a stream reader, a UUID and two nested generator frames,
about 2.5 KB of a 7 KB idle connection (measured in docs/benchmarks.md). This reader keeps
nothing between frames but a buffer for an incomplete one, created only when a frame
arrives in pieces. The checks are RFC 6455's for a server without extensions; the close
codes are the ones websockets gives for the same faults (tests/unit/test_wsframes.py runs
both on the same bytes).
"""

from __future__ import annotations

import base64
import hashlib
import struct

try:  # websockets' C mask loop; the pure one is its fallback too
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets built without its C extension
    from websockets.utils import apply_mask

__all__ = [
    "FrameReader",
    "FrameError",
    "close_code",
    "accept_key",
    "pong_frame",
    "OP_CONT",
    "OP_TEXT",
    "OP_BINARY",
    "OP_CLOSE",
    "OP_PING",
    "OP_PONG",
]

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# Close codes a peer may send (RFC 6455 7.4.1 and the IANA registry), as websockets accepts them.
_SENDABLE = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


class FrameError(Exception):
    """The client broke RFC 6455: close the connection with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


Frame = tuple[int, bytes]  # (opcode, payload): a whole message, or one control frame


class FrameReader:
    """Turns received bytes into whole messages and control frames, in order."""

    __slots__ = ("max_size", "_buffer", "_fragments", "_fragment_opcode", "_fragment_size")

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._buffer: bytearray | None = None
        self._fragments: list[bytes] | None = None
        self._fragment_opcode = OP_TEXT
        self._fragment_size = 0

    def feed(self, data: bytes) -> tuple[list[Frame], FrameError | None]:
        """What ``data`` (after any buffered bytes) completes; then the first violation, if any.

        Frames before a violation are still returned, as they were valid when sent.
        """
        buffer = self._buffer
        if buffer is not None:
            buffer += data
            view: bytes | bytearray = buffer
        else:
            view = data
        frames: list[Frame] = []
        size = len(view)
        pos = 0
        try:
            while size - pos >= 2:
                first, second = view[pos], view[pos + 1]
                if first & 0x70:
                    raise FrameError(1002, "reserved bits must be 0")
                if not second & 0x80:
                    raise FrameError(1002, "incorrect masking: client frames must be masked")
                opcode = first & 0x0F
                length = second & 0x7F
                head = pos + 2
                if length == 126:
                    if size - pos < 4:
                        break
                    (length,) = struct.unpack_from("!H", view, head)
                    head += 2
                elif length == 127:
                    if size - pos < 10:
                        break
                    (length,) = struct.unpack_from("!Q", view, head)
                    head += 8
                self._check_header(opcode, bool(first & 0x80), length)
                end = head + 4 + length
                if size < end:
                    break
                payload = apply_mask(view[head + 4 : end], view[head : head + 4]) if length else b""
                pos = end
                frame = self._complete(opcode, bool(first & 0x80), payload)
                if frame is not None:
                    frames.append(frame)
        except FrameError as violation:
            self._buffer = None
            return frames, violation
        if pos == size:
            self._buffer = None
        elif buffer is not None:
            del buffer[:pos]
        else:
            self._buffer = bytearray(view[pos:])
        return frames, None

    def _check_header(self, opcode: int, fin: bool, length: int) -> None:
        """Everything decidable before the payload arrives, so nothing oversized is buffered."""
        if opcode >= OP_CLOSE:
            if opcode > OP_PONG:
                raise FrameError(1002, f"invalid opcode: {opcode}")
            if not fin:
                raise FrameError(1002, "fragmented control frame")
            if length > 125:
                raise FrameError(1002, "control frame too long")
            return
        if opcode > OP_BINARY:
            raise FrameError(1002, f"invalid opcode: {opcode}")
        if opcode == OP_CONT:
            if self._fragments is None:
                raise FrameError(1002, "unexpected continuation frame")
            length += self._fragment_size
        elif self._fragments is not None:
            raise FrameError(1002, "expected a continuation frame")
        if length > self.max_size:
            raise FrameError(1009, f"frame with {length} bytes exceeds limit of {self.max_size} bytes")

    def _complete(self, opcode: int, fin: bool, payload: bytes) -> Frame | None:
        if opcode == OP_CONT:
            fragments = self._fragments
            assert fragments is not None  # _check_header refused a stray continuation
            fragments.append(payload)
            self._fragment_size += len(payload)
            if not fin:
                return None
            opcode, payload = self._fragment_opcode, b"".join(fragments)
            self._fragments, self._fragment_size = None, 0
        elif opcode <= OP_BINARY and not fin:
            self._fragments, self._fragment_opcode, self._fragment_size = [payload], opcode, len(payload)
            return None
        if opcode == OP_TEXT and not payload.isascii():
            try:
                payload.decode()
            except UnicodeDecodeError:
                raise FrameError(1007, "invalid UTF-8 in a text frame") from None
        return opcode, payload


def close_code(payload: bytes) -> tuple[int, str]:
    """The code and reason of a received close frame (1005 when it carries none)."""
    if not payload:
        return 1005, ""
    if len(payload) == 1:
        raise FrameError(1002, "close frame too short")
    (code,) = struct.unpack_from("!H", payload)
    if code not in _SENDABLE and not 3000 <= code <= 4999:
        raise FrameError(1002, f"invalid close code {code}")
    try:
        reason = payload[2:].decode()
    except UnicodeDecodeError:
        raise FrameError(1007, "invalid UTF-8 in the close reason") from None
    return code, reason


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()


def pong_frame(payload: bytes) -> bytes:
    """The unmasked pong answering a ping (control payloads are at most 125 bytes)."""
    return bytes((0x80 | OP_PONG, len(payload))) + payload
