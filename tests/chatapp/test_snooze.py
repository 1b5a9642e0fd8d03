"""Snooze (chatapp.snooze), through the API on SQLite and PostgreSQL, and its sweep run twice at once.

The module's chatapp looks for due snoozes every 0.3 s and assigns automatically, so a wake at
a time is seen within a second and an unavailable assignee's chat goes through routing. Agents
are "there" as in tests/chatapp/test_routing.py: a real Echo client on ``presence-admins``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from chatapp import repository as repo
from chatapp import snooze
from chatapp.broadcasting import Broadcaster
from chatapp.config import Settings
from chatapp.db import Database, connect, utcnow
from chatapp.events import Events
from chatapp.i18n import Catalogues
from chatapp.outbox import Outbox
from chatapp.routing import Router
from chatapp.schema import migrate
from chatapp.snooze import Snoozer
from chatapp.stats_feed import StatsFeed
from tests.chatapp.conftest import POSTGRES
from tests.chatapp.procs import Api, admin_api, chatapp_stack, throwaway_database, wait_until
from tests.chatapp.test_outbox import Stack, admin_of, guest
from tests.chatapp.test_routing import PASSWORD, Desk
from tests.helpers.procs import ReverbProcess

pytestmark = pytest.mark.slow  # real processes and presence waits: `make test`

ENV = {"CHATAPP_AUTO_ASSIGN": "true", "CHATAPP_SNOOZE_INTERVAL": "0.3"}
_names = itertools.count(1)


@pytest.fixture(scope="module", params=["sqlite", POSTGRES])
def desk_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    workdir = tmp_path_factory.mktemp("snooze")
    with throwaway_database(request.param, workdir) as url, chatapp_stack(url, workdir / "app", ENV) as app:
        yield Desk(ReverbProcess(port=app.reverb_port), app, admin_api(app, PASSWORD, "Supervisor"))


@pytest.fixture
async def desk(desk_stack: Desk) -> AsyncIterator[Desk]:
    try:
        yield desk_stack
    finally:
        await desk_stack.clear()


def at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def ids(api: Api, filter_name: str) -> list[int]:
    return [r["id"] for r in api.ok("GET", "/api/admin/chat/rooms", params={"filter": filter_name,
                                                                             "per_page": 100})["data"]]


def lines(api: Api, room_id: int, *, admin: bool = True) -> list[str]:
    """The codes of the room's system lines, as support (or its visitor) reads the thread."""
    path = f"/api/admin/chat/rooms/{room_id}/messages" if admin else f"/api/chat/rooms/{room_id}/messages"
    return [m["system"]["code"] for m in api.ok("GET", path)["data"] if m["system"]]


def audit_of(api: Api, room_id: int, action: str) -> list[dict[str, Any]]:
    entries = api.ok("GET", "/api/admin/audit", params={"limit": 200})["data"]
    return [e for e in entries if e["action"] == action and e["target"] == {"type": "room", "id": room_id}]


async def test_a_snoozed_chat_leaves_the_inbox_and_the_visitors_message_wakes_it(desk: Desk) -> None:
    agent = await desk.agent("Olena")
    desk.wait_counting(agent)
    visitor, room = desk.new_chat("Where is my parcel?")
    assert desk.assignee(room["id"]) == agent.id
    stats = desk.supervisor.ok("GET", "/api/admin/chat/stats")["stats"]

    snoozed = agent.ok("POST", f"/api/admin/chat/rooms/{room['id']}/snooze", {"until": None})["room"]
    assert snoozed["status"] == "assigned" and snoozed["assigned_admin"]["id"] == agent.id
    assert snoozed["snooze"]["until"] is None and snoozed["snooze"]["since"]
    for name in ("open", "assigned", "mine"):
        assert room["id"] not in ids(agent, name), name
    assert room["id"] in ids(agent, "snoozed") and room["id"] in ids(agent, "all")
    now = desk.supervisor.ok("GET", "/api/admin/chat/stats")["stats"]
    assert (now["open"], now["assigned"], now["snoozed"]) == (stats["open"] - 1, stats["assigned"] - 1,
                                                              stats["snoozed"] + 1)
    assert desk.team()[agent.id]["active"] == 0, "a snoozed chat is not in its agent's load"
    # Support's own: the visitor's room says nothing of it, the line in the thread is for agents only.
    assert "snooze" not in visitor.ok("GET", f"/api/chat/rooms/{room['id']}")["room"]
    assert "snooze.line.untilReply" in lines(agent, room["id"])
    assert not [c for c in lines(visitor, room["id"], admin=False) if c.startswith("snooze.")]
    [entry] = audit_of(desk.supervisor, room["id"], "room.snooze")
    assert entry["actor"]["id"] == agent.id and entry["details"] == {"until": None, "assignee": agent.id}

    # An agent's reply keeps it snoozed; the visitor's message brings it back to its assignee at once.
    agent.ok("POST", f"/api/admin/chat/rooms/{room['id']}/messages", {"body": "Checking with the courier"})
    assert desk.room(room["id"])["snooze"] is not None
    woke = visitor.send("Any news?")["room"]
    assert woke["status"] == "assigned"
    back = desk.room(room["id"])
    assert back["snooze"] is None and back["assigned_admin"]["id"] == agent.id
    assert room["id"] in ids(agent, "mine") and room["id"] not in ids(agent, "snoozed")
    [wake] = audit_of(desk.supervisor, room["id"], "room.wake")
    assert wake["actor"]["role"] == "system"
    assert wake["details"] == {"reason": "visitor", "until": None, "from": agent.id, "to": agent.id}
    assert lines(agent, room["id"])[-1] == "snooze.line.wokeByVisitor"
    desk.supervisor.ok("POST", f"/api/admin/chat/rooms/{room['id']}/close")


async def test_snooze_times_and_states_are_checked(desk: Desk) -> None:
    agent = await desk.agent("Petro", panel=False)
    visitor, room = desk.new_chat()
    route = f"/api/admin/chat/rooms/{room['id']}/snooze"
    for body, code in (({"until": at(-timedelta(minutes=1))}, "snooze_in_past"),
                       ({"until": at(timedelta(days=91))}, "snooze_too_far"),
                       ({"until": "2030-01-01T09:00:00"}, None),  # no time zone
                       ({"until": "tomorrow"}, None),
                       ({}, None)):
        refused = agent.request("POST", route, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["field"] == "until", refused.text
        if code:
            assert refused.json()["error"] == code, refused.text
    assert visitor.request("POST", route, json={"until": None}).status_code == 403
    gone = agent.request("POST", "/api/admin/chat/rooms/999999999/snooze", json={"until": None})
    assert gone.status_code == 404
    not_snoozed = agent.request("POST", f"/api/admin/chat/rooms/{room['id']}/unsnooze")
    assert not_snoozed.status_code == 409 and not_snoozed.json()["error"] == "not_snoozed"

    # 90 days ahead is allowed; snoozing again sets the new time; unsnooze keeps the chat as it was.
    far = agent.ok("POST", route, {"until": at(timedelta(days=89))})["room"]["snooze"]["until"]
    soon = agent.ok("POST", route, {"until": at(timedelta(hours=1))})["room"]["snooze"]["until"]
    assert soon < far
    kolkata = (datetime.now(UTC) + timedelta(hours=2)).astimezone(timezone(timedelta(hours=5, minutes=30)))
    shown = agent.ok("POST", route, {"until": kolkata.isoformat()})["room"]["snooze"]["until"]
    assert shown.endswith("Z") and abs(datetime.fromisoformat(shown) - kolkata) < timedelta(milliseconds=1)
    back = agent.ok("POST", f"/api/admin/chat/rooms/{room['id']}/unsnooze")["room"]
    assert back["snooze"] is None and back["status"] == "open"
    [wake] = audit_of(desk.supervisor, room["id"], "room.wake")
    assert wake["actor"]["id"] == agent.id and wake["details"]["reason"] == "agent"
    assert lines(agent, room["id"])[-4:] == ["snooze.line.snoozed"] * 3 + ["snooze.line.unsnoozed"]

    # Resolving ends a snooze; a resolved chat cannot be snoozed.
    agent.ok("POST", route, {"until": None})
    resolved = agent.ok("POST", f"/api/admin/chat/rooms/{room['id']}/resolve")["room"]
    assert resolved["snooze"] is None and room["id"] not in ids(agent, "snoozed")
    refused = agent.request("POST", route, json={"until": None})
    assert refused.status_code == 409 and refused.json()["error"] == "invalid_state"
    agent.ok("POST", f"/api/admin/chat/rooms/{room['id']}/close")


async def test_at_its_time_a_chat_returns_to_its_assignee_or_goes_through_routing(desk: Desk) -> None:
    olena = await desk.agent("Olena")
    gone = await desk.agent("Gone", panel=False)
    desk.wait_counting(olena)
    _, kept = desk.new_chat("For Olena")
    _, moved = desk.new_chat("For Gone")
    assert desk.assignee(kept["id"]) == olena.id
    desk.supervisor.ok("POST", f"/api/admin/chat/rooms/{moved['id']}/assign",
                       {"admin_id": gone.id, "expected_admin_id": olena.id})
    until = at(timedelta(seconds=1.5))
    for room_id in (kept["id"], moved["id"]):
        desk.supervisor.ok("POST", f"/api/admin/chat/rooms/{room_id}/snooze", {"until": until})

    wait_until(lambda: all(desk.room(r)["snooze"] is None for r in (kept["id"], moved["id"])), timeout=10,
               what="both chats woke")
    assert desk.assignee(kept["id"]) == olena.id, "its assignee is still there: the chat stays theirs"
    assert desk.assignee(moved["id"]) == olena.id, "its assignee has no panel open: routing gave it to Olena"
    [wake] = audit_of(desk.supervisor, moved["id"], "room.wake")
    assert wake["actor"]["role"] == "system"
    assert wake["details"]["reason"] == "time" and (wake["details"]["from"], wake["details"]["to"]) == (gone.id, None)
    assert "snooze.line.wokeByTime" in lines(olena, moved["id"])
    for room_id in (kept["id"], moved["id"]):
        desk.supervisor.ok("POST", f"/api/admin/chat/rooms/{room_id}/close")


# ------------------------------------------------------------------ once-only, two sweeps at once

ROOMS = 25


async def seed(db: Database) -> list[int]:
    """ROOMS chats of one agent, snoozed until a minute ago; one more snoozed until tomorrow."""
    async with db.transaction() as conn:
        agent = await repo.create_user(conn, role="admin", name="Sleepy Agent", email="sleepy@support.test")
        made = []
        for i in range(ROOMS + 1):
            visitor = await repo.create_user(conn, role="guest", name=f"Visitor {i}")
            room_id = await repo.create_room(conn, visitor.id, "later, please")
            assert room_id is not None
            until = utcnow() + (timedelta(days=1) if i == ROOMS else -timedelta(minutes=1))
            await conn.execute("UPDATE support_chat_rooms SET status = 'assigned', assigned_admin_id = ?, "
                               "snoozed_at = ?, snoozed_until = ? WHERE id = ?",
                               agent.id, utcnow() - timedelta(hours=1), until, room_id)
            made.append(room_id)
    return made


class Present(Router):
    """Routing whose presence answer the test chooses (nobody has a panel open)."""

    async def present(self, fresh: bool = False) -> set[str] | None:
        return set()


def snoozer_on(db: Database, url: str) -> Snoozer:
    settings = Settings(database_url=url, reverb_app_id="1", reverb_key="key", reverb_secret="secret")
    events = Events(Broadcaster(settings), Outbox(settings), "")
    feed = StatsFeed(db, events, enabled=False)
    catalogues = Catalogues.configured(None)

    async def no_note(*_: Any) -> Any:
        raise AssertionError("routing is off here: nobody is assigned")

    router = Present(db, events, events.b, feed, no_note, default_on=False)
    return Snoozer(settings, db, events, router, feed, catalogues)


@pytest.mark.parametrize("kind", ["sqlite", POSTGRES])
def test_two_sweeps_at_once_wake_each_chat_once(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snooze, "BATCH", 4)  # several batches each, interleaved between the sweeps
    with throwaway_database(kind, tmp_path) as url:
        asyncio.run(two_sweeps(url))


async def two_sweeps(url: str) -> None:
    db = await connect(url)
    workers: list[Database] = []
    try:
        await migrate(db)
        made = await seed(db)
        due, later = made[:ROOMS], made[ROOMS]
        workers = [await connect(url) for _ in range(2)]
        counts = await asyncio.gather(*(snoozer_on(w, url).sweep() for w in workers))
        assert sum(counts) == ROOMS, counts

        wakes = Counter(int(r["target_id"]) for r in await db.fetch_all(
            "SELECT target_id FROM audit_log WHERE action = 'room.wake'"))
        assert wakes == dict.fromkeys(due, 1), "one audit entry per chat"
        notes = Counter(int(r["room_id"]) for r in await db.fetch_all(
            "SELECT room_id FROM support_chat_messages WHERE system_code = 'snooze.line.wokeByTime' AND kind = 'note'"))
        assert notes == dict.fromkeys(due, 1), "one line in each thread, for support only"
        updated = Counter(orjson.loads(r["data"])["room"]["id"] for r in await db.fetch_all(
            "SELECT data FROM outbox WHERE name = 'room.updated' AND channel = 'private-admin.chat'"))
        assert updated == dict.fromkeys(due, 1), "each wake announced once to the panels"
        rooms = {int(r["id"]): r for r in await db.fetch_all(
            "SELECT id, status, assigned_admin_id, snoozed_at FROM support_chat_rooms")}
        assert all(rooms[r]["snoozed_at"] is None for r in due)
        # Nobody had a panel open: each went back to the queue, unassigned, as a new chat would.
        assert all(rooms[r]["status"] == "open" and rooms[r]["assigned_admin_id"] is None for r in due)
        assert rooms[later]["snoozed_at"] is not None and rooms[later]["assigned_admin_id"] is not None
        entry = await db.fetch_one("SELECT actor_id, actor_role, details FROM audit_log WHERE action = 'room.wake' "
                                   "AND target_id = ?", due[0])
        assert entry is not None and entry["actor_id"] is None and entry["actor_role"] == "system"
        assert orjson.loads(entry["details"])["reason"] == "time"

        assert sum(await asyncio.gather(*(snoozer_on(w, url).sweep() for w in workers))) == 0, "nothing left"
    finally:
        for each in [db, *workers]:
            await each.close()


@pytest.mark.postgres
def test_two_instances_wake_each_chat_once(tmp_path: Path) -> None:
    """Two chatapp processes on one PostgreSQL database, each sweeping every 0.1 s: one wake per chat."""
    env = {"CHATAPP_RATE_MESSAGES": "10000/10", "CHATAPP_SNOOZE_INTERVAL": "0.1"}
    with throwaway_database("postgres", tmp_path) as url:
        stack = Stack(url, tmp_path, env=env)
        try:
            stack.chatapp("a")
            stack.chatapp("b", migrate=False)
            first, second = stack.apps
            admin = admin_of(first)
            rooms = [guest(stack.apps[i % 2], f"Visitor {i}").send("later")["room"]["id"] for i in range(12)]
            until = at(timedelta(seconds=1))
            for room_id in rooms:
                admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/snooze", {"until": until})
            wait_until(lambda: not admin.ok("GET", "/api/admin/chat/rooms", params={"filter": "snoozed"})["data"],
                       timeout=10, what="every chat woke")
            log = admin.ok("GET", "/api/admin/audit", params={"limit": 200})["data"]
            wakes = Counter(e["target"]["id"] for e in log if e["action"] == "room.wake")
            assert wakes == dict.fromkeys(rooms, 1), "each chat woken once, by one instance"
            for room_id in rooms:
                thread = Api(second.base_url, admin.token).ok("GET", f"/api/admin/chat/rooms/{room_id}/messages")
                assert [m["system"]["code"] for m in thread["data"] if m["system"]].count("snooze.line.wokeByTime") == 1
        finally:
            stack.close()
