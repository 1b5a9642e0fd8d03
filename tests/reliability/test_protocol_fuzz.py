"""Hostile frames over real sockets: answered with Pusher errors, never a crash."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.e2e.test_http_api import signed_url
from tests.helpers.procs import ReverbProcess

ALLOWED_CLOSE_CODES = {1009, 4009, 4300, 4301}
counter = {"frames": 0, "closes": 0}

json_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=40)
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=10), c, max_size=5), max_leaves=15)
events = st.sampled_from(
    ["pusher:subscribe", "pusher:unsubscribe", "pusher:ping", "pusher:pong", "pusher:signin", "pusher:nonsense",
     "client-x", "client-" + "y" * 300, "hello", "", "pusher_internal:member_added"]
) | st.text(max_size=30)
channels = st.sampled_from(["news", "private-a", "presence-b", "private-encrypted-c", "cache-d", "#server-to-user-1", "", "bad name", "x" * 200]) | st.text(max_size=20)
pusher_like = st.fixed_dictionaries(
    {"event": events},
    optional={
        "data": json_values | st.fixed_dictionaries({}, optional={"channel": channels, "auth": st.text(max_size=80), "channel_data": st.text(max_size=80) | json_values, "user_data": st.text(max_size=50)}),
        "channel": channels | json_values,
    },
).map(json.dumps)
frames = (
    pusher_like
    | st.text(max_size=300)
    | st.binary(max_size=300)
    | st.builds(lambda n: json.dumps({"event": "pusher:ping", "data": {"pad": "z" * n}}), st.integers(9_000, 12_000))
)


@pytest.fixture(scope="module")
def node() -> Iterator[ReverbProcess]:
    n = ReverbProcess(env={"PYREVERB_APP_MAX_CHANNELS_PER_CONNECTION": "20"}).start()
    yield n
    n.stop()
    assert "Traceback" not in n.log(), n.log()[-3000:]


class Session:
    def __init__(self, node: ReverbProcess) -> None:
        self.node = node
        self.ws: ClientConnection | None = None
        self.stack = contextlib.ExitStack()

    def socket(self) -> ClientConnection:
        if self.ws is None:
            url = f"ws://127.0.0.1:{self.node.port}/app/{self.node.key}?protocol=7"
            self.ws = self.stack.enter_context(connect(url, max_size=None, open_timeout=5))
            established = json.loads(self.ws.recv(timeout=5))
            assert established["event"] == "pusher:connection_established"
        return self.ws


def _replies_until_pong(ws: ClientConnection) -> list[dict[str, Any]]:
    ws.send('{"event":"pusher:ping","data":{"marker":true}}')
    replies = []
    while True:
        doc = json.loads(ws.recv(timeout=5))
        assert isinstance(doc.get("event"), str)
        if doc["event"] == "pusher:pong":
            return replies
        replies.append(doc)


@pytest.fixture(scope="module")
def session(node: ReverbProcess) -> Iterator[Session]:
    s = Session(node)
    with s.stack:
        yield s


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frame=frames)
def test_any_frame_gets_an_answer_or_a_defined_close(session: Session, frame: str | bytes) -> None:
    ws = session.socket()
    counter["frames"] += 1
    try:
        ws.send(frame)
        for reply in _replies_until_pong(ws):
            if reply["event"] == "pusher:error":
                data = json.loads(reply["data"])
                assert isinstance(data["code"], int) and data["message"]
    except ConnectionClosed as closed:
        counter["closes"] += 1
        assert closed.rcvd is not None and closed.rcvd.code in ALLOWED_CLOSE_CODES, closed
        session.ws = None


def test_subscribe_flood_hits_the_per_connection_limit(node: ReverbProcess) -> None:
    with connect(f"ws://127.0.0.1:{node.port}/app/{node.key}?protocol=7") as ws:
        ws.recv(timeout=5)
        for i in range(25):
            ws.send(json.dumps({"event": "pusher:subscribe", "data": {"channel": f"flood-{i}"}}))
        replies = _replies_until_pong(ws)
        errors = [json.loads(r["data"])["code"] for r in replies if r["event"] == "pusher:error"]
        assert sum(1 for r in replies if r["event"] == "pusher_internal:subscription_succeeded") == 20
        assert errors == [4300] * 5


def test_bystander_unaffected_after_fuzzing(node: ReverbProcess) -> None:
    with connect(f"ws://127.0.0.1:{node.port}/app/{node.key}?protocol=7") as ws:
        ws.recv(timeout=5)
        ws.send('{"event":"pusher:subscribe","data":{"channel":"calm"}}')
        assert "subscription_succeeded" in ws.recv(timeout=5)
        body = json.dumps({"name": "still-here", "channel": "calm", "data": "{}"}).encode()
        assert httpx.post(signed_url(node, "POST", f"/apps/{node.app_id}/events", body), content=body).status_code == 200
        assert json.loads(ws.recv(timeout=5))["event"] == "still-here"
    assert httpx.get(f"{node.base_url}/up").json() == {"health": "OK"}
    assert counter["frames"] >= 250
