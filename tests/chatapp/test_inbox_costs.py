"""Costs that do not grow with history: indexed inbox queries, coalesced statistics, keyset
pages, resolved chats closing by themselves. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from chatapp import inbox_queries, repository
from chatapp.db import Connection, Row, connect
from tests.chatapp.conftest import start_echo
from tests.chatapp.procs import Api, ChatappProcess, wait_until
from tests.helpers.node_client import NodeClient

FILTERS = ("open", "assigned", "unassigned", "urgent", "unread", "mine", "resolved", "closed", "all")


class Explaining(Connection):
    """Runs each query for real and keeps its plan (EXPLAIN QUERY PLAN / EXPLAIN)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.plans: list[str] = []

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        prefix = "EXPLAIN QUERY PLAN " if self.dialect == "sqlite" else "EXPLAIN "
        rows = await self.conn.fetch_all(prefix + sql, *args)
        self.plans.append("\n".join(str(r.get("detail", r.get("QUERY PLAN"))) for r in rows))
        return await self.conn.fetch_all(sql, *args)


# A whole-table read of rooms or messages: SQLite "SCAN r" without an index, PostgreSQL "Seq Scan"
# (of any table but the finished chats' ledger, a row per status between folds: chatapp.status_totals).
WHOLE_TABLE = re.compile(r"^SCAN (r|m|support_chat_rooms|support_chat_messages)$|Seq Scan(?! on room_status_totals)", re.M)


async def plans_of_inbox_queries(database_url: str) -> list[str]:
    db = await connect(database_url)
    try:
        async with db.transaction() as conn:
            if conn.dialect == "postgres":
                # Tiny test tables make a sequential scan cheapest; forbid it to see what indexes can serve.
                await conn.execute("SET LOCAL enable_seqscan = off")
            probe = Explaining(conn)
            team = await inbox_queries.stats(probe)
            await inbox_queries.mine_by_admin(probe)
            await inbox_queries.unread_by_admin(probe, team)
            await inbox_queries.unread_by_admin(probe, team, admin_id=1)
            await inbox_queries.count_rooms(probe, filter_name="unread", admin_id=1)
            await inbox_queries.list_rooms(probe, filter_name="open", admin_id=1, limit=30, before=None, label_id=1)
            await inbox_queries.count_rooms(probe, filter_name="all", admin_id=1, label_id=1)
            for name in FILTERS:
                first = await inbox_queries.list_rooms(probe, filter_name=name, admin_id=1, limit=30, before=None)
                if first:
                    cursor = inbox_queries.InboxCursor.after(first[-1])
                    await inbox_queries.list_rooms(probe, filter_name=name, admin_id=1, limit=30, before=cursor)
            await repository.close_resolved_before(probe, datetime.now(timezone.utc) - timedelta(days=7), 10)
            for query in ("plan", "olena 12"):
                await inbox_queries.search_rooms(probe, filter_name="open", admin_id=1, search=query, limit=30, offset=0)
            return probe.plans
    finally:
        await db.close()


def test_inbox_queries_use_indexes(chat: ChatappProcess, admin: Api, new_guest: Callable[..., Api]) -> None:
    for i in range(3):
        room = new_guest("Plan").send(f"plan {i}")["room"]["id"]
        admin.ok("POST", f"/api/admin/chat/rooms/{room}/priority", {"priority": "urgent" if i else "normal"})
    plans = asyncio.run(plans_of_inbox_queries(chat.database_url))
    assert len(plans) > 10
    for plan in plans:
        assert not WHOLE_TABLE.search(plan), f"a query reads a whole table:\n{plan}"
        assert re.search(r"INDEX|Index", plan), plan


@pytest.mark.slow
async def test_stats_are_published_at_most_once_a_second(
    chat: ChatappProcess, chat_reverb: Any, admin: Api, new_guest: Callable[..., Api], echo_clients: list[NodeClient]
) -> None:
    feed = await start_echo(chat, chat_reverb, admin.token or "")
    echo_clients.append(feed)
    feed.send(cmd="listen", kind="private", name="admin.chat", events=[".stats.updated"])
    await feed.wait_for(lambda e: e["type"] == "echo_subscribed" and e["name"] == "admin.chat")
    arrivals: list[tuple[float, dict[str, int]]] = []
    seen = 0

    async def watch(until: float) -> None:
        nonlocal seen
        while time.monotonic() < until:
            stats_events = [e for e in feed.events if e["type"] == "echo_event" and e["event"] == ".stats.updated"]
            for event in stats_events[seen:]:
                # As the panel reads it: the team's numbers, with this agent's own unread where they keep one.
                own = event["data"].get("unread_by_admin", {}).get(str(admin.id))
                mine = {"unread_messages": own["messages"], "unread_chats": own["chats"]} if own else {}
                arrivals.append((time.monotonic(), {**event["data"]["stats"], **mine}))
            seen = len(stats_events)
            await asyncio.sleep(0.01)

    visitors = [new_guest(f"Burst {i}") for i in range(8)]

    def burst() -> None:
        for round_ in range(8):  # 64 messages over about two seconds
            for visitor in visitors:
                visitor.send(f"burst {round_}")
            time.sleep(0.2)

    started = time.monotonic()
    watcher = asyncio.create_task(watch(started + 60))
    await asyncio.to_thread(burst)
    await asyncio.sleep(2.5)  # the trailing event of the burst
    ended = time.monotonic()
    watcher.cancel()
    await asyncio.gather(watcher, return_exceptions=True)

    during = [(at, stats) for at, stats in arrivals if at >= started]
    assert during, "no stats.updated event at all"
    assert len(during) <= (ended - started) + 1, (len(during), ended - started)
    # Delivery jitter may bring two events closer than a second, never three.
    times = [at for at, _ in during]
    assert all(sum(1 for t in times if start <= t < start + 1.0) <= 2 for start in times), times
    final = admin.ok("GET", "/api/admin/chat/stats")["stats"]
    assert during[-1][1] == {k: v for k, v in final.items() if k != "mine"}


def test_keyset_pages_stay_stable_while_the_list_moves(chat: ChatappProcess, new_guest: Callable[..., Api]) -> None:
    email = f"pager-{time.monotonic_ns()}@support.test"
    chat.cli("create-admin", "--email", email, "--name", "Pager", "--password", "pager-password-1")
    doc = Api(chat.base_url).ok("POST", "/api/auth/login", {"email": email, "password": "pager-password-1"})
    pager = Api(chat.base_url, doc["token"], doc["user"])
    rooms = []
    for i in range(7):
        room = new_guest(f"Page {i}").send(f"page {i}")["room"]["id"]
        pager.ok("POST", f"/api/admin/chat/rooms/{room}/assign", {})
        rooms.append(room)
    urgent = rooms[1]
    pager.ok("POST", f"/api/admin/chat/rooms/{urgent}/priority", {"priority": "urgent"})
    newest_first = [urgent] + [r for r in reversed(rooms) if r != urgent]

    def page(before: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"filter": "mine", "per_page": 3, **({"before": before} if before else {})}
        return pager.ok("GET", "/api/admin/chat/rooms", params=params)  # type: ignore[no-any-return]

    first = page(None)
    assert [r["id"] for r in first["data"]] == newest_first[:3]
    assert first["meta"]["total"] == 7 and first["meta"]["next_cursor"]
    # A room not yet loaded gets a message and jumps to the top; the next page neither repeats
    # a room already shown nor skips one that did not move.
    moved = newest_first[5]
    pager.ok("POST", f"/api/admin/chat/rooms/{moved}/messages", {"body": "bump"})
    second = page(first["meta"]["next_cursor"])
    assert [r["id"] for r in second["data"]] == newest_first[3:5] + newest_first[6:7]
    assert second["meta"]["next_cursor"] is None, "the end of the list"
    again = page(None)
    assert [r["id"] for r in again["data"]] == [urgent, moved, newest_first[1]]

    # Page numbers still work for older clients.
    by_number = pager.ok("GET", "/api/admin/chat/rooms", params={"filter": "mine", "per_page": 3, "page": 2})
    assert [r["id"] for r in by_number["data"]] == [r["id"] for r in page(again["meta"]["next_cursor"])["data"]]

    bad = pager.get("/api/admin/chat/rooms", params={"before": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_cursor", bad.text


async def backdate(database_url: str, room_id: int, column: str, when: datetime) -> None:
    db = await connect(database_url)
    try:
        await db.execute(f"UPDATE support_chat_rooms SET {column} = ? WHERE id = ?", when, room_id)
    finally:
        await db.close()


@pytest.mark.slow
async def test_resolved_chats_close_after_the_configured_days(
    chat: ChatappProcess,
    chat_reverb: Any,
    admin: Api,
    new_guest: Callable[..., Api],
    tmp_path: Path,
    echo_clients: list[NodeClient],
) -> None:
    old, recent, idle_open = (new_guest("Auto").send(f"auto {i}")["room"]["id"] for i in range(3))
    for room in (old, recent):
        admin.ok("POST", f"/api/admin/chat/rooms/{room}/resolve")
    long_ago = datetime.now(timezone.utc) - timedelta(days=3)
    await backdate(chat.database_url, old, "resolved_at", long_ago)
    await backdate(chat.database_url, idle_open, "last_message_at", long_ago)
    feed = await start_echo(chat, chat_reverb, admin.token or "")
    echo_clients.append(feed)
    feed.send(cmd="listen", kind="private", name="admin.chat", events=[".room.updated"])
    await feed.wait_for(lambda e: e["type"] == "echo_subscribed" and e["name"] == "admin.chat")

    def status(room: int) -> str:
        return str(admin.ok("GET", f"/api/admin/chat/rooms/{room}")["room"]["status"])

    # A second instance on the same database and pyreverb, with a two-day setting.
    env = {"CHATAPP_AUTO_CLOSE_DAYS": "2", "CHATAPP_AUTO_CLOSE_INTERVAL": "0.5"}
    sweeper = ChatappProcess(chat.database_url, chat_reverb.port, tmp_path / "sweeper", env=env).start()
    try:
        await asyncio.to_thread(wait_until, lambda: status(old) == "closed", 10, "auto-close")
        event = await feed.wait_for(
            lambda e: e["type"] == "echo_event" and e["event"] == ".room.updated" and e["data"]["room"]["id"] == old,
            timeout=10,
        )
        assert event["data"]["room"]["status"] == "closed" and event["data"]["room"]["closed_at"]
        await asyncio.sleep(1.2)  # two more sweeps
        assert status(recent) == "resolved" and status(idle_open) == "open"
        closed_events = [e for e in feed.events if e["type"] == "echo_event" and e["data"]["room"]["id"] == old]
        assert len(closed_events) == 1, "each room is closed and announced once"
    finally:
        sweeper.stop()
