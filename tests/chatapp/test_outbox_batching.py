"""A transaction's outbox rows: held back and written in one statement just before it commits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from chatapp.broadcasting import Event
from chatapp.config import Settings
from chatapp.db import Connection, Database, connect
from chatapp.outbox import Outbox
from chatapp.schema import migrate
from tests.chatapp.procs import throwaway_database

KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _outbox() -> Outbox:
    return Outbox(Settings(reverb_app_id="1", reverb_key="k", reverb_secret="s"))


def _counting(conn: Connection, seen: list[str]) -> None:
    """Record the outbox INSERTs this connection runs."""
    execute = conn.execute

    async def spy(sql: str, *args: Any) -> int:
        if sql.startswith("INSERT INTO outbox"):
            seen.append(sql)
        return await execute(sql, *args)

    conn.execute = spy  # type: ignore[method-assign]


async def _rows(conn: Connection) -> list[tuple[str, str]]:
    return [(r["channel"], r["name"]) for r in await conn.fetch_all("SELECT channel, name FROM outbox ORDER BY id")]


def _run(kind: str, tmp_path: Path, body: Callable[[Database, Outbox], Awaitable[None]]) -> None:
    """``body`` on a fresh, migrated database of ``kind`` with an outbox that writes."""
    with throwaway_database(kind, tmp_path) as url:
        async def run() -> None:
            db = await connect(url)
            try:
                await migrate(db)
                await body(db, _outbox())
            finally:
                await db.close()

        asyncio.run(run())


@pytest.mark.parametrize("kind", KINDS)
def test_a_transactions_events_are_one_insert_in_order(kind: str, tmp_path: Path) -> None:
    async def body(db: Database, outbox: Outbox) -> None:
        inserts: list[str] = []
        async with db.transaction() as conn:
            _counting(conn, inserts)
            await outbox.add_events(conn, [Event("a", "first", "{}", None), Event("b", "second", "{}", None)])
            await outbox.add(conn, ["c"], "third", {})
            await outbox.add(conn, ["a", "b"], "fourth", {})
            assert inserts == []  # nothing written before the commit
        assert len(inserts) == 1
        assert await _rows(db) == [("a", "first"), ("b", "second"), ("c", "third"), ("a", "fourth"),
                                   ("b", "fourth")]

    _run(kind, tmp_path, body)


@pytest.mark.parametrize("kind", KINDS)
def test_held_events_go_with_a_rollback_and_show_after_flush(kind: str, tmp_path: Path) -> None:
    async def body(db: Database, outbox: Outbox) -> None:
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await outbox.add(conn, ["a"], "lost", {})
                raise RuntimeError("the change failed")
        assert await _rows(db) == []
        async with db.transaction() as conn:
            await outbox.add(conn, ["a"], "early", {})
            await conn.flush()  # e.g. before deleting a contact's pending rows
            assert await _rows(conn) == [("a", "early")]
            await conn.execute("DELETE FROM outbox")
            await outbox.add(conn, ["b"], "late", {})
        assert await _rows(db) == [("b", "late")]
        await outbox.add(db, ["c"], "outside", {})  # no transaction: written at once
        assert await _rows(db) == [("b", "late"), ("c", "outside")]

    _run(kind, tmp_path, body)
