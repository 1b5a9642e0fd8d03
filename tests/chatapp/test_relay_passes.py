"""A relay pass deletes what pyreverb took together, at its end or before it postpones the rest.

A pass of 25 feed events is three requests to pyreverb. They used to be three deletes too (on
SQLite each waiting for its turn behind the requests); now they are one. What must not change:
a row leaves the outbox exactly when pyreverb took it, and the feed's numbers run on without a
gap or a repeat across a failed request.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from chatapp.broadcasting import DeliveryError, Event
from chatapp.config import Settings
from chatapp.db import Connection, Database, connect
from chatapp.outbox import Outbox, OutboxRow, Relay
from chatapp.policy import ADMIN_CHANNEL
from chatapp.schema import migrate
from tests.chatapp.procs import throwaway_database

KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
EVENTS = 25  # three requests of at most ten


class Pyreverb:
    """Takes requests as pyreverb would, until told to fail them as an unreachable one would."""

    def __init__(self, take: int) -> None:
        self.take = take  # requests taken before the next ones fail
        self.events: list[Event] = []
        self.requests = 0

    async def deliver(self, events: list[Event]) -> None:
        if self.requests >= self.take:
            raise DeliveryError("connection refused", permanent=False)
        self.requests += 1
        self.events += events


async def _state(db: Connection) -> tuple[int, int, int]:
    left = int(await db.fetch_val("SELECT COUNT(*) FROM outbox"))
    attempts = int(await db.fetch_val("SELECT COALESCE(MAX(attempts), 0) FROM outbox"))
    seq = int(await db.fetch_val("SELECT last_seq FROM outbox_sequences WHERE channel = ?", ADMIN_CHANNEL) or 0)
    return left, attempts, seq


async def _queued(url: str, pyreverb: Pyreverb) -> tuple[Database, Relay, list[int]]:
    """A migrated database with EVENTS feed events queued; the relay; the size of each delete it makes."""
    settings = Settings(reverb_app_id="1", reverb_key="k", reverb_secret="s", database_url=url)
    db = await connect(url)
    await migrate(db)
    relay = Relay(settings, db, pyreverb)  # type: ignore[arg-type]
    async with db.transaction() as tx:
        for n in range(EVENTS):
            await Outbox(settings).add(tx, [ADMIN_CHANNEL], "chat.message", {"n": n})
    deletes: list[int] = []
    finish = relay._finish

    async def counted(conn: Connection, rows: list[OutboxRow], seqs: dict[int, int]) -> None:
        deletes.append(len(rows))
        await finish(conn, rows, seqs)

    relay._finish = counted  # type: ignore[method-assign]
    return db, relay, deletes


async def _fails_then_recovers(url: str) -> None:
    pyreverb = Pyreverb(take=2)
    db, relay, deletes = await _queued(url, pyreverb)
    try:
        delay, backing_off = await relay.relay_once()
        assert backing_off and delay > 0, "the third request failed: the rest waits"
        assert await _state(db) == (5, 1, 20), "the two requests pyreverb took are deleted, numbered 1-20"
        assert relay.delivered == 20 and deletes == [20]

        pyreverb.take = 10
        await asyncio.sleep(0.6)  # the first back-off is half a second
        await relay.relay_once()
        assert await _state(db) == (0, 0, EVENTS)
        data = [orjson.loads(e.data) for e in pyreverb.events]
        assert [d["n"] for d in data] == list(range(EVENTS)), "each event once, in order"
        assert [d["feed_seq"] for d in data] == list(range(1, EVENTS + 1)), "no number skipped or repeated"
        assert deletes == [20, 5]
    finally:
        await relay.stop()
        await db.close()


async def _one_pass(url: str) -> None:
    pyreverb = Pyreverb(take=10)
    db, relay, deletes = await _queued(url, pyreverb)
    try:
        await relay.relay_once()
        assert pyreverb.requests == 3
        assert deletes == [EVENTS], "three requests, one delete"
        assert await _state(db) == (0, 0, EVENTS)
    finally:
        await relay.stop()
        await db.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_pass_deletes_what_pyreverb_took_and_numbers_run_on_after_a_failure(kind: str, tmp_path: Path) -> None:
    with throwaway_database(kind, tmp_path) as url:
        asyncio.run(_fails_then_recovers(url))


@pytest.mark.parametrize("kind", KINDS)
def test_a_pass_of_three_requests_deletes_once(kind: str, tmp_path: Path) -> None:
    with throwaway_database(kind, tmp_path) as url:
        asyncio.run(_one_pass(url))
