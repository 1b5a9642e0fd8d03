"""The WebSocket transport: moves bytes between sockets and the server.

Plugged into uvicorn as its ``ws`` protocol class, so the WebSocket endpoint and
the HTTP API share one port while WebSocket traffic skips the ASGI layer. The
upgrade request arrives already parsed by uvicorn's HTTP parser
(``PusherHttp.handle_websocket_upgrade`` calls :meth:`PusherWebSocket.upgrade`), is
answered here when admission control gives it its turn (``pyreverb/admission.py``),
and incoming frames go through :class:`~pyreverb.wsframes.FrameReader`; outgoing
frames are pre-encoded bytes written straight to the transport (a broadcast frame is
encoded once for all subscribers). An idle socket holds this object, its session and
the event loop's transport, nothing else.
"""

from __future__ import annotations

import asyncio
import binascii
import logging
import re
import time
from collections import deque
from typing import Any, cast
from urllib.parse import parse_qs

from pyreverb.config import AppConfig
from pyreverb.framing import close_frame, text_frame
from pyreverb.protocol.errors import OverCapacity, PusherError
from pyreverb.protocol.messages import encode_error
from pyreverb.protocol.session import Action, PusherSession
from pyreverb.server import PusherServer
from pyreverb.wsframes import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_TEXT,
    FrameError,
    FrameReader,
    accept_key,
    close_code,
    pong_frame,
)

__all__ = ["PusherWebSocket"]

log = logging.getLogger("pyreverb.ws")
CLOSE_GRACE_SECONDS = 2.0
_APP_PATH = re.compile(r"^/app/([^/]+)/?$")
Headers = list[tuple[bytes, bytes]]


class PusherWebSocket(asyncio.Protocol):
    """One client socket after uvicorn saw an ``Upgrade: websocket`` request."""

    __slots__ = (
        "server", "server_state", "transport", "app", "session", "reader", "socket_id", "app_id", "user_id",
        "opened_at", "last_activity", "ping_sent_at", "pending", "opened", "closing", "_close_timer", "_debug",
        "_head",
    )

    # Set by connection_made, which uvicorn calls right after building the protocol.
    transport: asyncio.Transport
    # Set by the handshake, before the server first sees the socket (server.open).
    app: AppConfig
    session: PusherSession
    reader: FrameReader

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.server: PusherServer = app_state["pyreverb"]
        self.server_state = server_state
        self.socket_id = ""
        self.app_id = ""
        self.user_id: str | None = None
        self.opened_at = self.last_activity = time.monotonic()
        self.ping_sent_at: float | None = None
        self.pending: deque[Action] | None = None
        self.opened = False
        self.closing = False
        self._close_timer: asyncio.TimerHandle | None = None
        self._debug = self.server.settings.debug
        self.reader = _DISCARD  # until the handshake succeeds
        # The 101 response, held back to go out in one write with the first frame (one
        # syscall less per connection: connection_established or the refusal follows at once).
        self._head = b""

    # -- asyncio.Protocol ---------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass, but has the methods
        # The event loop calls pause_writing() once the send buffer passes this, so
        # a fan-out write needs no per-subscriber buffer check.
        self.transport.set_write_buffer_limits(high=self.server.settings.max_send_buffer)
        self.server_state.connections.add(self)

    def data_received(self, data: bytes) -> None:
        frames, violation = self.reader.feed(data)
        for opcode, payload in frames:
            if opcode == OP_TEXT or opcode == OP_BINARY:
                if not self.closing:
                    if self._debug:
                        log.info("%s >>> %s", self.socket_id, payload[:2000].decode(errors="replace"))
                    self.server.receive(self, payload, opcode == OP_BINARY)
            elif opcode == OP_CLOSE:
                self._peer_closed(payload)
                return
            elif self.opened:  # ping or pong: both count as activity
                if opcode == OP_PING and not self.closing:
                    self.transport.write(pong_frame(payload))
                self.server.touch(self)
        if violation is not None:
            self._fail(violation)

    def eof_received(self) -> bool | None:
        return None  # the client half-closed without a close frame: close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_state.connections.discard(self)
        if self._close_timer is not None:
            self._close_timer.cancel()
        self.closing = True
        if self.opened:
            self.opened = False
            self.server.closed(self)
            if self._debug:
                log.info("%s closed", self.socket_id)

    # uvicorn calls this on SIGTERM/SIGINT before the lifespan shutdown.
    def shutdown(self) -> None:
        if self.opened and not self.closing:
            from pyreverb.protocol.errors import ServerShuttingDown

            err = ServerShuttingDown()
            self.send(encode_error(err.code, err.message))
            self.close(err.code, err.message)
        elif not self.opened:
            self.transport.close()

    # -- handshake -------------------------------------------------------------------
    def upgrade(self, target: bytes, headers: Headers) -> None:
        """Answer the upgrade request uvicorn parsed (RFC 6455 4.2), then open the Pusher session."""
        path, _, query = target.decode("latin-1").partition("?")
        prefix = self.server.settings.prefix
        match = _APP_PATH.match(path[len(prefix):]) if path.startswith(prefix) else None
        if match is None:
            self._reject(404, "Not found: WebSocket clients connect to /app/{key}\n")
            return
        problem = _handshake_problem(headers)
        if problem is not None:
            status, message, extra = problem
            self._reject(status, f"Failed to open a WebSocket connection: {message}.\n", extra)
            return
        key = _header(headers, b"sec-websocket-key")
        assert key is not None  # _handshake_problem checked it
        app_key = match.group(1)
        if not self.server.admission.submit(lambda: self._open(key, app_key, query, headers)):
            self._accept(key)
            self._refuse(OverCapacity("Over capacity: too many connections waiting to open, retry later"))

    def _accept(self, key: bytes) -> None:
        self._head = (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept_key(key.decode("latin-1")).encode() + b"\r\n\r\n"
        )

    def _open(self, key: bytes, app_key: str, query: str, headers: Headers) -> bool:
        """The paced part of the handshake (see pyreverb/admission.py): the 101 and the
        Pusher session; False when the client left while it waited."""
        if self.closing or self.transport.is_closing():
            return False
        self._accept(key)
        app = self.server.apps.find_by_key(app_key)
        origin = _header(headers, b"origin")
        error = self.server.check_new_connection(app, origin.decode("latin-1") if origin is not None else None)
        if error is None:
            error = _protocol_version_error(query)
        if error is not None:
            self._refuse(error)
            return True
        assert app is not None
        self.app = app
        self.app_id = app.app_id
        self.reader = FrameReader(app.max_message_size)
        self.session = PusherSession(app)
        self.socket_id = self.session.socket_id
        self.last_activity = time.monotonic()
        self.opened = True
        self.server.open(self)  # sends connection_established, with the 101 before it
        if self._head:  # a server that sent nothing on open
            self.transport.write(self._head)
            self._head = b""
        if self._debug:
            log.info("%s connected to app %s", self.socket_id, app.app_id)
        return True

    def _reject(self, status: int, body: str, extra: bytes = b"") -> None:
        """An HTTP answer instead of the upgrade; the connection closes once it is sent."""
        content = body.encode()
        self.closing = True
        self.transport.write(
            b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status])
            + extra
            + b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % len(content)
            + content
        )
        self.transport.close()

    def _refuse(self, error: PusherError) -> None:
        """Pusher's way: the socket opens, gets pusher:error, then a close with that code."""
        self.transport.write(self._head + text_frame(encode_error(error.code, error.message)))
        self._head = b""
        self.closing = True
        self.reader = FrameReader(_CONTROL_ONLY)  # for the client's close frame
        self.transport.write(close_frame(error.code, error.message))
        self._abort_later(CLOSE_GRACE_SECONDS)

    # -- frames out ---------------------------------------------------------------------
    def write_frame(self, frame: bytes) -> None:
        """The fan-out hot path: one check, one write (connection_made set the transport)."""
        if not self.closing:
            self.transport.write(frame)

    def pause_writing(self) -> None:
        """The send buffer passed ``max_send_buffer``: the client stopped reading."""
        if not self.closing:
            self._too_slow()

    def resume_writing(self) -> None:
        pass

    def send(self, payload: bytes) -> None:
        if self._debug and not self.closing:
            log.info("%s <<< %s", self.socket_id, payload[:2000].decode(errors="replace"))
        if self._head:
            self.write_frame(self._head + text_frame(payload))
            self._head = b""
        else:
            self.write_frame(text_frame(payload))

    def close(self, code: int, reason: str = "") -> None:
        """Start the closing handshake; the client's close frame (or the grace period) ends it."""
        if self.closing:
            return
        self.closing = True
        self.transport.write(close_frame(code, reason))
        self._abort_later(CLOSE_GRACE_SECONDS)

    def _peer_closed(self, payload: bytes) -> None:
        """The client's close frame: answered with the same code (or ended, if we asked first)."""
        try:
            code, _ = close_code(payload)
        except FrameError as violation:
            self._fail(violation)
            return
        if not self.closing:
            self.closing = True
            self.transport.write(close_frame(code) if code != 1005 else b"\x88\x00")
        self.transport.close()

    def _fail(self, violation: FrameError) -> None:
        """The client broke the protocol: close with its code, then half-close and keep
        reading (and discarding): closing outright while the client still sends would reset
        the connection and lose the close frame (e.g. the 1009 for a huge message)."""
        if not self.closing:
            self.closing = True
            self.transport.write(close_frame(violation.code, violation.reason))
        self.reader = _DISCARD  # what follows a violation is not frames any more
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._abort_later(CLOSE_GRACE_SECONDS)

    def _too_slow(self) -> None:
        """The client stopped reading: stop buffering and tell it to reconnect (4100)."""
        log.warning(
            "%s: send buffer over %d bytes, closing slow client", self.socket_id, self.server.settings.max_send_buffer
        )
        self.closing = True
        self.transport.write(close_frame(4100, "Client too slow: send buffer full"))
        self._abort_later(CLOSE_GRACE_SECONDS)

    def _abort_later(self, delay: float) -> None:
        if self._close_timer is None:
            self._close_timer = asyncio.get_running_loop().call_later(delay, self._abort)

    def _abort(self) -> None:
        if not self.transport.is_closing():
            self.transport.abort()


class _Discard(FrameReader):
    """What reads a connection that broke the protocol: nothing."""

    __slots__ = ()

    def feed(self, data: bytes) -> tuple[list[tuple[int, bytes]], FrameError | None]:
        return [], None


_DISCARD = _Discard(0)
_CONTROL_ONLY = 125
_REASONS = {400: b"Bad Request", 404: b"Not Found", 426: b"Upgrade Required"}


def _header(headers: Headers, name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _handshake_problem(headers: Headers) -> tuple[int, str, bytes] | None:
    """What makes this not a valid RFC 6455 opening handshake (status, message, extra headers)."""
    connection = _header(headers, b"connection") or b""
    if b"upgrade" not in [token.strip() for token in connection.lower().split(b",")]:
        return 426, "missing Connection: Upgrade", b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
    if _header(headers, b"sec-websocket-version") != b"13":
        return 426, "Sec-WebSocket-Version must be 13", b"Sec-WebSocket-Version: 13\r\n"
    key = _header(headers, b"sec-websocket-key")
    try:
        valid = key is not None and len(binascii.a2b_base64(key)) == 16 and len(key.strip()) == 24
    except binascii.Error:
        valid = False
    if not valid:
        return 400, "invalid Sec-WebSocket-Key header", b""
    return None


def _protocol_version_error(query: str) -> PusherError | None:
    raw = parse_qs(query).get("protocol", [None])[0]
    if raw is None:
        return None
    try:
        version = int(raw)
    except ValueError:
        return PusherError("Invalid protocol version", code=4006)
    if not 5 <= version <= 7:
        return PusherError(f"Unsupported protocol version {version}; use 7", code=4007)
    return None
