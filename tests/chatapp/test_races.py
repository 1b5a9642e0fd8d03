"""Concurrent requests for one conversation, on SQLite and PostgreSQL: one room per visitor,
reads that count only what they saw, assignment that one agent wins."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatapp import repository as repo
from chatapp.db import connect, utcnow
from chatapp.identity import sign_identity_token
from chatapp.schema import migrate
from tests.chatapp.procs import IDENTITY_SECRET, Api, ChatappProcess, create_pg_database, drop_pg_database
from tests.helpers.procs import TIME_FACTOR


Call = tuple[str, str, dict[str, Any]]  # method, path, httpx keyword arguments


async def at_once(calls: list[tuple[Api, Call]], spread: float = 0.0) -> list[httpx.Response]:
    """Issue every (caller, call) at the same moment (or ``spread`` seconds apart), each on its
    own connection; the answers in that order."""
    limits = httpx.Limits(max_connections=len(calls), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=calls[0][0].base_url, timeout=20 * TIME_FACTOR, limits=limits) as client:

        async def one(index: int, who: Api, call: Call) -> httpx.Response:
            await asyncio.sleep(index * spread)
            method, path, kw = call
            return await client.request(method, path, headers=who.headers(), **kw)

        return list(await asyncio.gather(*(one(i, who, call) for i, (who, call) in enumerate(calls))))


def first_message(body: str) -> tuple[str, str, dict[str, Any]]:
    return "POST", "/api/chat/messages", {"json": {"body": body}}


def first_upload(name: str) -> tuple[str, str, dict[str, Any]]:
    return "POST", "/api/chat/upload", {"files": {"file": (name, f"notes {name}\n".encode(), "text/plain")}}


def only_room(visitor: Api) -> dict[str, Any]:
    rooms = visitor.ok("GET", "/api/chat/rooms", params={"per_page": 50})
    assert rooms["meta"]["total"] == 1, f"one visitor, one room; got {[r['id'] for r in rooms['data']]}"
    return rooms["data"][0]  # type: ignore[no-any-return]


def test_parallel_first_messages_make_exactly_one_room(new_guest: Callable[..., Api]) -> None:
    visitor = new_guest("Quick Typist")
    bodies = [f"first words {i}" for i in range(16)]
    answers = asyncio.run(at_once([(visitor, first_message(b)) for b in bodies]))
    assert [a.status_code for a in answers] == [201] * len(bodies), [a.text for a in answers if a.status_code != 201]
    room = only_room(visitor)
    assert {a.json()["room"]["id"] for a in answers} == {room["id"]}
    assert sum(a.json()["message"]["room_id"] == room["id"] for a in answers) == len(bodies)
    stored = visitor.ok("GET", f"/api/chat/rooms/{room['id']}/messages", params={"limit": 100})["data"]
    assert sorted(m["body"] for m in stored) == sorted(bodies)


def test_parallel_first_uploads_and_messages_share_one_room(new_guest: Callable[..., Api]) -> None:
    visitor = new_guest("Busy Sender")
    calls = [first_upload(f"file-{i}.txt") for i in range(5)] + [first_message(f"text {i}") for i in range(8)]
    answers = asyncio.run(at_once([(visitor, c) for c in calls]))
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers if a.status_code != 201]
    room = only_room(visitor)
    uploads, texts = answers[:5], answers[5:]
    assert {a.json()["attachment"]["room_id"] for a in uploads} == {room["id"]}
    assert {a.json()["room"]["id"] for a in texts} == {room["id"]}
    # The uploaded files can all be sent in that room.
    for upload in uploads:
        visitor.send("", attachment_id=upload.json()["attachment"]["id"], room_id=room["id"])
    stored = visitor.ok("GET", f"/api/chat/rooms/{room['id']}/messages", params={"limit": 100})["data"]
    assert len(stored) == 13 and sum(m["attachment"] is not None for m in stored) == 5


def test_a_visitor_with_a_new_chat_keeps_it_when_support_reopens_the_old_one(
    admin: Api, new_guest: Callable[..., Api]
) -> None:
    visitor = new_guest("Returning Visitor")
    old = visitor.send("first problem")["room"]["id"]
    admin.ok("POST", f"/api/admin/chat/rooms/{old}/close")
    new = visitor.send("second problem")["room"]["id"]
    assert new != old
    refused = admin.request("POST", f"/api/admin/chat/rooms/{old}/reopen")
    assert refused.status_code == 409 and refused.json()["error"] == "visitor_has_open_chat"
    assert visitor.ok("GET", "/api/chat/room")["room"]["id"] == new
    assert admin.ok("GET", f"/api/admin/chat/rooms/{old}")["room"]["status"] == "closed"


def test_signing_in_with_two_open_chats_keeps_the_newest_current(chat: ChatappProcess, new_guest: Callable[..., Api]) -> None:
    """The visitor chatted as a member, later as a guest; signing in again merges the two."""
    subject = f"merge-{time.time_ns()}"

    def sign_in(caller: Api) -> httpx.Response:
        token = sign_identity_token(IDENTITY_SECRET, {"sub": subject, "exp": int(time.time()) + 60})
        return caller.request("POST", "/api/auth/identity", json={"identity": token})

    member = Api(chat.base_url, sign_in(Api(chat.base_url)).json()["token"])
    older = member.send("asked as a member")["room"]["id"]
    guest = new_guest("Same Person")
    newer = guest.send("asked again as a guest")["room"]["id"]
    merged = sign_in(guest)
    assert merged.status_code == 200 and merged.json()["moved_rooms"] == 1
    rooms = {r["id"]: r["status"] for r in member.ok("GET", "/api/chat/rooms")["data"]}
    assert rooms == {newer: "open", older: "closed"}
    assert member.ok("GET", "/api/chat/room")["room"]["id"] == newer


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_the_migration_settles_rooms_doubled_before_it(dialect: str, tmp_path: Path) -> None:
    """A database that the race already hit: the newest current room stays, older ones close."""
    url = f"sqlite:///{tmp_path / 'doubled.sqlite3'}" if dialect == "sqlite" else await asyncio.to_thread(create_pg_database)
    db = await connect(url)
    try:
        await migrate(db)
        async with db.transaction() as conn:  # back to the schema before the index, with doubled rooms
            await conn.execute("DROP INDEX support_chat_rooms_one_current")
            await conn.execute("DELETE FROM schema_migrations WHERE version = 4")
            visitor = await repo.create_user(conn, role="guest", name="Doubled")
            other = await repo.create_user(conn, role="guest", name="Single")
            now = utcnow()
            for user, status in ((visitor.id, "open"), (visitor.id, "resolved"), (visitor.id, "closed"),
                                 (visitor.id, "open"), (other.id, "assigned")):
                await conn.execute(
                    "INSERT INTO support_chat_rooms (user_id, status, created_at, updated_at) VALUES (?, ?, ?, ?)",
                    user, status, now, now)
        assert [m.version for m in await migrate(db)] == [4]
        rows = await db.fetch_all("SELECT user_id, status FROM support_chat_rooms ORDER BY id")
        assert [(r["user_id"], r["status"]) for r in rows] == [
            (visitor.id, "closed"), (visitor.id, "closed"), (visitor.id, "closed"), (visitor.id, "open"),
            (other.id, "assigned")]
        assert (await repo.current_room_for_user(db, visitor.id)) is not None
        assert await repo.create_room(db, visitor.id, "a second current room") is None
    finally:
        await db.close()
        if dialect == "postgres":
            await asyncio.to_thread(drop_pg_database, url)


def second_admin(chat: ChatappProcess, name: str) -> Api:
    email = f"{name.split()[0].lower()}-{time.time_ns()}@support.test"
    chat.cli("create-admin", "--email", email, "--name", name, "--password", "second-admin-password")
    doc = Api(chat.base_url).ok("POST", "/api/auth/login", {"email": email, "password": "second-admin-password"})
    return Api(chat.base_url, doc["token"], doc["user"])


def test_two_agents_assigning_at_once_one_wins_the_other_hears_who(
    chat: ChatappProcess, admin: Api, new_guest: Callable[..., Api]
) -> None:
    bob = second_admin(chat, "Bob Racer")
    names = {admin.id: admin.user["name"], bob.id: "Bob Racer"}
    for attempt in range(5):
        room_id = new_guest().send(f"who takes me? {attempt}")["room"]["id"]
        claim: Call = ("POST", f"/api/admin/chat/rooms/{room_id}/assign", {"json": {}})
        answers = asyncio.run(at_once([(admin, claim), (bob, claim)]))
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        won, lost = (answers[0], answers[1]) if answers[0].status_code == 200 else (answers[1], answers[0])
        winner = won.json()["room"]["assigned_admin"]
        assert lost.json()["error"] == "already_assigned"
        assert lost.json()["assigned_to"] == winner == {"id": winner["id"], "name": names[winner["id"]]}
        assert lost.json()["message"] == f"Already assigned to {winner['name']}"
        assert admin.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]["assigned_admin"] == winner

    # Taking over is deliberate: it names the assignee it replaces; a stale name is refused.
    loser = bob if winner["id"] == admin.id else admin
    stale = loser.request("POST", f"/api/admin/chat/rooms/{room_id}/assign", json={"expected_admin_id": None})
    assert stale.status_code == 409 and stale.json()["assigned_to"] == winner
    taken = loser.ok("POST", f"/api/admin/chat/rooms/{room_id}/assign", {"expected_admin_id": winner["id"]})
    assert taken["room"]["assigned_admin"]["id"] == loser.id
    handed = loser.ok("POST", f"/api/admin/chat/rooms/{room_id}/assign",
                      {"admin_id": winner["id"], "expected_admin_id": loser.id})
    assert handed["room"]["assigned_admin"]["id"] == winner["id"]


def test_reads_racing_sends_mark_exactly_what_they_name(admin: Api, new_guest: Callable[..., Api]) -> None:
    """Every read receipt names the messages it marked; nothing else is read; counters match rows."""
    for round_no in range(3):
        visitor = new_guest(f"Chatty {round_no}")
        room_id = visitor.send("opening line")["room"]["id"]
        read: Call = ("POST", f"/api/admin/chat/rooms/{room_id}/read", {})
        mixed: list[tuple[Api, Call]] = []
        for i in range(16):
            mixed += [(visitor, first_message(f"line {round_no}.{i}")), (admin, read)]
        answers = asyncio.run(at_once(mixed, spread=0.002))
        assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers if a.status_code >= 300]
        receipts = [a.json() for (who, _), a in zip(mixed, answers) if who is admin]

        stored = admin.ok("GET", f"/api/admin/chat/rooms/{room_id}/messages", params={"limit": 100})["data"]
        read_at = {m["id"]: m["read_at"] for m in stored if m["sender_role"] == "user"}
        unread = sum(1 for when in read_at.values() if not when)
        assert admin.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]["unread_count"] == unread, \
            "the unread counter counts the unread rows"
        named = [i for r in receipts for i in r["ids"]]
        assert len(named) == len(set(named)), "no message is marked twice"
        assert set(named) == {i for i, when in read_at.items() if when}, "read exactly what the receipts name"
        for receipt in receipts:
            assert receipt["marked"] == len(receipt["ids"])
            assert receipt["up_to_id"] == (max(receipt["ids"]) if receipt["ids"] else None)
            assert all(read_at[i] == receipt["read_at"] for i in receipt["ids"])
