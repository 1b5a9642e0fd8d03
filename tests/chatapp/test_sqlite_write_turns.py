"""Two connections of one process to one SQLite file write in turn, not in a race for the lock.

The outbox relay writes through a connection of its own. Left to SQLite, it waited for the
write lock in the busy handler (sleeping up to 100 ms between tries) while the requests'
connection took the lock again and again: at 200 messages/s its deletes, and so every
delivery, ran hundreds of milliseconds late (bench.chat --cost-at 200: p99 230-730 ms).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from chatapp.config import Settings
from chatapp.db import SqliteDatabase, connect, sqlite_path
from chatapp.outbox import Relay
from chatapp.schema import migrate


async def _pair(tmp_path: Path) -> tuple[str, SqliteDatabase, SqliteDatabase]:
    url = f"sqlite:///{tmp_path}/turns.db"
    requests, relay = await connect(url), await connect(url)
    assert isinstance(requests, SqliteDatabase) and isinstance(relay, SqliteDatabase)
    await relay.write_beside(requests)
    await requests.execute("CREATE TABLE log (id INTEGER PRIMARY KEY, who TEXT NOT NULL)")
    return url, requests, relay


async def _log(db: SqliteDatabase, who: str) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO log (who) VALUES (?)", who)


def test_a_write_beside_a_busy_connection_goes_in_line_not_after_every_later_one(tmp_path: Path) -> None:
    async def run() -> None:
        _, requests, relay = await _pair(tmp_path)
        try:
            async with requests.transaction() as tx:  # a request holds the write lock
                await tx.execute("INSERT INTO log (who) VALUES ('request 1')")
                relay_write = asyncio.create_task(_log(relay, "relay"))
                await asyncio.sleep(0.05)  # the relay waits for its turn now
                later = asyncio.create_task(requests.execute("INSERT INTO log (who) VALUES ('request 2')"))
                await asyncio.sleep(0.01)
            await asyncio.wait_for(asyncio.gather(relay_write, later), 5)
            order = [r["who"] for r in await requests.fetch_all("SELECT who FROM log ORDER BY id")]
            assert order == ["request 1", "relay", "request 2"], "the relay wrote when its turn came"
        finally:
            await relay.close()
            await requests.close()

    asyncio.run(run())


def test_while_another_process_writes_the_waiting_connection_holds_up_no_reads(tmp_path: Path) -> None:
    async def run() -> None:
        url, requests, relay = await _pair(tmp_path)
        other = sqlite3.connect(sqlite_path(url), isolation_level=None)  # as another process would
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO log (who) VALUES ('other process')")
            relay_write = asyncio.create_task(_log(relay, "relay"))
            await asyncio.sleep(0.05)
            assert not relay_write.done(), "the relay waits for the other process's lock"
            seen = await asyncio.wait_for(requests.fetch_val("SELECT COUNT(*) FROM log"), 1)
            assert seen == 0, "reads went on meanwhile, and saw nothing uncommitted"
            other.execute("COMMIT")
            await asyncio.wait_for(relay_write, 5)
            order = [r["who"] for r in await requests.fetch_all("SELECT who FROM log ORDER BY id")]
            assert order == ["other process", "relay"]
            await _log(relay, "relay again")  # and its turns work as before afterwards
            assert await requests.fetch_val("SELECT COUNT(*) FROM log") == 3
        finally:
            other.close()
            await relay.close()
            await requests.close()

    asyncio.run(run())


def test_the_relay_on_a_sqlite_file_writes_beside_the_requests_connection(tmp_path: Path) -> None:
    async def run() -> None:
        url = f"sqlite:///{tmp_path}/app.db"
        settings = Settings(reverb_app_id="1", reverb_key="k", reverb_secret="s", database_url=url)
        db = await connect(url)
        await migrate(db)
        relay = Relay(settings, db, None)  # type: ignore[arg-type]  # sends nothing: the outbox is empty
        try:
            await relay.start()
            assert isinstance(relay.db, SqliteDatabase) and relay.db is not db
            assert relay.db._writes_beside is db
            # db checkpoints its write-ahead log in its own commits (no chatapp.wal_checkpoint here): so does the relay
            assert await relay.db.fetch_val("PRAGMA wal_autocheckpoint") == 1000
        finally:
            await relay.stop()
            await db.close()

    asyncio.run(run())
