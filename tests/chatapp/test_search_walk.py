"""PostgreSQL search: the newest matches found by reading newest first, by ranges of ids read
through the GIN and primary-key indexes together, or through the GIN index alone
(chatapp.inbox_queries.newest_matches) are exactly the newest matches, whichever way each
word takes."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any

import pytest

from chatapp import inbox_queries, repository
from chatapp.db import Database, connect
from chatapp.schema import migrate
from tests.chatapp.procs import throwaway_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# (word, share of the messages and subjects holding it)
WORDS = (("common", 0.5), ("middling", 0.06), ("scarce", 0.01), ("absent", 0.0))


def text(rng: random.Random) -> str:
    return " ".join(["hello", *(w for w, share in WORDS if rng.random() < share), "Élodie"])


async def fill(db: Database, messages: int, rooms: int) -> None:
    rng = random.Random(7)
    async with db.transaction() as conn:
        for i in range(rooms):
            user = await repository.create_user(conn, role="guest", name=f"Visitor {i}")
            room_id = await repository.create_room(conn, user.id, text(rng))
            assert room_id is not None
        for _ in range(messages):
            await repository.insert_message(conn, room_id=room_id, sender_id=user.id, sender_role="user",
                                            body=text(rng))


async def newest_by_brute_force(db: Database, table: str, query: str, limit: int) -> list[int]:
    rows = await db.fetch_all(
        f"SELECT id FROM {table} WHERE chat_search_vector({'body' if 'messages' in table else 'subject'}) "
        "@@ chat_search_query(?) ORDER BY id DESC LIMIT ?",
        query, limit,
    )
    return [int(r["id"]) for r in rows]


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated PostgreSQL database with 400 rooms and 3,000 messages."""
    with throwaway_database("postgres", tmp_path_factory.mktemp("walk")) as url:
        async def prepare() -> None:
            db = await connect(url)
            try:
                await migrate(db)
                await fill(db, messages=3_000, rooms=400)
            finally:
                await db.close()

        asyncio.run(prepare())
        yield url


@pytest.fixture
def range_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per range read newest_matches() makes (``_ranged_matches`` counted)."""
    ranges: list[int] = []
    ranged = inbox_queries._ranged_matches

    async def counted(*args: Any) -> list[int]:
        ranges.append(1)
        return await ranged(*args)

    monkeypatch.setattr(inbox_queries, "_ranged_matches", counted)
    return ranges


# What a range read costs against a walk: free (ranges whenever the GIN index alone is not
# cheaper), as measured, or never worth it (walks only).
RANGE_COSTS = {"ranges": (0.0, 0.0), "measured": (inbox_queries.RANGE_ENTRY_COST, inbox_queries.RANGE_HIT_COST),
               "walks": (1e9, 1e9)}


@pytest.mark.parametrize("costs", RANGE_COSTS)
@pytest.mark.parametrize("first, cap", [(100, 1_000), (40, 300), (4_000, 150_000)])
def test_newest_matches_are_the_newest_whichever_way(
    filled: str, monkeypatch: pytest.MonkeyPatch, range_reads: list[int], first: int, cap: int, costs: str
) -> None:
    monkeypatch.setattr(inbox_queries, "WALK_FIRST", first)
    monkeypatch.setattr(inbox_queries, "WALK_MAX_ROWS", cap)
    monkeypatch.setattr(inbox_queries, "RANGE_ENTRY_COST", RANGE_COSTS[costs][0])
    monkeypatch.setattr(inbox_queries, "RANGE_HIT_COST", RANGE_COSTS[costs][1])
    if costs == "ranges":  # ranges sized too small: several per search, each from a new share
        monkeypatch.setattr(inbox_queries, "_RANGE_MARGIN", 0.3)

    async def run() -> None:
        db = await connect(filled)
        try:
            for table in ("support_chat_messages", "support_chat_rooms"):
                for word, _ in WORDS:
                    for query in (f"'{word}':*", f"'{word[:3]}':*", f"'{word}':* & 'elodie':*"):
                        for limit in (1, 50, 1_000):
                            got = await inbox_queries.newest_matches(db, table, query, limit)
                            assert got == await newest_by_brute_force(db, table, query, limit), (table, query, limit)
        finally:
            await db.close()

    asyncio.run(run())
    if costs == "ranges" and first < 4_000:
        assert range_reads, "no word was read by ranges of ids"
    if costs == "walks":
        assert not range_reads


def test_ranges_inside_a_callers_transaction_put_its_setting_back(
    filled: str, monkeypatch: pytest.MonkeyPatch, range_reads: list[int]
) -> None:
    """Given one connection in a transaction (not the pool), range reads switch index scans off
    for themselves only (chat_search_range's own setting), and still find exactly the newest matches."""
    monkeypatch.setattr(inbox_queries, "WALK_FIRST", 40)
    monkeypatch.setattr(inbox_queries, "RANGE_ENTRY_COST", 0.0)
    monkeypatch.setattr(inbox_queries, "RANGE_HIT_COST", 0.0)

    async def run() -> None:
        db = await connect(filled)
        try:
            async with db.transaction() as tx:
                for word, limit in (("middling", 50), ("common", 400)):
                    got = await inbox_queries.newest_matches(tx, "support_chat_messages", f"'{word}':*", limit)
                    assert got == await newest_by_brute_force(db, "support_chat_messages", f"'{word}':*", limit)
                    assert await tx.fetch_val("SELECT current_setting('enable_indexscan')") == "on"
        finally:
            await db.close()

    asyncio.run(run())
    assert range_reads, "no word was read by ranges of ids"
