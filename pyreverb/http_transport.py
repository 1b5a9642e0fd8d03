"""The HTTP transport: uvicorn's httptools protocol with the trigger route inline.

``POST /apps/{id}/events`` is the server's hot path: under fan-out to few
subscribers each delivered message costs one signed trigger. Through ASGI a
trigger pays for a task, an event, a scope and six middleware layers before
any of our work starts, about as much again as the work itself. This protocol
recognises the route when the request's headers are complete, keeps the body,
and answers synchronously from :func:`~pyreverb.http_api.answer_trigger_inline`
when the message is complete. Everything else (other routes, upgrades,
pipelined requests behind a pending one, ``Expect: 100-continue``, triggers
that ask for channel ``info``) takes uvicorn's ASGI path unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from pyreverb.http_api import answer_trigger_inline, body_too_large
from pyreverb.lingering import LingeringClose
from pyreverb.server import PusherServer
from pyreverb.transport import PusherWebSocket

__all__ = ["PusherHttp"]

log = logging.getLogger("pyreverb.http")

_INTERNAL_ERROR = b'{"error":"Internal server error"}'
_INVALID_REQUEST = b'{"error":"Invalid HTTP request received"}'


class PusherHttp(HttpToolsProtocol):
    """One HTTP connection; see the module docstring for what it answers itself."""

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.pusher: PusherServer = app_state["pyreverb"]
        prefix = re.escape(self.pusher.settings.prefix.encode())
        self._trigger_route = re.compile(rb"^" + prefix + rb"/apps/([^/%]+)/events$")
        # uvicorn logs each request through the ASGI cycle; keep that when asked for.
        self._inline_enabled = not self.access_log and self.limit_concurrency is None
        self._max_body = self.pusher.settings.max_request_size
        self._inline_app_id: str | None = None
        self._refused = False  # a request was refused before its body: parse nothing more
        self._inline_query = b""
        self._inline_path = ""
        self._inline_body: list[bytes] = []
        self._inline_size = 0
        self._ok_headers: list[tuple[bytes, bytes]] | None = None
        self._ok_response = b""
        self._idle_timer: asyncio.TimerHandle | None = None
        self._answered = 0
        # The compiled parser takes a whole plain trigger in one read, between messages.
        speedups = self.pusher.speedups if self._inline_enabled else None
        self._parse_trigger = speedups.parse_trigger_request if speedups is not None else None
        self._route_prefix = self.pusher.settings.prefix.encode()
        self._in_message = False

    def data_received(self, data: bytes) -> None:
        parse = self._parse_trigger
        if (
            parse is not None
            and not self._in_message
            and not self.pipeline
            and (self.cycle is None or self.cycle.response_complete)
        ):
            request = parse(data, self._route_prefix, self._max_body)
            if request is not None and self._answer_parsed(*request):
                return
        super().data_received(data)

    def _answer_parsed(self, app_id: str, path: str, query: bytes, body: bytes, keep_alive: bool) -> bool:
        """Answer a trigger the compiled parser took whole; False hands the same
        bytes to httptools (a trigger asking for ``info``)."""
        self._unset_keepalive_if_required()
        scope = {"method": "POST", "path": path, "query_string": query, "headers": ()}
        answer = self._answer(scope, app_id, body)
        if answer is None:
            return False
        self._respond(*answer, keep_alive=keep_alive)
        return True

    def handle_websocket_upgrade(self) -> None:
        """Hand the socket to :class:`PusherWebSocket` with the request as parsed here.

        uvicorn's own version writes the request out again for the WebSocket library to
        parse a second time; the parsed headers are all the handshake needs.
        """
        self.connections.discard(self)
        socket = PusherWebSocket(config=self.config, server_state=self.server_state, app_state=self.app_state)
        socket.connection_made(self.transport)
        self.transport.set_protocol(socket)
        socket.upgrade(self.url, self.headers)

    # -- parser callbacks -----------------------------------------------------------
    def on_message_begin(self) -> None:
        # uvicorn builds the ASGI scope here (a dict and a copy of the app state);
        # a trigger answered inline never needs it, so it is built in on_headers_complete.
        self.url = b""
        self.expect_100_continue = False
        self.headers = []
        self._in_message = True

    def _begin_asgi_request(self) -> None:
        url, headers, expect = self.url, self.headers, self.expect_100_continue
        super().on_message_begin()
        self.url, self.expect_100_continue = url, expect
        self.headers.extend(headers)

    def on_headers_complete(self) -> None:
        if self._refused or self._refuses_declared_body():
            return
        if self.parser.should_upgrade() and self._should_upgrade():
            return  # handle_websocket_upgrade answers from the url and headers alone: no ASGI scope
        if self._inline_enabled and self._takes_inline():
            return
        self._inline_app_id = None
        self._begin_asgi_request()
        super().on_headers_complete()

    def _answers_in_order(self) -> bool:
        """No earlier request of this connection is still waiting for its answer."""
        return not self.pipeline and (self.cycle is None or self.cycle.response_complete)

    def _refuses_declared_body(self) -> bool:
        """413 for any route whose declared body is over the limit, before reading it;
        behind a pending request the ASGI app refuses it in turn instead."""
        for name, value in self.headers:
            if name == b"content-length":
                if value.isdigit() and int(value) > self._max_body and self._answers_in_order():
                    self._refuse(413, body_too_large(self._max_body).body())
                    return True
                return False
        return False

    def _takes_inline(self) -> bool:
        parser = self.parser
        if parser.get_method() != b"POST" or parser.should_upgrade() or self.expect_100_continue:
            return False
        if not self._answers_in_order():
            return False  # answer in order behind a request still in the ASGI app
        # Origin-form targets only ("/apps/1/events?..."); anything unusual (an
        # absolute URL, a fragment, escapes in the path) fails the match and goes to ASGI.
        path, _, query = self.url.partition(b"?")
        match = self._trigger_route.match(path)
        if match is None or b"#" in query:
            return False
        self._inline_app_id = match.group(1).decode("latin-1")
        self._inline_query = query
        self._inline_path = path.decode("latin-1")
        self._inline_body = []
        self._inline_size = 0
        return True

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        if self._inline_app_id is None:
            super().on_body(body)
            return
        # Keep chunks until the limit is passed: the body then shows it is too large.
        if self._inline_size <= self._max_body:
            self._inline_body.append(body)
        self._inline_size += len(body)

    def on_message_complete(self) -> None:
        self._in_message = False
        if self._refused:
            return
        app_id = self._inline_app_id
        if app_id is None:
            super().on_message_complete()
            return
        self._inline_app_id = None
        chunks = self._inline_body
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._inline_body = []
        scope = {
            "method": "POST",
            "path": self._inline_path,
            "query_string": self._inline_query,
            "headers": self.headers,
        }
        answer = self._answer(scope, app_id, body)
        if answer is None:
            self._hand_to_asgi(body)
        else:
            self._respond(*answer, keep_alive=self._parser_keep_alive())

    # -- answers --------------------------------------------------------------------
    def _answer(self, scope: dict[str, Any], app_id: str, body: bytes) -> tuple[int, bytes] | None:
        try:
            return answer_trigger_inline(self.pusher, scope, app_id, body)
        except Exception:  # one bad request must not take the connection down with it
            log.exception("trigger failed")
            return 500, _INTERNAL_ERROR

    def _parser_keep_alive(self) -> bool:
        parser = self.parser
        return parser.should_keep_alive() and parser.get_http_version() != "1.0"

    def _hand_to_asgi(self, body: bytes) -> None:
        """Run the request through the ASGI app after all (its body is complete)."""
        self._begin_asgi_request()
        super().on_headers_complete()
        # uvicorn reads it only through bytes(), which takes bytes without a copy
        self.cycle.body = body  # type: ignore[assignment]
        self.cycle.more_body = False
        self.cycle.message_event.set()

    def _respond(self, status: int, body: bytes, keep_alive: bool) -> None:
        if status == 200 and keep_alive and body == b"{}":
            if self._ok_headers is not self.server_state.default_headers:  # uvicorn renews them each second
                self._ok_headers = self.server_state.default_headers
                self._ok_response = self._render(200, b"{}", keep_alive=True)
            self.transport.write(self._ok_response)
        else:
            self.transport.write(self._render(status, body, keep_alive))
        self.pusher.stats.http_responses[status] += 1
        self.server_state.total_requests += 1
        self._answered += 1
        if not keep_alive:
            self.transport.close()
        elif self._idle_timer is None:
            self._idle_timer = self.loop.call_later(self.timeout_keep_alive, self._idle_check, self._answered)

    def _refuse(self, status: int, body: bytes) -> None:
        """Answer and end the connection without reading the request's body: the
        client, possibly still sending it, gets the answer rather than a reset."""
        self._refused = True
        self.transport.write(self._render(status, body, keep_alive=False))
        self.pusher.stats.http_responses[status] += 1
        self.server_state.total_requests += 1
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        self._unset_keepalive_if_required()
        LingeringClose.take_over(self.transport, lambda: self.connection_lost(None))

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request httptools cannot parse, in JSON and followed
        by a lingering close rather than an immediate one."""
        if not self._refused:
            self._refuse(400, _INVALID_REQUEST)

    def _render(self, status: int, body: bytes, keep_alive: bool) -> bytes:
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head.append(b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body))
        if not keep_alive:
            head.append(b"connection: close\r\n")
        head += [b"\r\n", body]
        return b"".join(head)

    # -- keep-alive -----------------------------------------------------------------
    def _idle_check(self, answered_then: int) -> None:
        """Close a keep-alive connection idle for ``timeout_keep_alive`` after an
        inline answer. uvicorn re-arms a timer per response; one lazy timer per
        connection does the same for triggers (an idle connection closes after one
        to two timeouts) without a timer handle per request."""
        self._idle_timer = None
        if self.transport.is_closing() or self.timeout_keep_alive_task is not None:
            return  # closed, or an ASGI response armed uvicorn's own timer
        busy = self._inline_app_id is not None or not (self.cycle is None or self.cycle.response_complete)
        if busy or self._answered != answered_then:
            self._idle_timer = self.loop.call_later(self.timeout_keep_alive, self._idle_check, self._answered)
            return
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        super().connection_lost(exc)
