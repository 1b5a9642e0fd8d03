"""SQLite's search indexes are merged in small background steps, not while a message is stored.

FTS5's own merging ran inside the statement that stored a message (20-150 ms on a million
messages, every request waiting; bench/sqlite_fts_merge.py). Migration 030 turns it off and
chatapp.search_merge.SearchIndexMerger does it a few pages at a time.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from chatapp import repository
from chatapp.app import build_state, close_state
from chatapp.config import Settings
from chatapp.db import SqliteDatabase, connect, sqlite_path
from chatapp.schema import migrate
from chatapp.search_merge import SEARCH_TABLES, SearchIndexMerger
from tests.chatapp.procs import throwaway_database

MESSAGES = 150


def test_stored_messages_leave_the_merging_to_the_merger_and_stay_searchable(tmp_path: Path) -> None:
    with throwaway_database("sqlite", tmp_path) as url:
        async def run() -> None:
            db = await connect(url)
            assert isinstance(db, SqliteDatabase)
            try:
                await migrate(db)
                for table in SEARCH_TABLES:  # FTS5 merges nothing by itself while a message is stored
                    config = {r["k"]: r["v"] for r in await db.fetch_all(f"SELECT k, v FROM {table}_config")}
                    assert config["automerge"] == 0 and config["crisismerge"] == 64, (table, config)

                async with db.transaction() as conn:
                    visitor = await repository.create_user(conn, role="guest", name="Олена")
                    room_id = await repository.create_room(conn, visitor.id, "Livraison")
                assert room_id is not None
                for n in range(MESSAGES):  # one segment per transaction, as requests write them
                    await db.execute(
                        "INSERT INTO support_chat_messages (room_id, sender_id, sender_role, body, created_at) "
                        "VALUES (?, ?, 'user', ?, '2026-12-04T12:00:00')", room_id, visitor.id, f"Élodie commande {n}")

                async def blocks() -> int:
                    return int(await db.fetch_val("SELECT COUNT(*) FROM support_chat_messages_search_data"))

                unmerged = await blocks()
                merger = SearchIndexMerger(db)
                passes = [await merger.sweep() for _ in range(20)]
                assert passes[0] > 0, "the first pass merged something"
                assert passes[-1] == 0, f"the merger ran out of work: {passes}"
                assert await blocks() < unmerged / 4, "the segments became a few"
                found = await db.fetch_val(
                    "SELECT COUNT(*) FROM support_chat_messages_search WHERE support_chat_messages_search MATCH ?",
                    "elodie")
                assert found == MESSAGES
                await db.execute("INSERT INTO support_chat_messages_search (support_chat_messages_search) "
                                 "VALUES ('integrity-check')")
            finally:
                await db.close()

        asyncio.run(run())


def test_the_merger_never_waits_for_a_write_lock_held_elsewhere(tmp_path: Path) -> None:
    """While another process writes, a pass gives up at once (a wait would hold the connection
    every request queues for: reads would fail with 503 behind it) and merges on a later pass."""
    with throwaway_database("sqlite", tmp_path) as url:
        async def run() -> None:
            db = await connect(url, timeout=2.0)
            assert isinstance(db, SqliteDatabase)
            try:
                await migrate(db)
                async with db.transaction() as conn:
                    visitor = await repository.create_user(conn, role="guest", name="Pat")
                    room_id = await repository.create_room(conn, visitor.id, "hi")
                for n in range(40):
                    await db.execute(
                        "INSERT INTO support_chat_messages (room_id, sender_id, sender_role, body, created_at) "
                        "VALUES (?, ?, 'user', ?, '2026-12-04T12:00:00')", room_id, visitor.id, f"colis {n}")
                other = sqlite3.connect(sqlite_path(url), isolation_level=None)
                other.execute("BEGIN IMMEDIATE")  # another process's write, in progress
                try:
                    assert await SearchIndexMerger(db).sweep() == 0
                    assert await db.fetch_val("SELECT COUNT(*) FROM support_chat_messages") == 40
                finally:
                    other.execute("ROLLBACK")
                    other.close()
                assert await SearchIndexMerger(db).sweep() > 0, "merged once the lock is gone"
            finally:
                await db.close()

        asyncio.run(run())


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_running_chatapp_merges_only_a_sqlite_index(kind: str, tmp_path: Path) -> None:
    with throwaway_database(kind, tmp_path) as url:
        async def run() -> None:
            settings = Settings.from_env({"DATABASE_URL": url, "CHATAPP_UPLOAD_DIR": str(tmp_path / "uploads")})
            db = await connect(url)
            try:
                await migrate(db)
            finally:
                await db.close()
            chat = await build_state(settings)
            try:
                merger = chat.search_merger
                if kind == "postgres":
                    assert merger is None
                    return
                assert merger is not None and merger._task is not None and not merger._task.done()
            finally:
                await close_state(chat)
            assert merger is not None and merger._task is None, "stopped with the app"

        asyncio.run(run())
