"""Work that must happen once happens once with three chatapp instances on one PostgreSQL.

The outbox relay sends under a PostgreSQL advisory lock (one sender at a time, the others
skip the pass) and auto-close closes rooms with a conditional UPDATE (``... AND status =
'resolved' RETURNING id``: one instance wins each row and announces it from the same
transaction). Both are counted here at a real pusher-js subscriber.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chatapp.db import connect
from tests.chatapp.procs import Api, throwaway_database, wait_until
from tests.chatapp.subscriber import Subscriber, message_ids, repeats
from tests.chatapp.test_outbox import ADMIN_FEED, Stack, admin_of, guest, settle, stored

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOMS = 24


@pytest.fixture
def three(tmp_path: Path) -> Iterator[Stack]:
    with throwaway_database("postgres", tmp_path) as url:
        stack = Stack(url, tmp_path, env={"CHATAPP_RATE_MESSAGES": "10000/10", "CHATAPP_AUTO_CLOSE_DAYS": "1",
                                          "CHATAPP_AUTO_CLOSE_INTERVAL": "0.2"})
        try:
            for i, name in enumerate("abc"):
                stack.chatapp(name, migrate=i == 0)
            yield stack
        finally:
            stack.close()


async def backdate_resolved(database_url: str, when: datetime) -> None:
    db = await connect(database_url)
    try:
        await db.execute("UPDATE support_chat_rooms SET resolved_at = ? WHERE status = 'resolved'", when)
    finally:
        await db.close()


async def test_each_outbox_row_is_delivered_once_by_three_instances(three: Stack) -> None:
    apps = three.apps
    admin = admin_of(apps[0])
    visitors = [guest(apps[i % 3], f"Visitor {i}") for i in range(6)]
    rooms = [v.send("hello")["room"]["id"] for v in visitors]
    channels = [f"private-chat.{r}" for r in rooms]
    sub = await Subscriber.start(three.reverb.port, [*channels, ADMIN_FEED])
    try:
        def write(v: Api) -> None:
            for n in range(20):
                v.send(f"message {n}", idempotency_key=f"once-{v.id}-{n}")

        writers = [threading.Thread(target=write, args=(v,)) for v in visitors]
        for t in writers:
            t.start()
        for t in writers:
            t.join(timeout=60)
        every: list[int] = []
        for room_id, channel in zip(rooms, channels, strict=True):
            expected = [m["id"] for m in stored(admin, room_id)][1:]
            assert len(expected) == 20
            got = await settle(sub, channel, expected, timeout=60)
            assert got == expected, "each row delivered once, in order, whichever instance stored it"
            every += expected
        feed = message_ids(sub.received(ADMIN_FEED, "chat.message"))
        assert not repeats(feed) and set(every) <= set(feed)
    finally:
        await sub.close()


async def test_auto_close_announces_each_room_once_with_three_instances(three: Stack) -> None:
    apps = three.apps
    admin = admin_of(apps[0])
    rooms = []
    for i in range(ROOMS):
        visitor = guest(apps[i % 3], f"Visitor {i}")
        room = visitor.send("please help")["room"]["id"]
        Api(apps[(i + 1) % 3].base_url, admin.token).ok("POST", f"/api/admin/chat/rooms/{room}/resolve")
        rooms.append(room)
    sub = await Subscriber.start(three.reverb.port, [ADMIN_FEED])
    try:
        await backdate_resolved(three.database_url, datetime.now(UTC) - timedelta(days=2))

        def all_closed() -> bool:
            page = admin.ok("GET", "/api/admin/chat/rooms", params={"filter": "closed", "per_page": 100})
            return {r["id"] for r in page["data"]} >= set(rooms)

        wait_until(all_closed, 20, "every backdated room closed")
        await sub.until(lambda: len({e["room"]["id"] for e in closed_events(sub)}) >= ROOMS, 20,
                        "a room.updated for every closed room")
        await asyncio.sleep(1.5)  # several more sweeps by each instance
        counts = Counter(e["room"]["id"] for e in closed_events(sub))
        assert sorted(counts) == sorted(rooms)
        assert set(counts.values()) == {1}, f"each room announced once: {counts}"
    finally:
        await sub.close()


def closed_events(sub: Subscriber) -> list[dict[str, Any]]:
    return [e for e in sub.received(ADMIN_FEED, "room.updated") if e["room"]["status"] == "closed"]
