"""The node without sockets: fake connections drive PusherServer + MemoryBackend."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from pyreverb.config import AppConfig, Settings
from pyreverb.protocol.auth import channel_auth_signature
from pyreverb.protocol.session import Action, PusherSession
from pyreverb.server import PusherServer, origin_allowed

APP = AppConfig(app_id="1", key="key", secret="secret", ping_interval=10, pong_timeout=5)


def _decode_ws(frame: bytes) -> dict[str, Any]:
    length = frame[1] & 0x7F
    offset = 2 if length < 126 else 4 if length == 126 else 10
    doc = json.loads(frame[offset:])
    if isinstance(doc.get("data"), str):
        try:
            doc["data"] = json.loads(doc["data"])
        except ValueError:
            pass
    return doc


@dataclass
class FakeConn:
    app: AppConfig
    session: PusherSession = field(init=False)
    socket_id: str = field(init=False)
    app_id: str = field(init=False)
    user_id: str | None = None
    opened_at: float = 0.0
    last_activity: float = 0.0
    ping_sent_at: float | None = None
    pending: deque[Action] | None = None
    frames: list[bytes] = field(default_factory=list)
    closed: tuple[int, str] | None = None

    def __post_init__(self) -> None:
        self.session = PusherSession(self.app)
        self.socket_id = self.session.socket_id
        self.app_id = self.app.app_id

    def write_frame(self, frame: bytes) -> None:
        self.frames.append(frame)

    def send(self, payload: bytes) -> None:
        from pyreverb.framing import text_frame

        self.write_frame(text_frame(payload))

    def close(self, code: int, reason: str = "") -> None:
        self.closed = (code, reason)

    def docs(self) -> list[dict[str, Any]]:
        return [_decode_ws(f) for f in self.frames]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [d for d in self.docs() if d["event"] == name]


@pytest.fixture
async def server() -> Any:
    node = PusherServer(Settings(apps=(APP, replace(APP, app_id="2", key="key2", max_connections=1, max_presence_members=2))))
    await node.backend.start()
    yield node
    await node.backend.stop()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def connect(server: PusherServer, app: AppConfig = APP) -> FakeConn:
    conn = FakeConn(app)
    server.open(conn)
    return conn


def join_presence(server: PusherServer, conn: FakeConn, channel: str, user: str) -> None:
    data = json.dumps({"user_id": user, "user_info": {"name": user}})
    sig = channel_auth_signature(conn.app.secret, conn.socket_id, channel, data)
    msg = {"event": "pusher:subscribe", "data": {"channel": channel, "auth": f"{conn.app.key}:{sig}", "channel_data": data}}
    server.receive(conn, json.dumps(msg).encode())


async def test_presence_member_events_are_per_user_not_per_socket(server: PusherServer) -> None:
    watcher, ann1, ann2 = connect(server), connect(server), connect(server)
    join_presence(server, watcher, "presence-room", "watcher")
    await settle()
    join_presence(server, ann1, "presence-room", "ann")
    await settle()
    join_presence(server, ann2, "presence-room", "ann")
    await settle()
    assert [e["data"]["user_id"] for e in watcher.events("pusher_internal:member_added")] == ["ann"]
    succeeded = ann2.events("pusher_internal:subscription_succeeded")[0]["data"]["presence"]
    assert succeeded["count"] == 2 and set(succeeded["ids"]) == {"watcher", "ann"}
    assert succeeded["hash"]["ann"] == {"name": "ann"}
    server.closed(ann1)
    await settle()
    assert watcher.events("pusher_internal:member_removed") == []
    server.closed(ann2)
    await settle()
    assert [e["data"] for e in watcher.events("pusher_internal:member_removed")] == [{"user_id": "ann"}]


async def test_presence_member_limit(server: PusherServer) -> None:
    app2 = server.apps.find_by_id("2")
    assert app2 is not None
    conns = [FakeConn(app2) for _ in range(3)]
    for i, c in enumerate(conns):
        server.hub.add_connection(c)
        join_presence(server, c, "presence-full", f"u{i}")
        await settle()
    error = conns[2].events("pusher:subscription_error")
    assert error and "full" in error[0]["data"]["error"]
    assert "presence-full" not in conns[2].session.channels


async def test_client_events_reach_others_but_never_the_sender(server: PusherServer) -> None:
    a, b = connect(server), connect(server)
    for c in (a, b):
        sig = channel_auth_signature("secret", c.socket_id, "private-x")
        server.receive(c, json.dumps({"event": "pusher:subscribe", "data": {"channel": "private-x", "auth": f"key:{sig}"}}).encode())
    await settle()
    server.receive(a, b'{"event":"client-hi","channel":"private-x","data":{"n":1}}')
    assert [e["data"] for e in b.events("client-hi")] == [{"n": 1}]
    assert a.events("client-hi") == []


async def test_frames_of_one_connection_are_handled_in_order(server: PusherServer) -> None:
    a, b = connect(server), connect(server)
    sig_b = channel_auth_signature("secret", b.socket_id, "private-x")
    server.receive(b, json.dumps({"event": "pusher:subscribe", "data": {"channel": "private-x", "auth": f"key:{sig_b}"}}).encode())
    sig = channel_auth_signature("secret", a.socket_id, "private-x")
    # subscribe (async) immediately followed by a client event and a ping (sync)
    server.receive(a, json.dumps({"event": "pusher:subscribe", "data": {"channel": "private-x", "auth": f"key:{sig}"}}).encode())
    server.receive(a, b'{"event":"client-hi","channel":"private-x","data":{}}')
    server.receive(a, b'{"event":"pusher:ping","data":{}}')
    await settle()
    assert [d["event"] for d in a.docs()][1:] == ["pusher_internal:subscription_succeeded", "pusher:pong"]
    assert len(b.events("client-hi")) == 1


async def test_trigger_with_socket_exclusion(server: PusherServer) -> None:
    a, b = connect(server), connect(server)
    for c in (a, b):
        server.receive(c, b'{"event":"pusher:subscribe","data":{"channel":"news"}}')
    await settle()
    server.trigger(APP, ["news"], "flash", '{"x":1}', except_socket_id=a.socket_id)
    assert a.events("flash") == []
    assert b.events("flash")[0]["data"] == {"x": 1}


async def test_keepalive_pings_then_closes_silent_connection(server: PusherServer) -> None:
    conn = connect(server)
    conn.last_activity = 100.0
    server.sweep(105.0)
    assert conn.events("pusher:ping") == []
    server.sweep(110.0)
    assert len(conn.events("pusher:ping")) == 1
    server.sweep(114.0)
    assert conn.closed is None
    server.sweep(115.0)
    assert conn.closed is not None and conn.closed[0] == 4201
    assert conn.events("pusher:error")[-1]["data"]["code"] == 4201


async def test_activity_resets_keepalive(server: PusherServer) -> None:
    conn = connect(server)
    conn.last_activity = 100.0
    server.sweep(110.0)
    server.receive(conn, b'{"event":"pusher:pong","data":{}}')
    assert conn.ping_sent_at is None
    server.sweep(conn.last_activity + 1)
    assert conn.closed is None


async def test_new_connection_checks(server: PusherServer) -> None:
    app2 = server.apps.find_by_id("2")
    assert server.check_new_connection(None, None).code == 4001  # type: ignore[union-attr]
    assert server.check_new_connection(APP, "https://x.test") is None
    server.hub.add_connection(FakeConn(app2))  # type: ignore[arg-type]
    assert server.check_new_connection(app2, None).code == 4004  # type: ignore[union-attr]
    limited = replace(APP, allowed_origins=("chat.example.com",))
    assert server.check_new_connection(limited, "https://evil.test").code == 4009  # type: ignore[union-attr]
    assert server.check_new_connection(replace(APP, enabled=False), None).code == 4003  # type: ignore[union-attr]


def test_origin_patterns() -> None:
    assert origin_allowed(("*",), None)
    assert origin_allowed(("*.example.com",), "https://chat.example.com")
    assert not origin_allowed(("*.example.com",), "https://example.org")
    assert not origin_allowed(("example.com",), None)


async def test_presence_unsubscribe_sends_member_removed(server: PusherServer) -> None:
    watcher, ann = connect(server), connect(server)
    join_presence(server, watcher, "presence-u", "watcher")
    join_presence(server, ann, "presence-u", "ann")
    await settle()
    server.receive(ann, b'{"event":"pusher:unsubscribe","data":{"channel":"presence-u"}}')
    await settle()
    assert [e["data"] for e in watcher.events("pusher_internal:member_removed")] == [{"user_id": "ann"}]
