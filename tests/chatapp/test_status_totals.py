"""The resolved and closed counts of the inbox statistics, summed from migration 033's ledger:
exact through every way a room changes status or goes away, through folding, concurrent
changes (PostgreSQL), and for a history that existed before the ledger."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from chatapp import inbox_queries, repository
from chatapp.db import Database, connect, utcnow
from chatapp.schema import migrate
from chatapp.status_totals import fold
from tests.chatapp.procs import throwaway_database

KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


async def _counted(db: Database) -> dict[str, int]:
    rows = await db.fetch_all(
        "SELECT status, COUNT(*) AS n FROM support_chat_rooms WHERE status IN ('resolved', 'closed') GROUP BY status")
    found = {"resolved": 0, "closed": 0}
    found.update({str(r["status"]): int(r["n"]) for r in rows})
    return found


async def _totals(db: Database) -> dict[str, int]:
    stats = await inbox_queries.stats(db)
    return {"resolved": stats["resolved"], "closed": stats["closed"]}


async def _rooms(db: Database, n: int) -> list[int]:
    ids = []
    async with db.transaction() as conn:
        for i in range(n):
            visitor = await repository.create_user(conn, role="guest", name=f"Visitor {i}")
            room_id = await repository.create_room(conn, visitor.id, f"chat {i}")
            assert room_id is not None
            ids.append(room_id)
    return ids


async def _set(db: Database, room_id: int, status: str) -> None:
    now = utcnow()
    async with db.transaction() as conn:
        changes = {"status": status}
        if status == "resolved":
            changes["resolved_at"] = now
        if status == "closed":
            changes["closed_at"] = now
        await repository.update_room(conn, room_id, **changes)


@pytest.mark.parametrize("kind", KINDS)
def test_counts_follow_every_change_and_survive_folding(kind: str, tmp_path: Path) -> None:
    with throwaway_database(kind, tmp_path) as url:
        async def run() -> None:
            db = await connect(url)
            try:
                await migrate(db)
                rooms = await _rooms(db, 8)
                assert await _totals(db) == {"resolved": 0, "closed": 0}
                for room_id in rooms[:6]:
                    await _set(db, room_id, "resolved")
                await _set(db, rooms[6], "closed")  # closed without being resolved first
                assert await _totals(db) == await _counted(db) == {"resolved": 6, "closed": 1}
                await _set(db, rooms[0], "open")  # the visitor wrote again
                await _set(db, rooms[1], "resolved")  # no change of status: nothing to count
                async with db.transaction() as conn:  # the auto-close sweep
                    closed = await repository.close_resolved_before(conn, utcnow(), 3)
                assert len(closed) == 3
                assert await _totals(db) == await _counted(db) == {"resolved": 2, "closed": 4}
                async with db.transaction() as conn:  # retention: closed chats deleted
                    await conn.execute("DELETE FROM support_chat_rooms WHERE id IN (?, ?)", closed[0], closed[1])
                    # a room written as finished at once (an import) counts too
                    visitor = await repository.create_user(conn, role="guest", name="Imported")
                    await conn.execute(
                        "INSERT INTO support_chat_rooms (user_id, subject, status, priority, created_at, updated_at, "
                        "closed_at) VALUES (?, 'old', 'closed', 'normal', ?, ?, ?)",
                        visitor.id, utcnow(), utcnow(), utcnow())
                assert await _totals(db) == await _counted(db) == {"resolved": 2, "closed": 3}
                ledger = int(await db.fetch_val("SELECT COUNT(*) FROM room_status_totals"))
                assert ledger > 2
                assert await fold(db) == ledger
                assert int(await db.fetch_val("SELECT COUNT(*) FROM room_status_totals")) == 2
                assert await _totals(db) == {"resolved": 2, "closed": 3}
                assert await fold(db) == 0  # already one row per status: nothing written
                # The statistics read the ledger, not the rooms: a row written by hand shows.
                async with db.transaction() as conn:
                    await conn.execute("INSERT INTO room_status_totals (status, rooms) VALUES ('closed', 1000)")
                assert (await _totals(db))["closed"] == 1003
                async with db.transaction() as conn:
                    await conn.execute("INSERT INTO room_status_totals (status, rooms) VALUES ('closed', -1000)")
                with pytest.raises(RuntimeError):
                    async with db.transaction() as conn:  # a rolled-back change leaves no trace
                        await repository.update_room(conn, rooms[2], status="closed")
                        raise RuntimeError("undo")
                assert await _totals(db) == await _counted(db)
            finally:
                await db.close()

        asyncio.run(run())


@pytest.mark.parametrize("kind", KINDS)
def test_the_migration_counts_the_history_already_there(kind: str, tmp_path: Path) -> None:
    with throwaway_database(kind, tmp_path) as url:
        async def run() -> None:
            db = await connect(url)
            try:
                await migrate(db)
                async with db.transaction() as conn:  # back to before migration 033
                    for trigger in ("insert", "update", "delete"):
                        await conn.execute(
                            f"DROP TRIGGER support_chat_rooms_totals_{trigger}"
                            + (" ON support_chat_rooms" if kind == "postgres" else ""))
                    await conn.execute("DROP TABLE room_status_totals")
                    if kind == "postgres":
                        await conn.execute("DROP FUNCTION room_status_totals_follow()")
                    await conn.execute("DELETE FROM schema_migrations WHERE version = 33")
                rooms = await _rooms(db, 7)
                for room_id in rooms[:3]:
                    await _set(db, room_id, "resolved")
                for room_id in rooms[3:5]:
                    await _set(db, room_id, "closed")
                assert [m.version for m in await migrate(db)] == [33]
                assert await _totals(db) == await _counted(db) == {"resolved": 3, "closed": 2}
            finally:
                await db.close()

        asyncio.run(run())


@pytest.mark.postgres
def test_concurrent_changes_and_folds_keep_the_counts_exact(tmp_path: Path) -> None:
    """Transactions moving several rooms each beside folds on other connections: the ledger adds
    no wait between them (no deadlock, no lost count)."""
    with throwaway_database("postgres", tmp_path) as url:
        async def run() -> None:
            db = await connect(url)
            try:
                await migrate(db)
                rooms = await _rooms(db, 40)
                rng = random.Random(5)

                async def mover(seed: int) -> None:
                    mine = random.Random(seed)
                    for _ in range(15):
                        async with db.transaction() as conn:
                            for room_id in sorted(mine.sample(rooms, 3)):  # as one sweep would: in id order
                                status = mine.choice(["open", "assigned", "resolved", "closed"])
                                await repository.update_room(conn, room_id, status=status)

                async def folder() -> None:
                    for _ in range(10):
                        await fold(db)
                        await asyncio.sleep(rng.random() / 100)

                await asyncio.gather(*(mover(seed) for seed in range(8)), folder(), folder())
                assert await _totals(db) == await _counted(db)
                await fold(db)
                assert await _totals(db) == await _counted(db)
                assert int(await db.fetch_val("SELECT COUNT(*) FROM room_status_totals")) <= 2
            finally:
                await db.close()

        asyncio.run(run())
