"""Preloaded chat databases for the benchmark, built once and copied for every run.

A template is ``chatapp migrate`` plus the rows of :class:`bench.chat_data.History`,
bulk-loaded (SQLite: ``executemany`` in large transactions; PostgreSQL: ``COPY``)
with the message search index built once afterwards instead of row by row.
Templates are keyed by the migration files and the history's size, so a new
migration rebuilds them. Each run gets a throw-away copy (SQLite: a file copy;
PostgreSQL: ``CREATE DATABASE ... TEMPLATE``) that it may change freely.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench.chat_data import History, utc_now
from bench.servers import ROOT
from chatapp.schema import MIGRATIONS_DIR
from chatapp.status_totals import RECOUNT

__all__ = ["PG_ADMIN_URL", "CACHE_DIR", "migration_key", "prepare", "discard", "settle"]

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CACHE_DIR = ROOT / "var" / "bench-chat"
_BATCH = 50_000
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # chatapp.db's SQLite timestamp text
_TEMPLATE_PREFIX = "chatapp_bench_tpl_"
_COPY_PREFIX = "chatapp_bench_run_"
Say = Callable[[str], None]


def migration_key() -> str:
    """Names and contents of every migration file: a changed schema means a new template."""
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _migrate(url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    result = subprocess.run([sys.executable, "-m", "chatapp", "migrate"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"chatapp migrate failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")


def _batches(rows: Iterator[tuple[Any, ...]], size: int = _BATCH) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _room_rows(history: History, now: datetime) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """(rooms, messages) in batches of about ``_BATCH`` messages."""
    rooms: list[tuple[Any, ...]] = []
    messages: list[tuple[Any, ...]] = []
    for room, msgs in history.rooms_and_messages(now):
        rooms.append(room)
        messages.extend(msgs)
        if len(messages) >= _BATCH:
            yield rooms, messages
            rooms, messages = [], []
    if rooms:
        yield rooms, messages


_USER_COLS = ("id", "role", "name", "email", "created_at")
_ROOM_COLS = ("id", "user_id", "assigned_admin_id", "status", "priority", "subject", "last_message_at",
              "last_message_preview", "admin_unread_count", "created_at", "updated_at", "resolved_at", "closed_at",
              "first_response_at", "first_assigned_at")
_MESSAGE_COLS = ("id", "room_id", "sender_id", "sender_role", "body", "read_at", "created_at")


def _insert_sql(table: str, cols: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


# ------------------------------------------------------------------------------ SQLite


def _sqlite_value(value: Any) -> Any:
    return value.astimezone(UTC).strftime(_TS_FORMAT) if isinstance(value, datetime) else value


def _sqlite_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(_sqlite_value(v) for v in row) for row in rows]


def _load_sqlite(path: Path, history: History) -> None:
    """Rows in big transactions; the message search index is rebuilt once at the end."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        triggers = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'support_chat_messages'"
        ).fetchall()
        external = [name for (name, sql) in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"
        ).fetchall() if "'support_chat_messages'" in sql]
        now = utc_now()
        conn.execute("BEGIN")
        for name, _ in triggers:
            conn.execute(f'DROP TRIGGER "{name}"')
        for batch in _batches(history.users(now)):
            conn.executemany(_insert_sql("users", _USER_COLS), _sqlite_rows(batch))
        for rooms, messages in _room_rows(history, now):
            conn.executemany(_insert_sql("support_chat_rooms", _ROOM_COLS), _sqlite_rows(rooms))
            conn.executemany(_insert_sql("support_chat_messages", _MESSAGE_COLS), _sqlite_rows(messages))
        for table in external:
            conn.execute(f'INSERT INTO "{table}" ("{table}") VALUES (\'rebuild\')')
        for _, sql in triggers:
            conn.execute(sql)
        # Every search index merged into one segment: a live index has been merged all along
        # (chatapp.search_merge), and a run should not spend its time paying off a bulk load's
        # merging (its first minute went to that, and the cost comparison with it).
        for (table,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%fts5%'"
        ).fetchall():
            conn.execute(f'INSERT INTO "{table}" ("{table}") VALUES (\'optimize\')')
        for statement in RECOUNT:  # one row per status, as chatapp's folding keeps a live ledger
            conn.execute(statement)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


def _sqlite_template(history: History, say: Say) -> Path:
    path = CACHE_DIR / f"sqlite-{migration_key()}-{history.key}.sqlite3"
    if path.exists():
        return path
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for old in CACHE_DIR.glob(f"sqlite-*-{history.key}.sqlite3*"):
        old.unlink()
    building = path.with_suffix(f".building-{secrets.token_hex(4)}")  # two builders never share a file
    started = time.monotonic()
    say(f"   building the SQLite template: {history.rooms:,} rooms, {history.messages:,} messages ...")
    _migrate(f"sqlite:///{building}")
    _load_sqlite(building, history)
    for suffix in ("-wal", "-shm"):
        Path(f"{building}{suffix}").unlink(missing_ok=True)
    building.replace(path)
    say(f"   built in {time.monotonic() - started:.0f} s: {path}")
    return path


# -------------------------------------------------------------------------- PostgreSQL


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def _pg_admin(*statements: str) -> list[Any]:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        return [await conn.fetch(s) for s in statements]
    finally:
        await conn.close()


async def _load_postgres(url: str, history: History) -> None:
    """COPY with the message indexes dropped, then the indexes built once."""
    conn = await asyncpg.connect(url)
    try:
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'support_chat_messages' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        for row in indexes:
            await conn.execute(f'DROP INDEX "{row["indexname"]}"')
        now = utc_now()
        for batch in _batches(history.users(now)):
            await conn.copy_records_to_table("users", records=batch, columns=_USER_COLS)
        for rooms, messages in _room_rows(history, now):
            await conn.copy_records_to_table("support_chat_rooms", records=rooms, columns=_ROOM_COLS)
            await conn.copy_records_to_table("support_chat_messages", records=messages, columns=_MESSAGE_COLS)
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for row in indexes:
            await conn.execute(row["indexdef"])
        for table in ("users", "support_chat_rooms", "support_chat_messages"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        for statement in RECOUNT:  # one row per status, as chatapp's folding keeps a live ledger
            await conn.execute(statement)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def _pg_template(history: History, say: Say) -> str:
    suffix = history.key.replace("-", "_").lower()
    name = f"{_TEMPLATE_PREFIX}{migration_key()}_{suffix}"
    exists, olds = asyncio.run(_pg_admin(
        f"SELECT 1 FROM pg_database WHERE datname = '{name}'",
        f"SELECT datname FROM pg_database WHERE datname LIKE '{_TEMPLATE_PREFIX}%' AND datname <> '{name}'",
    ))
    if exists:
        return name
    for old in olds:
        if old["datname"].endswith(suffix):  # the same history on an older schema
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{old["datname"]}" WITH (FORCE)'))
    building = f"chatapp_bench_build_{secrets.token_hex(4)}"  # names stop at 63 bytes
    started = time.monotonic()
    say(f"   building the PostgreSQL template: {history.rooms:,} rooms, {history.messages:,} messages ...")
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)',
                          f"CREATE DATABASE \"{building}\" ENCODING 'UTF8' LC_CTYPE 'C.UTF-8' "
                          "LC_COLLATE 'C.UTF-8' TEMPLATE template0"))
    _migrate(_pg_url(building))
    asyncio.run(_load_postgres(_pg_url(building), history))
    try:
        asyncio.run(_pg_admin(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
    except asyncpg.DuplicateDatabaseError:  # another run built the same template meanwhile
        asyncio.run(_pg_admin(f'DROP DATABASE "{building}" WITH (FORCE)'))
    say(f"   built in {time.monotonic() - started:.0f} s: database {name}")
    return name


# ------------------------------------------------------------------------------- runs


def prepare(database: str, history: History, say: Say) -> str:
    """A fresh copy of the preloaded database for one run; returns its DATABASE_URL."""
    token = secrets.token_hex(5)
    if database == "sqlite":
        template = _sqlite_template(history, say)
        copy = CACHE_DIR / f"run-{token}.sqlite3"
        shutil.copyfile(template, copy)
        return f"sqlite:///{copy}"
    template_name = _pg_template(history, say)
    name = f"{_COPY_PREFIX}{token}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    return _pg_url(name)


async def settle(url: str) -> None:
    """PostgreSQL: the statistics a running server would have by now (autovacuum analyses
    within a minute), taken after the benchmark's clients signed in. Without them the
    planner costs the sessions table as empty and may keep scanning it for every request."""
    if url.startswith("sqlite"):
        return  # nothing analyses a running SQLite file either
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def discard(url: str) -> None:
    """Drop a run's copy (the templates stay)."""
    if url.startswith("sqlite"):
        path = Path(url.split("://", 1)[1][1:])
        for each in path.parent.glob(f"{path.name}*"):  # the file, its WAL and chatapp's lock files
            each.unlink(missing_ok=True)
        return
    name = url.rsplit("/", 1)[1]
    if name.startswith(_COPY_PREFIX):
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
