"""PostgreSQL connections go back to the pool without asyncpg's reset query (one round trip
per release saved); nothing a transaction did may then reach the next user of the connection."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chatapp.db import PostgresDatabase
from tests.chatapp.procs import throwaway_database

pytestmark = pytest.mark.postgres


class Boom(Exception):
    pass


def test_a_connection_leaves_nothing_behind_for_the_next_user(tmp_path: Path) -> None:
    with throwaway_database("postgres", tmp_path) as url:
        async def run() -> None:
            db = await PostgresDatabase.open(url, max_size=1)  # one connection: every use is the same one
            try:
                backend = await db.fetch_val("SELECT pg_backend_pid()")
                with pytest.raises(Boom):
                    async with db.transaction() as conn:
                        await conn.execute("SET LOCAL statement_timeout = 1234")
                        await conn.fetch_val("SELECT pg_advisory_xact_lock(42)")
                        await conn.execute("CREATE TEMP TABLE scratch (x int) ON COMMIT DROP")
                        raise Boom
                async with db.transaction() as conn:
                    await conn.execute("SET LOCAL work_mem = '8MB'")
                assert await db.fetch_val("SELECT pg_backend_pid()") == backend
                assert await db.fetch_val("SHOW statement_timeout") == "0"
                assert await db.fetch_val("SHOW work_mem") != "8MB"
                held = "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                assert await db.fetch_val(held) == 0
                # Not inside a transaction left open: two statements see different transaction ids.
                first = await db.fetch_val("SELECT txid_current()")
                assert await db.fetch_val("SELECT txid_current()") != first
                async with db._pool.acquire() as raw:
                    assert not raw.is_in_transaction()
            finally:
                await db.close()

        asyncio.run(run())
