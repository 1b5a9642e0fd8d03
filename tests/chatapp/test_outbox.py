"""The outbox under faults: real chatapp and pyreverb processes, real pusher-js subscribers.

chatapp reaches pyreverb's HTTP API through a :class:`Gate`, so a test can make
pyreverb unreachable for chatapp (or hold deliveries back until its subscribers are
subscribed again) while the subscribers talk to pyreverb directly. Every test counts
what a subscriber really received: each stored message exactly once, in order.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx
import pytest

from chatapp.outbox import HEAD
from tests.chatapp.gate import Gate
from tests.chatapp.procs import Api, ChatappProcess, throwaway_database, wait_until
from tests.chatapp.subscriber import Subscriber, message_ids, repeats
from tests.helpers.procs import ReverbProcess

ADMIN_FEED = "private-admin.chat"
_keys = itertools.count(1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind for one test."""
    with throwaway_database(request.param, tmp_path) as url:
        yield url


@dataclass
class Stack:
    """pyreverb, a gate in front of its HTTP API, and chatapp instances on one database."""

    database_url: str
    workdir: Path
    env: dict[str, str] = field(default_factory=lambda: {"CHATAPP_RATE_MESSAGES": "10000/10"})
    reverb: ReverbProcess = field(default_factory=lambda: ReverbProcess().start())
    apps: list[ChatappProcess] = field(default_factory=list)
    gates: list[Gate] = field(default_factory=list)

    def chatapp(self, name: str = "a", migrate: bool = True) -> tuple[ChatappProcess, Gate]:
        gate = Gate(self.reverb.port)
        app = ChatappProcess(self.database_url, gate.port, self.workdir / name, env=self.env).start(migrate=migrate)
        self.apps.append(app)
        self.gates.append(gate)
        return app, gate

    def close(self) -> None:
        for app in self.apps:
            app.stop()
        for gate in self.gates:
            gate.close()
        self.reverb.stop()
        for app in self.apps:
            log = app.log()
            assert "unhandled error" not in log and "outbox relay pass failed" not in log, log[-3000:]


@pytest.fixture
def stack(fresh_db: str, tmp_path: Path) -> Iterator[Stack]:
    s = Stack(fresh_db, tmp_path)
    try:
        yield s
    finally:
        s.close()


def guest(app: ChatappProcess, name: str) -> Api:
    return Api.guest(app.base_url, name)


def admin_of(app: ChatappProcess) -> Api:
    email = f"ops{next(_keys)}-{app.port}@support.test"
    app.cli("create-admin", "--email", email, "--name", "Olha Ops", "--password", "admin-password-1")
    doc = Api(app.base_url).ok("POST", "/api/auth/login", {"email": email, "password": "admin-password-1"})
    return Api(app.base_url, doc["token"], doc["user"])


def stored(admin: Api, room_id: int) -> list[dict[str, Any]]:
    """Every message of the room, oldest first, read the way support reads it."""
    messages: list[dict[str, Any]] = []
    while True:
        after = messages[-1]["id"] if messages else 0
        page = admin.ok("GET", f"/api/admin/chat/rooms/{room_id}/messages", params={"after": after, "limit": 100})
        messages += page["data"]
        if not page["has_more"]:
            return messages


def outbox_depth(admin: Api) -> int:
    return int(admin.ok("GET", "/api/admin/status")["outbox"]["depth"])


async def settle(sub: Subscriber, channel: str, expected: list[int], timeout: float = 40.0) -> list[int]:
    """Wait until every expected message arrived on ``channel``, then a little longer for repeats;
    what arrived, leaving out messages stored before the subscriber came (they may or may not be there)."""
    await sub.until(lambda: set(expected) <= set(message_ids(sub.received(channel, "message.sent"))), timeout,
                    f"all of {expected} on {channel}")
    await asyncio.sleep(1.5)  # a repeat would come right behind
    return [i for i in message_ids(sub.received(channel, "message.sent")) if i >= min(expected)]


# --------------------------------------------------------------- restart, kill -9


@pytest.mark.slow
async def test_undeliverable_event_survives_restart_and_kill9(stack: Stack) -> None:
    app, gate = stack.chatapp()
    admin = admin_of(app)
    visitor = guest(app, "Durable Dana")
    first = visitor.send("hello")["message"]
    room_id = first["room_id"]
    channel = f"private-chat.{room_id}"
    sub = await Subscriber.start(stack.reverb.port, [channel])
    try:
        gate.shut()  # pyreverb unreachable for chatapp from here on
        started = time.monotonic()
        held = visitor.send("while pyreverb is unreachable")["message"]
        assert time.monotonic() - started < 1.0, "a send never waits for pyreverb"
        await asyncio.sleep(1.0)  # long enough for every retry the in-memory queue made
        app.stop()
        app.start(migrate=False)
        assert outbox_depth(admin) >= 2, "the event is still waiting after a restart"
        after_restart = visitor.send("after a restart")["message"]
        await asyncio.sleep(0.5)
        app.kill()  # kill -9: nothing runs on the way out
        assert held["id"] not in message_ids(sub.received(channel, "message.sent"))

        gate.open()
        app.start(migrate=False)
        expected = [held["id"], after_restart["id"]]  # "hello" went out before the subscriber came
        got = await settle(sub, channel, expected)
        assert got == expected, "each event once, in the order written"
        wait_until(lambda: outbox_depth(admin) == 0, what="the outbox drained")
    finally:
        await sub.close()


# ------------------------------------------------------ pyreverb down for 2 minutes


class Traffic:
    """Visitors writing and support replying, in threads, each send with an idempotency key."""

    def __init__(self, visitors: list[Api], admin: Api, rooms: list[int]) -> None:
        self.visitors = visitors
        self.admin = admin
        self.rooms = rooms
        self.stop = threading.Event()
        self.sent = 0
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(len(visitors))]

    def __enter__(self) -> Self:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def _run(self, i: int) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            if n % 3 == 0:
                response = self.admin.post(f"/api/admin/chat/rooms/{self.rooms[i]}/messages",
                                           {"body": f"reply {i}.{n}", "idempotency_key": f"r{i}-{n}"})
            else:
                response = self.visitors[i].post("/api/chat/messages",
                                                 {"body": f"visitor {i}.{n}", "idempotency_key": f"v{i}-{n}"})
            if response.status_code in (200, 201):
                self.sent += 1
            else:
                self.failures.append(f"{response.status_code} {response.text[:200]}")
            time.sleep(0.4)


# On PostgreSQL, the deploy database, only: the outage is the relay's to ride out, the same code
# on both (SQLite's relay is exercised across restarts and kill -9 above), and two minutes of
# waiting per database is a tenth of the whole suite.
@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("fresh_db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_pyreverb_stopped_two_minutes_during_traffic(stack: Stack) -> None:
    app, gate = stack.chatapp()
    admin = admin_of(app)
    visitors = [guest(app, f"Visitor {i}") for i in range(3)]
    rooms = [v.send("first")["room"]["id"] for v in visitors]
    channels = [f"private-chat.{r}" for r in rooms]
    sub = await Subscriber.start(stack.reverb.port, [*channels, ADMIN_FEED])
    try:
        with Traffic(visitors, admin, rooms) as traffic:
            await asyncio.sleep(2)
            gate.shut()  # first, so no delivery is cut off halfway by the stop
            await asyncio.sleep(0.2)
            stack.reverb.stop()
            await asyncio.sleep(120)
            stack.reverb = ReverbProcess(port=stack.reverb.port).start()
            sub.client.send(cmd="connect")
            await sub.subscribed(times=2, timeout=60)  # pusher-js reconnected and subscribed again
            gate.open()
            await asyncio.sleep(3)
        assert not traffic.failures, traffic.failures[:5]
        assert traffic.sent > 3 * 120 / 0.5, "traffic kept flowing while pyreverb was down"

        every: list[int] = []
        for room_id, channel in zip(rooms, channels, strict=True):
            expected = [m["id"] for m in stored(admin, room_id)][1:]  # "first" went out before the subscriber came
            got = await settle(sub, channel, expected, timeout=90)
            assert not repeats(got), f"delivered twice: {repeats(got)}"
            assert got == expected, "every stored message, in order"
            every += expected
        feed = sub.received(ADMIN_FEED, "chat.message")
        assert not repeats(message_ids(feed)) and set(every) <= set(message_ids(feed)), "the feed saw each once"
        seqs = [e["feed_seq"] for e in (*feed, *sub.received(ADMIN_FEED, "chat.created"),
                                        *sub.received(ADMIN_FEED, "room.updated"))]
        seqs.sort()
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "the feed sequence has no gap and no repeat"
    finally:
        await sub.close()


# ------------------------------------------------------- kill -9 during traffic


def send_until_acknowledged(visitor: Api, body: str, key: str, deadline: float) -> dict[str, Any]:
    """A client that retries with the same idempotency key until the server answers."""
    while True:
        try:
            response = visitor.post("/api/chat/messages", {"body": body, "idempotency_key": key})
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code in (200, 201):
            return response.json()["message"]  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"{body!r} never acknowledged"
        time.sleep(0.2)


@pytest.mark.slow
async def test_kill9_during_traffic_keeps_every_acknowledged_message(stack: Stack) -> None:
    app, gate = stack.chatapp()
    admin = admin_of(app)
    visitors = [guest(app, f"Busy {i}") for i in range(3)]
    rooms = [v.send("start")["room"]["id"] for v in visitors]
    channels = [f"private-chat.{r}" for r in rooms]
    sub = await Subscriber.start(stack.reverb.port, channels)
    acknowledged: dict[int, list[int]] = {r: [] for r in rooms}
    deadline = time.monotonic() + 120

    def write(i: int) -> None:
        for n in range(30):
            message = send_until_acknowledged(visitors[i], f"busy {i}.{n}", f"busy-{i}-{n}", deadline)
            acknowledged[rooms[i]].append(message["id"])
            time.sleep(0.05)

    try:
        writers = [threading.Thread(target=write, args=(i,)) for i in range(3)]
        for t in writers:
            t.start()
        wait_until(lambda: sum(map(len, acknowledged.values())) >= 20, timeout=30, what="traffic")
        gate.shut()  # events pile up behind an unreachable pyreverb ...
        wait_until(lambda: sum(map(len, acknowledged.values())) >= 45, timeout=30, what="more traffic")
        app.kill()  # ... when chatapp dies mid-request
        await asyncio.sleep(1.0)
        gate.open()
        app.start(migrate=False)
        for t in writers:
            t.join(timeout=120)
        assert sum(map(len, acknowledged.values())) == 90

        for room_id, channel in zip(rooms, channels, strict=True):
            bodies = [m["body"] for m in stored(admin, room_id)]
            assert len(bodies) == len(set(bodies)) == 31, "every acknowledged message stored once, retries too"
            expected = [m["id"] for m in stored(admin, room_id)][1:]  # "start" went out before the subscriber came
            assert set(acknowledged[room_id]) <= set(expected)
            got = await settle(sub, channel, expected)
            assert got == expected, f"every stored message delivered once, in order: {got} != {expected}"
    finally:
        await sub.close()


# ----------------------------------------------------- two instances, one database


@pytest.mark.slow
@pytest.mark.postgres
async def test_two_instances_relay_one_outbox_exactly_once(pg_url: str, tmp_path: Path) -> None:
    stack = Stack(pg_url, tmp_path)
    try:
        a, gate_a = stack.chatapp("a")
        b, _ = stack.chatapp("b", migrate=False)
        admin = admin_of(a)
        visitors = [guest(app, f"Twin {i}") for i, app in enumerate((a, b, a, b))]
        rooms = [v.send("hello")["room"]["id"] for v in visitors]
        channels = [f"private-chat.{r}" for r in rooms]
        sub = await Subscriber.start(stack.reverb.port, [*channels, ADMIN_FEED])
        try:
            def write(v: Api) -> None:
                for n in range(25):
                    v.send(f"twin {n}", idempotency_key=f"twin-{v.id}-{n}")

            writers = [threading.Thread(target=write, args=(v,)) for v in visitors]
            for t in writers:
                t.start()
            for t in writers:
                t.join(timeout=60)

            # Instance A cannot reach pyreverb, writes more, and dies: B sends A's rows.
            gate_a.shut()
            late = [visitors[0].send(f"late {n}")["message"]["id"] for n in range(5)]
            a.kill()

            # Delivery is at least once (chatapp/outbox.py): what A's last pass sent before A died
            # (a batch whose answer the gate cut off, and on PostgreSQL every batch of a pass whose
            # transaction never committed) is sent again by B, and clients drop the repeat by id.
            # So at most one pass repeats (HEAD rows), once; otherwise each row arrives once, in order.
            every: list[int] = []
            doubled: dict[int, int] = {}
            for room_id, channel in zip(rooms, channels, strict=True):
                expected = [m["id"] for m in stored(Api(b.base_url, admin.token), room_id)][1:]  # after "hello"
                got = await settle(sub, channel, expected, timeout=60)
                doubled |= repeats(got)
                assert list(dict.fromkeys(got)) == expected, "each row delivered, in order"
                every += expected
            assert len(doubled) <= HEAD and all(n == 2 for n in doubled.values()), doubled
            assert set(late) <= set(every)
            feed = sub.received(ADMIN_FEED, "chat.message")
            assert set(repeats(message_ids(feed))) <= set(doubled) and set(every) <= set(message_ids(feed))
            seqs = list(dict.fromkeys(e["feed_seq"] for e in feed))
            assert seqs == sorted(seqs), "one feed sequence across instances"
            status = Api(b.base_url, admin.token).ok("GET", "/api/admin/status")["outbox"]
            assert status["depth"] == 0 and status["delivered"] > 0
        finally:
            await sub.close()
    finally:
        stack.close()
