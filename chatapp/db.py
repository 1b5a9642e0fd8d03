"""A tiny async database layer over two drivers: aiosqlite and asyncpg.

The repository writes one SQL text with ``?`` placeholders; the PostgreSQL driver
rewrites them to ``$1, $2, ...``. Rows come back as plain dicts, and timestamps
are aware UTC ``datetime`` objects on both drivers: SQLite stores them as
fixed-width ISO text (so they sort as text) and every column named ``*_at`` is
parsed back.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import aiosqlite
import asyncpg

__all__ = ["Database", "Connection", "Row", "IntegrityError", "connect", "utcnow", "Dialect"]

Row = dict[str, Any]
Dialect = Literal["sqlite", "postgres"]
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class IntegrityError(Exception):
    """A constraint (unique, foreign key, check) rejected the statement."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Connection:
    """Query methods shared by a plain database handle and a transaction."""

    dialect: Dialect

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        raise NotImplementedError

    async def fetch_one(self, sql: str, *args: Any) -> Row | None:
        rows = await self.fetch_all(sql, *args)
        return rows[0] if rows else None

    async def fetch_val(self, sql: str, *args: Any) -> Any:
        row = await self.fetch_one(sql, *args)
        return None if row is None else next(iter(row.values()))

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; return the number of rows it changed."""
        raise NotImplementedError


class Database(Connection):
    """A connection pool (PostgreSQL) or one serialised connection (SQLite)."""

    url: str

    def transaction(self) -> Any:  # an async context manager yielding a Connection
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------- SQLite


def _sqlite_param(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime(_TS_FORMAT)
    return value


def _sqlite_row(cursor: sqlite3.Cursor, raw: tuple[Any, ...]) -> Row:
    row: Row = {}
    for (name, *_), value in zip(cursor.description, raw):
        if name.endswith("_at") and isinstance(value, str):
            value = datetime.fromisoformat(value)
        row[name] = value
    return row


class _SqliteConn(Connection):
    dialect: Dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        try:
            async with self._conn.execute(sql, [_sqlite_param(a) for a in args]) as cursor:
                return list(await cursor.fetchall())  # type: ignore[arg-type]
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            async with self._conn.execute(sql, [_sqlite_param(a) for a in args]) as cursor:
                return cursor.rowcount
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc


class SqliteDatabase(Database, _SqliteConn):
    """One connection in autocommit mode; a lock keeps transactions whole."""

    def __init__(self, url: str, conn: aiosqlite.Connection) -> None:
        super().__init__(conn)
        self.url = url
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, url: str) -> "SqliteDatabase":
        path = sqlite_path(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = _sqlite_row
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=10000", "synchronous=NORMAL"):
            await conn.execute(f"PRAGMA {pragma}")
        return cls(url, conn)

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        async with self._lock:
            return await super().fetch_all(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._lock:
            return await super().execute(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteConn(self._conn)
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def close(self) -> None:
        await self._conn.close()


def sqlite_path(url: str) -> str:
    """``sqlite:///var/x.db`` is relative, ``sqlite:////srv/x.db`` absolute."""
    rest = url.split("://", 1)[1]
    if not rest.startswith("/"):
        raise ValueError("a SQLite DATABASE_URL looks like sqlite:///relative/path or sqlite:////absolute/path")
    return rest[1:] or ":memory:"


# ----------------------------------------------------------------------- PostgreSQL


@lru_cache(maxsize=512)
def to_dollar_placeholders(sql: str) -> str:
    """Rewrite ``?`` to ``$n`` outside quoted strings and identifiers."""
    out: list[str] = []
    n = 0
    for part in re.split(r"('(?:[^']|'')*'|\"[^\"]*\")", sql):
        if part.startswith(("'", '"')):
            out.append(part)
            continue
        pieces = part.split("?")
        for i, piece in enumerate(pieces):
            if i:
                n += 1
                out.append(f"${n}")
            out.append(piece)
    return "".join(out)


def _pg_rowcount(status: str) -> int:
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class _PgConn(Connection):
    dialect: Dialect = "postgres"

    def __init__(self, conn: Any) -> None:
        self._conn = conn  # an asyncpg Connection or Pool: both have fetch/execute

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        try:
            return [dict(r) for r in await self._conn.fetch(to_dollar_placeholders(sql), *args)]
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            return _pg_rowcount(await self._conn.execute(to_dollar_placeholders(sql), *args))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(str(exc)) from exc


class PostgresDatabase(Database, _PgConn):
    def __init__(self, url: str, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.url = url
        self._pool = pool

    @classmethod
    async def open(cls, url: str, max_size: int = 10) -> "PostgresDatabase":
        pool = await asyncpg.create_pool(url, min_size=1, max_size=max_size)
        return cls(url, pool)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                yield _PgConn(conn)

    async def close(self) -> None:
        await self._pool.close()


async def connect(url: str) -> Database:
    """Open the database ``url`` names (``sqlite://...`` or ``postgresql://...``)."""
    if url.startswith("sqlite://"):
        return await SqliteDatabase.open(url)
    if url.startswith(("postgres://", "postgresql://")):
        return await PostgresDatabase.open(url)
    raise ValueError(f"unsupported DATABASE_URL scheme: {url.split(':', 1)[0]!r}")


def placeholders(values: Sequence[Any]) -> str:
    """``?, ?, ?`` for an IN list."""
    return ", ".join("?" for _ in values)
