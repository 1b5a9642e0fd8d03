"""SQLite's write-ahead log is copied into the database file by a loop of its own, not by the
commit that happens to take the log past 1,000 pages while requests wait behind it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from chatapp.app import build_state, close_state
from chatapp.config import Settings
from chatapp.db import SqliteDatabase, connect, sqlite_path
from chatapp.schema import migrate
from chatapp.wal_checkpoint import WalCheckpointer

PAGE = 4096
ROWS = 3000  # one transaction each, each a few pages of log: well past the 1,000 pages SQLite checkpoints at


def _log_pages(url: str) -> int:
    return Path(sqlite_path(url) + "-wal").stat().st_size // PAGE


async def _write(db: SqliteDatabase, rows: int) -> None:
    for n in range(rows):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t (body) VALUES (?)", f"{n:08d}" * 100)


def test_commits_leave_the_log_to_the_checkpointer_which_copies_it(tmp_path: Path) -> None:
    async def run() -> None:
        url = f"sqlite:///{tmp_path}/log.db"
        db = await connect(url)
        assert isinstance(db, SqliteDatabase)
        await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        checkpointer = WalCheckpointer(db)
        try:
            await _write(db, ROWS)  # SQLite's own checkpoints keep the log near 1,000 pages
            before = _log_pages(url)
            assert before <= 1_100, before

            await checkpointer.open()
            assert await db.fetch_val("PRAGMA wal_autocheckpoint") == 0
            await _write(db, ROWS)  # no commit copies the log now: it grows
            grown = _log_pages(url)
            assert grown > 2 * before, (before, grown)

            copied = await checkpointer.sweep()
            assert copied > 1_000, "the loop's checkpoint copied the log into the database file"
            await _write(db, 50)  # a log copied whole starts again from its beginning
            assert _log_pages(url) == grown, "the log did not grow any further"
            assert await db.fetch_val("SELECT COUNT(*) FROM t") == 2 * ROWS + 50
        finally:
            await checkpointer.stop()
            await db.close()

    asyncio.run(run())


def test_the_app_checkpoints_on_a_sqlite_file_and_the_relay_follows(tmp_path: Path) -> None:
    async def run() -> None:
        url = f"sqlite:///{tmp_path}/app.db"
        db = await connect(url)
        await migrate(db)
        await db.close()
        settings = Settings(reverb_app_id="1", reverb_key="k", reverb_secret="s", database_url=url,
                            reverb_host="127.0.0.1", reverb_port=9)
        chat = await build_state(settings)
        try:
            checkpointer = chat.wal_checkpointer
            assert checkpointer is not None and checkpointer._task is not None, "running"
            assert await chat.db.fetch_val("PRAGMA wal_autocheckpoint") == 0
            assert isinstance(chat.relay.db, SqliteDatabase) and chat.relay.db is not chat.db
            assert await chat.relay.db.fetch_val("PRAGMA wal_autocheckpoint") == 0, "the relay's commits neither"
        finally:
            await close_state(chat)
        assert checkpointer._task is None and checkpointer._own is None, "stopped, its connection closed"

    asyncio.run(run())


def test_an_in_memory_database_has_no_log_to_copy() -> None:
    async def run() -> None:
        db = await connect("sqlite:///")
        try:
            assert not WalCheckpointer.wanted(db)
        finally:
            await db.close()

    asyncio.run(run())

