"""The uvicorn internals pyreverb's transports build on are still there, shaped as expected.

pyreverb/http_transport.py subclasses uvicorn's httptools protocol and reads its
per-connection state; pyreverb/transport.py is handed to uvicorn as the WebSocket
protocol class. None of that is public API, so pyproject.toml bounds uvicorn
above, and this test is what has to pass before the bound moves: a rename in a
new release fails here, by name, instead of as a hung connection in production.
"""

from __future__ import annotations

import asyncio
import inspect

import pytest
import uvicorn
from uvicorn.protocols.http import httptools_impl
from uvicorn.server import ServerState

from pyreverb.http_transport import PusherHttp
from pyreverb.transport import PusherWebSocket

# the methods PusherHttp overrides or calls, with the parameters it passes
OVERRIDDEN = {
    "__init__": ["self", "config", "server_state", "app_state", "_loop"],
    "data_received": ["self", "data"],
    "on_message_begin": ["self"],
    "on_headers_complete": ["self"],
    "on_body": ["self", "body"],
    "on_message_complete": ["self"],
    "send_400_response": ["self", "msg"],
    "connection_lost": ["self", "exc"],
    "_unset_keepalive_if_required": ["self"],
    "handle_websocket_upgrade": ["self"],
    "_should_upgrade": ["self"],
}

# the instance state PusherHttp reads or resets between requests
STATE = [
    "config", "loop", "access_log", "limit_concurrency", "parser", "pipeline", "cycle", "headers",
    "expect_100_continue", "server_state", "timeout_keep_alive", "timeout_keep_alive_task", "transport",
    "connections", "app_state",
]


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(OVERRIDDEN))
def test_the_overridden_methods_keep_their_signatures(name: str) -> None:
    base = httptools_impl.HttpToolsProtocol
    assert name in vars(base), f"uvicorn's HttpToolsProtocol no longer defines {name}"
    assert _parameters(getattr(base, name)) == OVERRIDDEN[name]
    if name in vars(PusherHttp):
        assert _parameters(getattr(PusherHttp, name)) == OVERRIDDEN[name]


async def _dummy_app(scope: object, receive: object, send: object) -> None:  # pragma: no cover - never called
    raise AssertionError("not served")


async def test_a_new_connection_carries_the_state_the_transport_reads() -> None:
    config = uvicorn.Config(_dummy_app, lifespan="off", log_level="warning")
    protocol = httptools_impl.HttpToolsProtocol(config, ServerState(), {}, asyncio.get_running_loop())
    missing = [name for name in STATE if not hasattr(protocol, name)]
    assert not missing, f"uvicorn's HttpToolsProtocol no longer sets {missing}"
    assert protocol.pipeline is not None and len(protocol.pipeline) == 0
    assert protocol.expect_100_continue is False
    # uvicorn fills url in on_url; PusherHttp resets it per request and reads it afterwards
    assert "self.url" in inspect.getsource(httptools_impl.HttpToolsProtocol.on_url)


def test_the_request_cycle_keeps_the_fields_an_inline_body_is_handed_through() -> None:
    params = _parameters(httptools_impl.RequestResponseCycle.__init__)
    assert {"scope", "transport", "message_event", "keep_alive"} <= set(params)
    source = inspect.getsource(httptools_impl.RequestResponseCycle.__init__)
    for field in ("self.body", "self.more_body", "self.message_event", "self.response_complete"):
        assert field in source, f"uvicorn's RequestResponseCycle no longer sets {field}"


def test_status_lines_and_server_state_are_where_the_inline_answers_take_them() -> None:
    assert httptools_impl.STATUS_LINE[200].startswith(b"HTTP/1.1 200")
    assert httptools_impl.STATUS_LINE[413].startswith(b"HTTP/1.1 413")
    state = ServerState()
    assert state.total_requests == 0
    assert isinstance(state.default_headers, list)


def test_the_websocket_protocol_is_built_with_the_keywords_uvicorn_passes() -> None:
    upgrade = inspect.getsource(httptools_impl.HttpToolsProtocol.handle_websocket_upgrade)
    for keyword in ("config=", "server_state=", "app_state="):
        assert keyword in upgrade, f"uvicorn no longer passes {keyword} to the WebSocket protocol"
    assert _parameters(PusherWebSocket.__init__)[:4] == ["self", "config", "server_state", "app_state"]


def test_the_upgrade_is_raised_where_handle_websocket_upgrade_expects_it() -> None:
    """PusherHttp.handle_websocket_upgrade answers from ``self.url`` and ``self.headers``;
    uvicorn must still call it from data_received on httptools' upgrade signal, with the
    headers gathered by on_header (lower-cased names)."""
    data_received = inspect.getsource(httptools_impl.HttpToolsProtocol.data_received)
    assert "HttpParserUpgrade" in data_received and "self.handle_websocket_upgrade()" in data_received
    on_header = inspect.getsource(httptools_impl.HttpToolsProtocol.on_header)
    assert "name.lower()" in on_header and "self.headers.append" in on_header
