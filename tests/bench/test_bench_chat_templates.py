"""The chat benchmark's preloaded databases: a history loaded in bulk leaves the finished chats'
ledger (migration 033) as chatapp's folding keeps a live one, a row per status, and exact."""

from __future__ import annotations

import asyncio

import pytest

from bench.chat_data import History
from bench.chat_db import discard, prepare
from chatapp.db import connect

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_loaded_history_has_one_ledger_row_per_finished_status(database: str) -> None:
    url = prepare(database, History(60, 300), lambda line: None)
    try:
        async def check() -> None:
            db = await connect(url)
            try:
                ledger = await db.fetch_all("SELECT status, rooms FROM room_status_totals ORDER BY status")
                counted = await db.fetch_all(
                    "SELECT status, COUNT(*) AS rooms FROM support_chat_rooms "
                    "WHERE status IN ('resolved', 'closed') GROUP BY status ORDER BY status")
                assert [(r["status"], int(r["rooms"])) for r in ledger] == \
                    [(r["status"], int(r["rooms"])) for r in counted]
                assert len(ledger) == 2  # the history has both
            finally:
                await db.close()

        asyncio.run(check())
    finally:
        discard(url)
