"""The statements a stored message runs, on each database: the room's last-message fields,
the other side's unread counter and the writer's typing indicator move together."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from chatapp import repository
from chatapp.db import Database, connect, utcnow
from chatapp.models import User
from chatapp.schema import migrate
from tests.chatapp.procs import throwaway_database


async def _assigned_room(db: Database) -> tuple[User, User, int]:
    """A visitor, an agent, and the visitor's room assigned to the agent."""
    async with db.transaction() as conn:
        visitor = await repository.create_user(conn, role="guest", name="Vera")
        agent = await repository.create_user(conn, role="admin", name="Alice")
        room_id = await repository.create_room(conn, visitor.id, "hello")
        assert room_id is not None
        await repository.update_room(conn, room_id, status="assigned", assigned_admin_id=agent.id)
    return visitor, agent, room_id


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_after_message_stored_ends_only_the_writers_typing(kind: str, tmp_path: Path) -> None:
    with throwaway_database(kind, tmp_path) as url:
        async def run() -> None:
            db = await connect(url)
            try:
                await migrate(db)
                async with db.transaction() as conn:
                    visitor = await repository.create_user(conn, role="guest", name="Vera")
                    agent = await repository.create_user(conn, role="admin", name="Alice")
                    room_id = await repository.create_room(conn, visitor.id, "hello")
                    assert room_id is not None
                    until = utcnow() + timedelta(seconds=5)
                    await repository.set_typing(conn, room_id, visitor.id, "user", until)
                    await repository.set_typing(conn, room_id, agent.id, "admin", until)
                async with db.transaction() as conn:
                    await repository.after_message_stored(conn, room_id, "user", "hello there", writer_id=visitor.id)
                typing = await db.fetch_all("SELECT user_id FROM chat_typing_indicators WHERE room_id = ?", room_id)
                assert [int(r["user_id"]) for r in typing] == [agent.id]
                room = await repository.get_room(db, room_id)
                assert room is not None
                assert (room.last_message_preview, room.admin_unread_count) == ("hello there", 1)
                async with db.transaction() as conn:  # no writer: the indicators stay
                    await repository.after_message_stored(conn, room_id, "system", "resolved")
                assert len(await db.fetch_all("SELECT 1 FROM chat_typing_indicators")) == 1
            finally:
                await db.close()

        asyncio.run(run())


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_stored_message_reads_back_as_a_later_read_would(kind: str, tmp_path: Path) -> None:
    """store_message and after_message_stored answer what get_message, previous_message_id and
    get_room would (on PostgreSQL from the writing statements themselves)."""
    with throwaway_database(kind, tmp_path) as url:
        async def run() -> None:
            db = await connect(url)
            try:
                await migrate(db)
                visitor, agent, room_id = await _assigned_room(db)
                stored: list[int] = []
                for sender, role, key in ((visitor, "user", "k1"), (agent, "admin", "k2"), (visitor, "user", "k3")):
                    async with db.transaction() as conn:
                        if role == "admin":  # a private note between: never anyone's previous message
                            await repository.insert_message(conn, room_id=room_id, sender_id=agent.id,
                                                            sender_role="admin", body="note", note_mentions=[])
                        found = await repository.store_message(conn, room_id=room_id, sender_id=sender.id,
                                                               sender_role=role, body=f"from {role}",
                                                               idempotency_key=key)
                        assert found is not None
                        message, previous = found
                        assert message == await repository.get_message(conn, message.id)
                        assert previous == (stored[-1] if stored else None)
                        room = await repository.after_message_stored(conn, room_id, role, f"from {role}",
                                                                     writer_id=sender.id)
                        assert room == await repository.get_room(conn, room_id)
                        assert (room.last_message_preview, room.admin_name) == (f"from {role}", "Alice")
                        stored.append(message.id)
                async with db.transaction() as conn:
                    again = await repository.store_message(conn, room_id=room_id, sender_id=visitor.id,
                                                           sender_role="user", body="from user", idempotency_key="k1")
                    assert again is None  # the key was used: nothing stored
                assert room.admin_unread_count == 2 and room.user_unread_count == 1
            finally:
                await db.close()

        asyncio.run(run())


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_store_and_move_answers_what_later_reads_would(kind: str, tmp_path: Path) -> None:
    """The message, the one before it and the room, as separate reads after the commit give them
    (on PostgreSQL all from the one writing statement); a replayed key changes nothing."""
    with throwaway_database(kind, tmp_path) as url:
        async def run() -> None:
            db = await connect(url)
            try:
                await migrate(db)
                visitor, agent, room_id = await _assigned_room(db)
                await repository.set_typing(db, room_id, visitor.id, "user", utcnow() + timedelta(seconds=5))
                before: int | None = None
                for sender, role, key in ((visitor, "user", "k1"), (agent, "admin", "k2"), (visitor, "user", "k3")):
                    async with db.transaction() as conn:
                        if role == "admin":  # a system message between: the room's last one until the reply
                            await repository.insert_message(conn, room_id=room_id, sender_id=None,
                                                            sender_role="system", body="resolved",
                                                            system=("chat.resolved", {"agent": "Alice"}))
                        done = await repository.store_and_move(conn, room_id=room_id, sender_id=sender.id,
                                                               sender_role=role, body=f"from {role}",
                                                               preview=f"from {role}", idempotency_key=key)
                    assert done is not None
                    message, previous, room = done
                    assert message == await repository.get_message(db, message.id)
                    assert room == await repository.get_room(db, room_id)
                    assert previous == await repository.previous_message_id(db, room_id, message.id)
                    assert (room.last_message_preview, room.admin_name, room.last_system_code) == (
                        f"from {role}", "Alice", None)
                    assert before is None or (previous is not None and previous >= before)
                    before = message.id
                assert (room.admin_unread_count, room.user_unread_count) == (2, 1)
                assert await db.fetch_all("SELECT 1 FROM chat_typing_indicators") == []
                async with db.transaction() as conn:
                    again = await repository.store_and_move(conn, room_id=room_id, sender_id=visitor.id,
                                                            sender_role="user", body="from user",
                                                            preview="again", idempotency_key="k1")
                assert again is None
                assert await repository.get_room(db, room_id) == room  # nothing moved
            finally:
                await db.close()

        asyncio.run(run())


@pytest.mark.postgres
def test_a_message_to_a_chat_that_needs_nothing_more_is_found_and_stored_at_once(tmp_path: Path) -> None:
    """store_in_active_room writes only where ChatService.send would change nothing but the
    message (an active, awake room of the visitor's; an assigned, unresolved one for support);
    anywhere else it writes nothing, and the general way decides. What it writes reads back as
    store_and_move's would."""
    with throwaway_database("postgres", tmp_path) as url:
        async def run() -> None:
            db = await connect(url)
            try:
                await migrate(db)
                visitor, agent, room_id = await _assigned_room(db)
                async with db.transaction() as conn:
                    stranger = await repository.create_user(conn, role="guest", name="Sam")
                    await repository.update_room(conn, room_id, status="closed")
                    other = await repository.create_room(conn, visitor.id, "another")  # closed, two unread
                    assert other is not None
                    await repository.update_room(conn, other, status="closed", user_unread_count=2)
                    await repository.update_room(conn, room_id, status="assigned")
                await repository.set_typing(db, room_id, visitor.id, "user", utcnow() + timedelta(seconds=5))

                async def store(sender: User, target: int | None, key: str | None = None) -> object:
                    role = "admin" if sender.is_admin else "user"
                    async with db.transaction() as conn:
                        return await repository.store_in_active_room(
                            conn, room_id=target, sender_id=sender.id, sender_role=role, body=f"from {role}",
                            preview=f"from {role}", idempotency_key=key)

                async def count() -> int:
                    return len(await db.fetch_all("SELECT 1 FROM support_chat_messages"))

                for target in (None, room_id):  # the visitor's current room, found or named
                    done = await store(visitor, target, f"v{target}")
                    assert isinstance(done, tuple)
                    message, previous, room, unread, subscriptions = done
                    assert subscriptions is None, "not asked for"
                    assert message == await repository.get_message(db, message.id)
                    assert room == await repository.get_room(db, room_id)
                    assert previous == await repository.previous_message_id(db, room_id, message.id)
                    assert unread is None
                assert (room.admin_unread_count, room.last_message_preview) == (2, "from user")
                assert await db.fetch_all("SELECT 1 FROM chat_typing_indicators") == []
                done = await store(agent, room_id)
                assert isinstance(done, tuple)
                assert done[2] == await repository.get_room(db, room_id) and done[2].user_unread_count == 1
                assert done[3] == await repository.unread_for_user(db, visitor.id) == 3  # this chat's and the closed
                assert await db.fetch_val("SELECT first_response_at FROM support_chat_rooms WHERE id = ?", room_id)

                stored = await count()
                assert await store(visitor, None, "vNone") is None, "a replayed key writes nothing"
                assert await store(stranger, room_id) is None, "someone else's room"
                assert await store(agent, None) is None, "support names the room"
                for changes, who in (
                    ({"status": "resolved"}, (visitor, agent)),  # reopened by the general way
                    ({"snoozed_at": utcnow()}, (visitor,)),  # woken by the visitor's message
                    ({"status": "open", "assigned_admin_id": None}, (agent,)),  # taken by the reply
                    ({"status": "closed"}, (visitor, agent)),  # refused, or a new room for the visitor
                ):
                    async with db.transaction() as conn:
                        await repository.update_room(conn, room_id, status="assigned", assigned_admin_id=agent.id,
                                                     snoozed_at=None)
                        await repository.update_room(conn, room_id, **changes)
                    for sender in who:
                        assert await store(sender, room_id if sender.is_admin else None) is None, (changes, sender)
                assert await count() == stored
            finally:
                await db.close()

        asyncio.run(run())


@pytest.mark.postgres
def test_the_statement_that_stores_a_message_reads_whose_push_subscriptions_it_goes_to(tmp_path: Path) -> None:
    """With ``with_push`` the one-statement store returns what chatapp.push would read after it:
    for support's reply the visitor's subscriptions, for a visitor's message in an unassigned
    chat every admin's, in an assigned one none (the assignee's are read only if they are offline)."""
    with throwaway_database("postgres", tmp_path) as url:
        async def run() -> None:
            db = await connect(url)
            try:
                await migrate(db)
                visitor, agent, room_id = await _assigned_room(db)
                async with db.transaction() as conn:
                    other = await repository.create_user(conn, role="admin", name="Bohdan")
                    await conn.execute("UPDATE users SET locale = 'uk' WHERE id = ?", other.id)
                    for n, owner in enumerate((visitor, visitor, agent, other)):
                        await repository.save_push_subscription(
                            conn, user_id=owner.id, endpoint=f"https://push.example/{n}", p256dh=f"key{n}",
                            auth=f"auth{n}", user_agent="test")

                async def store(sender: User) -> list[dict[str, object]] | None:
                    role = "admin" if sender.is_admin else "user"
                    done = await repository.store_in_active_room(
                        db, room_id=room_id, sender_id=sender.id, sender_role=role, body="hi", preview="hi",
                        with_push=True)
                    assert done is not None
                    return done.push_subscriptions

                def by_endpoint(rows: list[dict[str, object]]) -> list[dict[str, object]]:
                    return sorted((dict(r) for r in rows), key=lambda r: str(r["endpoint"]))

                read = await store(agent)
                assert read is not None and len(read) == 2
                assert by_endpoint(read) == by_endpoint(await repository.push_subscriptions_for(db, [visitor.id]))
                assert await store(visitor) is None, "assigned: nobody's read"
                async with db.transaction() as conn:
                    await repository.update_room(conn, room_id, status="open", assigned_admin_id=None)
                read = await store(visitor)
                assert read is not None and {r["user_id"] for r in read} == {agent.id, other.id}
                assert by_endpoint(read) == by_endpoint(await repository.admin_push_subscriptions(db))
                assert {r["locale"] for r in read if r["user_id"] == other.id} == {"uk"}
            finally:
                await db.close()

        asyncio.run(run())
