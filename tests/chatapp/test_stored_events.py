"""PostgreSQL: a message stored by one statement queues its events in that statement, as rows
that name the message; the relay renders them as the general way would have written them, and
drops those whose message was erased meanwhile, in their place in line."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from chatapp import repository
from chatapp.broadcasting import Event
from chatapp.config import Settings
from chatapp.db import Database, connect
from chatapp.events import Events
from chatapp.models import User
from chatapp.outbox import Outbox, Relay
from chatapp.schema import migrate
from tests.chatapp.procs import throwaway_database
from tests.chatapp.test_message_statements import _assigned_room

pytestmark = pytest.mark.postgres

class Recorder:
    """Takes every batch, as pyreverb would."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def deliver(self, events: list[Event]) -> None:
        self.events += events


def _decoded(events: list[Event]) -> list[tuple[str, str, Any, str | None]]:
    """Each event with its data parsed, the feed's number left out (compared apart)."""
    out = []
    for e in events:
        data = orjson.loads(e.data)
        data.pop("feed_seq", None)
        out.append((e.channel, e.name, data, e.socket_id))
    return out


async def _setup(url: str) -> tuple[Database, Events, Relay, Recorder, User, User, int]:
    db = await connect(url)
    await migrate(db)
    settings = Settings(reverb_app_id="1", reverb_key="k", reverb_secret="s", database_url=url)
    outbox = Outbox(settings)
    events = Events(None, outbox, "https://chat.example")  # type: ignore[arg-type]
    sent = Recorder()
    relay = Relay(settings, db, sent)  # type: ignore[arg-type]
    relay.render_stored = events.render_stored
    visitor, agent, room_id = await _assigned_room(db)
    return db, events, relay, sent, visitor, agent, room_id


async def _store(db: Database, events: Events, sender: User, room_id: int, body: str) -> Any:
    role = "admin" if sender.is_admin else "user"
    done = await repository.store_in_active_room(
        db, room_id=room_id, sender_id=sender.id, sender_role=role, body=body, preview=body,
        queue=events.queued_with_message("12.34" if role == "user" else None))
    assert done is not None
    return done


def test_stored_events_render_as_the_general_way_writes_them(tmp_path: Path) -> None:
    with throwaway_database("postgres", tmp_path) as url:
        async def run() -> None:
            db, events, relay, sent, visitor, agent, room_id = await _setup(url)
            try:
                for sender, body in ((visitor, "Добрий день"), (agent, "Bonjour, je regarde")):
                    message, previous_id, room, unread, _ = await _store(db, events, sender, room_id, body)
                    named = await db.fetch_all("SELECT name, message_id FROM outbox ORDER BY id")
                    expected_names = ["message.sent", "chat.message"] + (["unread.updated"] if sender.is_admin else [])
                    assert [r["name"] for r in named] == expected_names
                    assert [r["message_id"] for r in named][:2] == [message.id, message.id]
                    await relay.relay_once()
                    lazily, sent.events = sent.events, []

                    # What the general way writes for the same message and room, sent by the same relay.
                    async with db.transaction() as conn:
                        await events.message_sent(conn, room, message, created_room=False,
                                                  socket_id="12.34" if not sender.is_admin else None,
                                                  previous_id=previous_id)
                        if sender.is_admin:
                            await events.unread(conn, visitor.id, room_id, unread)
                    await relay.relay_once()
                    eagerly, sent.events = sent.events, []
                    assert _decoded(lazily) == _decoded(eagerly)
                    assert _decoded(lazily)[0][2]["previous_id"] == previous_id
                    if sender.is_admin:
                        assert _decoded(lazily)[2][2] == {"room_id": room_id, "unread_count": 1}
                    feed = [orjson.loads(e.data)["feed_seq"] for e in lazily + eagerly if e.name == "chat.message"]
                    assert feed == sorted(feed) and len(set(feed)) == 2
                assert await db.fetch_val("SELECT COUNT(*) FROM outbox") == 0
            finally:
                await relay.stop()
                await db.close()

        asyncio.run(run())


def test_rows_of_an_erased_message_are_dropped_in_their_place_in_line(tmp_path: Path) -> None:
    with throwaway_database("postgres", tmp_path) as url:
        async def run() -> None:
            db, events, relay, sent, visitor, _agent, room_id = await _setup(url)
            try:
                await events.outbox.add(db, ["private-admin.chat"], "before", {"n": 1})
                gone, *_ = await _store(db, events, visitor, room_id, "erase me")
                await events.outbox.add(db, ["private-admin.chat"], "after", {"n": 2})
                kept, *_ = await _store(db, events, visitor, room_id, "keep me")
                await db.execute("DELETE FROM support_chat_messages WHERE id = ?", gone.id)
                for _ in range(3):
                    await relay.relay_once()
                assert [e.name for e in sent.events] == ["before", "after", "message.sent", "chat.message"]
                assert orjson.loads(sent.events[2].data)["id"] == kept.id
                seqs = [orjson.loads(e.data)["feed_seq"] for e in sent.events if e.channel == "private-admin.chat"]
                assert seqs == [1, 3, 4], "the dropped feed row keeps its number, so the numbers stay in order"
                assert await db.fetch_val("SELECT COUNT(*) FROM outbox") == 0
            finally:
                await relay.stop()
                await db.close()

        asyncio.run(run())
