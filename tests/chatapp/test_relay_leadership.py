"""PostgreSQL: one relay sends at a time, holding a session lock on a connection of its own; when that
connection ends, another instance's relay takes over."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chatapp.broadcasting import Event
from chatapp.config import Settings
from chatapp.db import LOCK_RELAY, connect
from chatapp.outbox import Outbox, Relay
from chatapp.schema import migrate

pytestmark = pytest.mark.postgres


class Recorder:
    """Takes every batch, as pyreverb would, and remembers what it took."""

    def __init__(self) -> None:
        self.names: list[str] = []

    async def deliver(self, events: list[Event]) -> None:
        self.names += [e.name for e in events]


async def test_one_relay_leads_and_another_takes_over(pg_url: str) -> None:
    settings = Settings(reverb_app_id="1", reverb_key="k", reverb_secret="s", database_url=pg_url)
    first_db, second_db = await connect(pg_url), await connect(pg_url)
    await migrate(first_db)
    first_sent, second_sent = Recorder(), Recorder()
    first, second = Relay(settings, first_db, first_sent), Relay(settings, second_db, second_sent)  # type: ignore[arg-type]
    outbox = Outbox(settings)
    try:
        await outbox.add(first_db, ["a"], "one", {})
        await first.relay_once()
        await outbox.add(first_db, ["a"], "two", {})
        await second.relay_once()  # the lock is taken: the second relay sends nothing
        assert (first_sent.names, second_sent.names) == (["one"], [])
        await first.relay_once()
        assert first_sent.names == ["one", "two"]

        await first.stop()  # its connection ends, and the lock with it
        await outbox.add(first_db, ["a"], "three", {})
        await second.relay_once()
        assert second_sent.names == ["three"]
        statuses: list[Any] = await second_db.fetch_all("SELECT COUNT(*) AS n FROM outbox")
        assert statuses[0]["n"] == 0
    finally:
        await second.stop()
        await first_db.close()
        await second_db.close()


async def test_a_sender_whose_session_the_server_ended_gives_way(pg_url: str) -> None:
    """The server ends the sending relay's session (as after a minute idle, when its host has
    vanished): the lock goes with it, another relay sends, and the first reconnects as a follower."""
    settings = Settings(reverb_app_id="1", reverb_key="k", reverb_secret="s", database_url=pg_url)
    first_db, second_db = await connect(pg_url), await connect(pg_url)
    await migrate(first_db)
    first_sent, second_sent = Recorder(), Recorder()
    first, second = Relay(settings, first_db, first_sent), Relay(settings, second_db, second_sent)  # type: ignore[arg-type]
    outbox = Outbox(settings)
    try:
        await outbox.add(first_db, ["a"], "one", {})
        await first.relay_once()
        holder = await first_db.fetch_val(  # pg_locks lists every database's: this one's only
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = ? AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", LOCK_RELAY)
        assert holder is not None
        await first_db.fetch_val("SELECT pg_terminate_backend(?)", holder)
        await outbox.add(first_db, ["a"], "two", {})
        for _ in range(50):  # the server takes a moment to end the backend and free the lock
            await second.relay_once()
            if second_sent.names:
                break
            await asyncio.sleep(0.05)
        assert second_sent.names == ["two"]
        await outbox.add(first_db, ["a"], "three", {})
        await first.relay_once()  # it sees its connection gone, opens another: a follower, sends nothing
        await second.relay_once()
        assert (first_sent.names, second_sent.names) == (["one"], ["two", "three"])
    finally:
        await first.stop()
        await second.stop()
        await first_db.close()
        await second_db.close()
