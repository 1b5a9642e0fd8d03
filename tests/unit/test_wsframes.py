"""pyreverb/wsframes.py against RFC 6455, with websockets as the oracle where it has one.

Valid input is made by websockets' own client-side frame encoder (masked, any split into
reads); for broken input the close code must be the one websockets' server protocol sends
for the same bytes.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side, State

from pyreverb.wsframes import (
    OP_BINARY,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    FrameError,
    FrameReader,
    accept_key,
    close_code,
    pong_frame,
)

MAX = 1000


def client(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=True, extensions=[])


def read_all(reader: FrameReader, data: bytes, cuts: list[int]) -> tuple[list[tuple[int, bytes]], FrameError | None]:
    frames: list[tuple[int, bytes]] = []
    start = 0
    for cut in [*sorted(set(c for c in cuts if 0 < c < len(data))), len(data)]:
        got, error = reader.feed(data[start:cut])
        frames += got
        if error is not None:
            return frames, error
        start = cut
    return frames, None


def oracle_close_code(data: bytes, max_size: int = MAX) -> int | None:
    """The code websockets' server side closes with for these bytes (None: no violation)."""
    proto = Protocol(Side.SERVER, state=State.OPEN, max_size=max_size)
    proto.receive_data(data)
    proto.events_received()
    return proto.close_sent.code if proto.close_sent is not None and proto.parser_exc is not None else None


message = st.tuples(
    st.sampled_from([Opcode.TEXT, Opcode.BINARY]),
    st.text(max_size=300).map(str.encode) | st.binary(max_size=300),
    st.integers(min_value=1, max_value=4),  # in how many frames it is sent
)


@settings(max_examples=300, deadline=None)
@given(messages=st.lists(message, max_size=6), pings=st.lists(st.binary(max_size=125), max_size=3),
       cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12))
def test_messages_survive_any_fragmentation_and_any_split_into_reads(
    messages: list[tuple[Opcode, bytes, int]], pings: list[bytes], cuts: list[int]
) -> None:
    wire, expected = b"", []
    for i, (opcode, data, parts) in enumerate(messages):
        if opcode is Opcode.TEXT:
            data = data.decode(errors="replace").encode()
        size = -(-len(data) // parts) or 1
        chunks = [data[j : j + size] for j in range(0, len(data), size)] or [b""]
        for n, chunk in enumerate(chunks):
            wire += client(opcode if n == 0 else Opcode.CONT, chunk, fin=n == len(chunks) - 1)
            if n == 0 and i < len(pings):  # control frames may come between fragments
                wire += client(Opcode.PING, pings[i])
                expected.append((OP_PING, pings[i]))
        expected.append((OP_TEXT if opcode is Opcode.TEXT else OP_BINARY, data))
    frames, error = read_all(FrameReader(MAX), wire, cuts)
    assert error is None
    assert [f for f in frames if f[0] != OP_PING] == [f for f in expected if f[0] != OP_PING]
    assert [f for f in frames if f[0] == OP_PING] == [f for f in expected if f[0] == OP_PING]


def test_nothing_is_kept_between_complete_frames() -> None:
    reader = FrameReader(MAX)
    wire = client(Opcode.TEXT, b'{"event":"pusher:ping"}')
    assert reader.feed(wire[:3]) == ([], None)
    assert reader._buffer is not None
    assert reader.feed(wire[3:]) == ([(OP_TEXT, b'{"event":"pusher:ping"}')], None)
    assert reader._buffer is None


def header(first: int, second: int, extra: bytes = b"") -> bytes:
    return bytes((first, second)) + extra + b"\x00\x00\x00\x00"


BROKEN = {
    "reserved bit": header(0x80 | 0x40 | OP_TEXT, 0x80 | 1) + b"x",
    "unmasked": bytes((0x81, 1)) + b"x",
    "reserved data opcode": header(0x80 | 0x3, 0x80),
    "reserved control opcode": header(0x80 | 0xB, 0x80),
    "fragmented ping": header(OP_PING, 0x80),
    "ping over 125 bytes": header(0x80 | OP_PING, 0x80 | 126, struct.pack("!H", 126)) + b"p" * 126,
    "stray continuation": header(0x80, 0x80 | 1) + b"x",
    "text inside a fragmented text": header(OP_TEXT, 0x80 | 1) + b"a" + header(0x80 | OP_TEXT, 0x80 | 1) + b"b",
    "message over the limit": header(0x81, 0x80 | 126, struct.pack("!H", MAX + 1)),
    "fragments over the limit": header(OP_TEXT, 0x80 | 126, struct.pack("!H", 600))
    + b"a" * 600
    + header(0x80, 0x80 | 126, struct.pack("!H", 600)),
    "64-bit length over the limit": header(0x82, 0x80 | 127, struct.pack("!Q", 2**40)),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_frames_close_with_the_code_websockets_uses(name: str) -> None:
    data = BROKEN[name]
    expected = oracle_close_code(data)
    assert expected is not None, "the oracle sees a violation"
    frames, error = FrameReader(MAX).feed(data)
    assert error is not None and error.code == expected, (error, expected)


def test_invalid_utf8_text_closes_with_1007() -> None:
    frames, error = FrameReader(MAX).feed(client(Opcode.TEXT, b"ok") + client(Opcode.TEXT, b"\xc3\x28"))
    assert frames == [(OP_TEXT, b"ok")], "what came before the violation is still delivered"
    assert error is not None and error.code == 1007
    split = client(Opcode.TEXT, "é".encode()[:1], fin=False) + client(Opcode.CONT, "é".encode()[1:])
    assert FrameReader(MAX).feed(split) == ([(OP_TEXT, "é".encode())], None), "a character split over frames"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [(b"", (1005, "")), (struct.pack("!H", 1000) + b"bye", (1000, "bye")), (struct.pack("!H", 4009), (4009, ""))],
)
def test_close_codes_read(payload: bytes, expected: tuple[int, str]) -> None:
    assert close_code(payload) == expected


@pytest.mark.parametrize(
    ("payload", "code"),
    [(b"\x03", 1002), (struct.pack("!H", 1005), 1002), (struct.pack("!H", 999), 1002),
     (struct.pack("!H", 5000), 1002), (struct.pack("!H", 1000) + b"\xff", 1007)],
)
def test_bad_close_frames(payload: bytes, code: int) -> None:
    with pytest.raises(FrameError) as caught:
        close_code(payload)
    assert caught.value.code == code
    assert oracle_close_code(client(Opcode.CLOSE, payload)) == code


def test_handshake_key_and_pong() -> None:
    # RFC 6455 section 1.3's example.
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    proto = Protocol(Side.CLIENT, state=State.OPEN)
    proto.receive_data(pong_frame(b"abc"))
    (frame,) = proto.events_received()
    assert frame.opcode is Opcode.PONG and frame.data == b"abc"
