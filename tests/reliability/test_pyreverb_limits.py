"""Limits not covered elsewhere, over real sockets: channel-name rules on the WebSocket
and the HTTP API, and the HTTP body limit at its exact edge and for chunked bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.e2e.test_http_api import signed_url
from tests.helpers.procs import ReverbProcess
from tests.reliability.test_protocol_fuzz import _replies_until_pong as replies_until_pong

MAX_BODY = 4096
VALID = ["a", "Z9", "-_=@,.;", "x" * 164, "cache-" + "c" * 158, "presence" + "p" * 10]
INVALID: list[Any] = [
    "", "x" * 165, "news\n", "news\r\n", "news ", " news", "a/b", "a#b", "a?b", "a%20b", "a:b", 'a"b', "a'b",
    "<b>", "a\\b", "a|b", "a+b", "a*b", "caf\u00e9", "\ufeffnews", "news\x00", "\U0001f600", "#server-to-user-1\n",
    123, None, ["a"], {"a": 1},
]


@pytest.fixture(scope="module")
def node() -> Iterator[ReverbProcess]:
    n = ReverbProcess(env={"REVERB_MAX_REQUEST_SIZE": str(MAX_BODY)}).start()
    yield n
    n.stop()
    assert "Traceback" not in n.log(), n.log()[-3000:]


@contextmanager
def socket(node: ReverbProcess) -> Iterator[ClientConnection]:
    with connect(f"ws://127.0.0.1:{node.port}/app/{node.key}?protocol=7", open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5))["event"] == "pusher:connection_established"
        yield ws


def subscribe(ws: ClientConnection, channel: Any) -> dict[str, Any]:
    ws.send(json.dumps({"event": "pusher:subscribe", "data": {"channel": channel}}))
    return replies_until_pong(ws)[0]  # a cache channel adds pusher:cache_miss after it


def trigger(node: ReverbProcess, doc: dict[str, Any]) -> httpx.Response:
    body = json.dumps(doc).encode()
    return httpx.post(signed_url(node, "POST", f"/apps/{node.app_id}/events", body), content=body)


def occupied(node: ReverbProcess) -> set[str]:
    doc = httpx.get(signed_url(node, "GET", f"/apps/{node.app_id}/channels")).json()
    return set(doc["channels"])


def test_channel_name_rules_on_the_socket(node: ReverbProcess) -> None:
    with socket(node) as ws:
        for name in INVALID:
            reply = subscribe(ws, name)
            assert reply["event"] == "pusher:error", (name, reply)
            error = json.loads(reply["data"])
            assert error["code"] == 4200 and "channel name" in error["message"], (name, error)
        for name in VALID:
            reply = subscribe(ws, name)
            assert reply["event"] == "pusher_internal:subscription_succeeded" and reply["channel"] == name, reply
        assert occupied(node) == set(VALID), "refused names never became channels"


def test_channel_name_rules_on_the_http_api(node: ReverbProcess) -> None:
    for name in INVALID:
        response = trigger(node, {"name": "e", "data": "{}", "channel": name})
        assert response.status_code == 400, (name, response.text)
        assert "channel" in response.json()["error"].lower(), (name, response.json())
    for name in ("x" * 165, "news%0A", "a%20b", "caf%C3%A9"):
        response = httpx.get(signed_url(node, "GET", f"/apps/{node.app_id}/channels/{name}"))
        assert response.status_code in (400, 401, 404) and response.json()["error"], (name, response.text)
    for socket_id in ("1.2\n", "\u0661.\u0662", "1.", ".1", "1.2.3"):
        response = trigger(node, {"name": "e", "data": "{}", "channel": "ok", "socket_id": socket_id})
        assert response.status_code == 400 and "socket_id" in response.json()["error"], (socket_id, response.text)

    # One bad name in a multi-channel trigger refuses the whole event: the good channel gets nothing.
    with socket(node) as ws:
        assert subscribe(ws, "atomic")["event"] == "pusher_internal:subscription_succeeded"
        assert trigger(node, {"name": "half", "data": "{}", "channels": ["atomic", "bad name"]}).status_code == 400
        assert trigger(node, {"name": "marker", "data": "{}", "channel": "atomic"}).status_code == 200
        assert json.loads(ws.recv(timeout=5))["event"] == "marker"


def padded_trigger(size: int) -> bytes:
    """A valid trigger body of exactly ``size`` bytes."""
    empty = json.dumps({"name": "e", "channel": "body-limit", "data": ""}).encode()
    body = json.dumps({"name": "e", "channel": "body-limit", "data": "z" * (size - len(empty))}).encode()
    assert len(body) == size
    return body


def test_http_body_limit_at_its_edge_and_when_chunked(node: ReverbProcess) -> None:
    path = f"/apps/{node.app_id}/events"
    at_limit, over = padded_trigger(MAX_BODY), padded_trigger(MAX_BODY + 1)
    assert httpx.post(signed_url(node, "POST", path, at_limit), content=at_limit).status_code == 200
    refused = httpx.post(signed_url(node, "POST", path, over), content=over)
    assert refused.status_code == 413 and str(MAX_BODY) in refused.json()["error"]

    def chunks(body: bytes) -> Iterator[bytes]:  # no Content-Length: the server must count as it reads
        for i in range(0, len(body), 500):
            yield body[i:i + 500]

    small, big = padded_trigger(2000), padded_trigger(3 * MAX_BODY)
    ok = httpx.post(signed_url(node, "POST", path, small), content=chunks(small))
    assert ok.request.headers.get("transfer-encoding") == "chunked" and ok.status_code == 200, ok.text
    streamed = httpx.post(signed_url(node, "POST", path, big), content=chunks(big))
    assert streamed.status_code == 413 and streamed.json()["error"], streamed.text
    assert httpx.get(f"{node.base_url}/up").json() == {"health": "OK"}
