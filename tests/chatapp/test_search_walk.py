"""PostgreSQL search: the newest matches found by reading newest first or through the GIN
index (chatapp.inbox_queries.newest_matches) are exactly the newest matches, whichever way
each word takes."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

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


@pytest.mark.parametrize("first, cap", [(100, 1_000), (40, 300), (4_000, 150_000)])
def test_newest_matches_are_the_newest_whichever_way(
    filled: str, monkeypatch: pytest.MonkeyPatch, first: int, cap: int
) -> None:
    monkeypatch.setattr(inbox_queries, "WALK_FIRST", first)
    monkeypatch.setattr(inbox_queries, "WALK_MAX_ROWS", cap)

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
