"""The WebSocket transport: moves bytes between sockets and the server.

Plugged into uvicorn as its ``ws`` protocol class, so the WebSocket endpoint and
the HTTP API share one port while WebSocket traffic skips the ASGI layer: the
handshake and incoming frames go through websockets' sans-I/O
``ServerProtocol``; outgoing frames are pre-encoded bytes written straight to
the transport (a broadcast frame is encoded once for all subscribers).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

from pyreverb.config import AppConfig
from pyreverb.framing import close_frame, text_frame
from pyreverb.protocol.errors import PusherError
from pyreverb.protocol.messages import encode_error
from pyreverb.protocol.session import Action, PusherSession
from pyreverb.server import PusherServer

__all__ = ["PusherWebSocket"]

log = logging.getLogger("pyreverb.ws")
CLOSE_GRACE_SECONDS = 2.0
_APP_PATH = re.compile(r"^/app/([^/]+)/?$")


class PusherWebSocket(asyncio.Protocol):
    """One client socket after uvicorn saw an ``Upgrade: websocket`` request."""

    # Set by connection_made, which uvicorn calls right after building the protocol.
    transport: asyncio.Transport
    # Set by the handshake, before the server first sees the socket (server.open).
    app: AppConfig
    session: PusherSession

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.server: PusherServer = app_state["pyreverb"]
        self.server_state = server_state
        self.proto = ServerProtocol(max_size=1 << 20)
        self.socket_id = ""
        self.app_id = ""
        self.user_id: str | None = None
        self.opened_at = self.last_activity = time.monotonic()
        self.ping_sent_at: float | None = None
        self.pending: deque[Action] | None = None
        self.opened = False
        self.closing = False
        self._fragments: list[bytes] | None = None
        self._fragments_binary = False
        self._close_timer: asyncio.TimerHandle | None = None
        self._debug = self.server.settings.debug

    # -- asyncio.Protocol ---------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass, but has the methods
        # The event loop calls pause_writing() once the send buffer passes this, so
        # a fan-out write needs no per-subscriber buffer check.
        self.transport.set_write_buffer_limits(high=self.server.settings.max_send_buffer)
        self.server_state.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.proto.receive_data(data)
        for event in self.proto.events_received():
            if isinstance(event, Request):
                self._handshake(event)
            elif isinstance(event, Frame):
                self._frame(event)
        self._flush()

    def eof_received(self) -> bool | None:
        self.proto.receive_eof()
        self._flush()
        return None

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
    def _handshake(self, request: Request) -> None:
        url = urlsplit(request.path)
        path = url.path
        prefix = self.server.settings.prefix
        match = _APP_PATH.match(path[len(prefix):]) if path.startswith(prefix) else None
        if match is None:
            self.proto.send_response(self.proto.reject(404, "Not found: WebSocket clients connect to /app/{key}\n"))
            self._flush()
            self._abort_later(0.5)
            return
        response = self.proto.accept(request)
        self.proto.send_response(response)
        self._flush()  # the 101 must precede any frame we write directly
        if response.status_code != 101:
            self._abort_later(0.5)
            return
        app = self.server.apps.find_by_key(match.group(1))
        error = self.server.check_new_connection(app, request.headers.get("Origin"))
        if error is None:
            error = _protocol_version_error(url.query)
        if error is not None:
            self._refuse(error)
            return
        assert app is not None
        self.app = app
        self.app_id = app.app_id
        self.proto.max_message_size = app.max_message_size
        self.session = PusherSession(app)
        self.socket_id = self.session.socket_id
        self.last_activity = time.monotonic()
        self.opened = True
        self.server.open(self)
        if self._debug:
            log.info("%s connected to app %s", self.socket_id, app.app_id)

    def _refuse(self, error: PusherError) -> None:
        """Pusher's way: the socket opens, gets pusher:error, then a close with that code."""
        self.transport.write(text_frame(encode_error(error.code, error.message)))
        self.closing = True
        self.proto.send_close(error.code, error.message)
        self._flush()
        self._abort_later(CLOSE_GRACE_SECONDS)

    # -- frames in ------------------------------------------------------------------
    def _frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if frame.fin:
                self._message(bytes(frame.data), opcode is Opcode.BINARY)
            else:
                self._fragments = [bytes(frame.data)]
                self._fragments_binary = opcode is Opcode.BINARY
        elif opcode is Opcode.CONT:
            if self._fragments is not None:
                self._fragments.append(bytes(frame.data))
                if frame.fin:
                    data, self._fragments = b"".join(self._fragments), None
                    self._message(data, self._fragments_binary)
        elif opcode is Opcode.PING or opcode is Opcode.PONG:
            if self.opened:
                self.server.touch(self)
        elif opcode is Opcode.CLOSE:
            self.closing = True

    def _message(self, data: bytes, binary: bool) -> None:
        if not self.opened or self.closing:
            return
        if self._debug:
            log.info("%s >>> %s", self.socket_id, bytes(data)[:2000].decode(errors="replace"))
        self.server.receive(self, data, binary)

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
        self.write_frame(text_frame(payload))

    def close(self, code: int, reason: str = "") -> None:
        if self.closing:
            return
        self.closing = True
        self.proto.send_close(code, reason)
        self._flush()
        self._abort_later(CLOSE_GRACE_SECONDS)

    def _too_slow(self) -> None:
        """The client stopped reading: stop buffering and tell it to reconnect (4100)."""
        log.warning(
            "%s: send buffer over %d bytes, closing slow client", self.socket_id, self.server.settings.max_send_buffer
        )
        self.closing = True
        self.transport.write(close_frame(4100, "Client too slow: send buffer full"))
        self._abort_later(CLOSE_GRACE_SECONDS)

    def _flush(self) -> None:
        transport = self.transport
        for chunk in self.proto.data_to_send():
            if chunk:
                transport.write(chunk)
            elif transport.can_write_eof():
                # Half-close after our close frame and keep reading (and discarding):
                # closing outright while the client still sends would reset the
                # connection and lose the close frame (e.g. the 1009 for a huge message).
                transport.write_eof()
                self._abort_later(CLOSE_GRACE_SECONDS)
                return
            else:
                transport.close()
                return
        if self.proto.close_expected() and self._close_timer is None:
            self._abort_later(CLOSE_GRACE_SECONDS)

    def _abort_later(self, delay: float) -> None:
        if self._close_timer is None:
            self._close_timer = asyncio.get_running_loop().call_later(delay, self._abort)

    def _abort(self) -> None:
        if not self.transport.is_closing():
            self.transport.abort()


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
