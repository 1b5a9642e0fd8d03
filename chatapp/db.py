"""A tiny async database layer over two drivers: aiosqlite and asyncpg.

Both drivers turn "the database cannot answer right now" (SQLite locked by another
process, PostgreSQL restarting or unreachable) into :class:`DatabaseUnavailable`,
which the app answers with 503: a transient fault is never a 500, and a
transaction it interrupts is rolled back whole.

The repository writes one SQL text with ``?`` placeholders; the PostgreSQL driver
rewrites them to ``$1, $2, ...``. Rows come back as plain dicts, and timestamps
are aware UTC ``datetime`` objects on both drivers: SQLite stores them as
fixed-width ISO text (so they sort as text) and every column named ``*_at`` or
``*_until`` is parsed back.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import aiosqlite
import asyncpg

__all__ = [
    "Database",
    "Connection",
    "Row",
    "IntegrityError",
    "DatabaseUnavailable",
    "connect",
    "utcnow",
    "Dialect",
    "DEFAULT_TIMEOUT",
    "LOCK_MIGRATE",
    "LOCK_ROUTING",
    "LOCK_RELAY",
]

Row = dict[str, Any]
# PostgreSQL advisory lock ids, one per kind of work done by one instance at a time. Distinct:
# the relay holds its lock for as long as its connection lives.
LOCK_MIGRATE = 7_244_101  # chatapp migrate (chatapp.schema)
LOCK_ROUTING = 7_244_102  # assigning chats (chatapp.routing)
LOCK_RELAY = 7_244_103  # sending the outbox (chatapp.outbox)
Dialect = Literal["sqlite", "postgres"]
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# Seconds a statement waits for a locked SQLite database or a PostgreSQL connection.
DEFAULT_TIMEOUT = 5.0


class IntegrityError(Exception):
    """A constraint (unique, foreign key, check) rejected the statement."""


class DatabaseUnavailable(Exception):  # noqa: N818 (a state a caller retries on)
    """The database cannot answer now (locked, restarting, unreachable); a retry may succeed."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class Connection:
    """Query methods shared by a plain database handle and a transaction."""

    dialect: Dialect
    # Set on the connection a transaction yields: callbacks to run once it has committed.
    _on_commit: list[Callable[[], None]] | None = None
    # Set likewise: writes held back until just before the commit (chatapp.outbox batches its rows).
    _before_commit: list[Callable[[], Awaitable[None]]] | None = None

    @property
    def in_transaction(self) -> bool:
        """Whether this is the connection a transaction yields (not a pool or a plain handle)."""
        return self._on_commit is not None

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this connection's transaction commits; at once outside a transaction."""
        if self._on_commit is None:
            callback()
        else:
            self._on_commit.append(callback)

    def before_commit(self, write: Callable[[], Awaitable[None]]) -> None:
        """Run ``write`` in this transaction just before it commits (or at :meth:`flush`)."""
        assert self._before_commit is not None, "before_commit() needs a transaction"
        self._before_commit.append(write)

    async def flush(self) -> None:
        """Do the writes held back for the commit now: a statement that reads or deletes what they
        write must see them."""
        while self._before_commit:
            await self._before_commit.pop(0)()

    def _begun(self) -> None:
        self._on_commit = []
        self._before_commit = []

    def _committed(self) -> None:
        for callback in self._on_commit or ():
            callback()

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
        return value.astimezone(UTC).strftime(_TS_FORMAT)
    return value


# Primary result codes that mean "try again later": SQLITE_BUSY, SQLITE_LOCKED.
_SQLITE_TRANSIENT = {5, 6}


@contextmanager
def _sqlite_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(str(exc)) from exc
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _SQLITE_TRANSIENT:
            raise DatabaseUnavailable(f"SQLite: {exc}") from exc
        raise


def _sqlite_row(cursor: sqlite3.Cursor, raw: tuple[Any, ...]) -> Row:
    row: Row = {}
    for (name, *_), value in zip(cursor.description, raw, strict=True):
        if name.endswith(("_at", "_until")) and isinstance(value, str):
            value = datetime.fromisoformat(value)
        row[name] = value
    return row


class _SqliteConn(Connection):
    dialect: Dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        rows: list[Row] = await self._statement(sql, args, fetch=True)
        return rows

    async def execute(self, sql: str, *args: Any) -> int:
        changed: int = await self._statement(sql, args, fetch=False)
        return changed

    async def _statement(self, sql: str, args: Sequence[Any], *, fetch: bool) -> Any:
        """One statement, whole, in one trip to the connection's thread.

        aiosqlite's cursor API takes three (execute, fetch, close), each a handoff to its thread
        and a wakeup of the event loop: 136 µs of CPU per statement against 52 µs in one trip,
        and a message is a dozen statements on SQLite. The trip is aiosqlite's own queue
        (``Connection._execute``, what its cursors use; the version is pinned in constraints.txt).
        """
        params = [_sqlite_param(a) for a in args]
        with _sqlite_errors():
            return await self._conn._execute(  # type: ignore[no-untyped-call]  # untyped in aiosqlite
                _run_statement, self._conn._conn, sql, params, fetch)


def _run_statement(conn: sqlite3.Connection, sql: str, params: list[Any], fetch: bool) -> Any:
    """On the connection's thread: the rows ``sql`` returns, or the number it changed."""
    cursor = conn.execute(sql, params)
    try:
        return cursor.fetchall() if fetch else cursor.rowcount
    finally:
        cursor.close()


class SqliteDatabase(Database, _SqliteConn):
    """One connection in autocommit mode; a lock keeps transactions whole.

    A statement waits at most ``timeout`` seconds for its turn on the connection and
    as long again for another process's write lock, so a locked file costs a request
    a bounded wait and a 503, not a hang.
    """

    def __init__(self, url: str, conn: aiosqlite.Connection, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(conn)
        self.url = url
        self._lock = asyncio.Lock()
        self._timeout = timeout
        self._busy_ms = max(1, round(timeout * 1000))  # how long a write waits for another connection's lock
        self._writes_beside: SqliteDatabase | None = None  # see write_beside
        self.checkpoints_elsewhere = False  # see hand_checkpoints_over

    async def hand_checkpoints_over(self) -> None:
        """This connection's commits no longer copy the write-ahead log into the database file
        (``wal_autocheckpoint`` 0): chatapp.wal_checkpoint does it on a connection of its own."""
        await self._conn.execute("PRAGMA wal_autocheckpoint=0")
        self.checkpoints_elsewhere = True

    async def write_beside(self, busier: SqliteDatabase) -> None:
        """Take ``busier``'s turn for this connection's transactions: both are this process's
        connections to one file, and ``busier`` writes all the time (the requests').

        Two connections of one process otherwise meet only at the file's write lock, where the one
        that finds it taken sleeps in SQLite's busy handler (up to 100 ms between tries) while the
        other takes it again and again: at 200 messages/s on SQLite the outbox relay's deletes lost
        that race for hundreds of milliseconds while every request's write went through. Holding
        ``busier``'s turn, this connection writes between two of its statements, in line with
        them. Only when another process holds the lock does it wait, without that turn, so the
        requests' reads go on meanwhile. A checkpoint in this connection's commit would hold
        ``busier``'s turn too, so this connection checkpoints where ``busier`` does.
        """
        self._writes_beside = busier
        if busier.checkpoints_elsewhere:
            await self.hand_checkpoints_over()

    @classmethod
    async def open(cls, url: str, timeout: float = DEFAULT_TIMEOUT) -> SqliteDatabase:
        path = sqlite_path(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = _sqlite_row  # type: ignore[assignment]  # typed as a class; sqlite3 takes any callable
        db = cls(url, conn, timeout)
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", f"busy_timeout={db._busy_ms}", "synchronous=NORMAL"):
            await conn.execute(f"PRAGMA {pragma}")
        return db

    async def _acquire(self) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._lock.acquire()
        except TimeoutError:
            raise DatabaseUnavailable("SQLite: the database is busy") from None

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        await self._acquire()
        try:
            yield
        finally:
            self._lock.release()

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        async with self._turn():
            return await super().fetch_all(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._turn():
            return await super().execute(sql, *args)

    async def changes_if_unlocked(self, sql: str, *args: Any) -> int | None:
        """Background work's write: run ``sql`` only if no other connection holds the file's write
        lock (no busy wait, so the requests queued for this connection never wait behind a lock
        held elsewhere); the rows it changed, counting what its triggers and virtual tables
        changed (SQLite's total_changes, how an FTS5 'merge' tells whether it did any work), or
        None when the lock was taken."""
        async with self._turn(), self._no_busy_wait():
            before = self._conn.total_changes
            try:
                await _SqliteConn.execute(self, sql, *args)
            except DatabaseUnavailable:
                return None
            return self._conn.total_changes - before

    @asynccontextmanager
    async def _no_busy_wait(self) -> AsyncIterator[None]:
        """Statements that fail at once with SQLITE_BUSY where they would wait for the write lock."""
        await self._conn.execute("PRAGMA busy_timeout=0")
        try:
            yield
        finally:
            await self._conn.execute(f"PRAGMA busy_timeout={self._busy_ms}")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._turn():
            beside = await self._begin()
            try:
                tx = _SqliteConn(self._conn)
                tx._begun()
                try:
                    yield tx
                    await tx.flush()
                    with _sqlite_errors():
                        await self._conn.execute("COMMIT")
                except BaseException:
                    await self._rollback()
                    raise
            finally:
                if beside is not None:
                    beside._lock.release()
        tx._committed()

    async def _begin(self) -> SqliteDatabase | None:
        """BEGIN IMMEDIATE; the connection whose turn is now held until the end (write_beside), if any."""
        beside = self._writes_beside
        if beside is not None:
            await beside._acquire()
            try:
                begun = await self._begin_if_unlocked()
            except BaseException:
                beside._lock.release()
                raise
            if begun:
                return beside
            beside._lock.release()  # another process writes: wait for it without holding up ``beside``
        with _sqlite_errors():
            await self._conn.execute("BEGIN IMMEDIATE")
        return None

    async def _begin_if_unlocked(self) -> bool:
        async with self._no_busy_wait():
            try:
                with _sqlite_errors():
                    await self._conn.execute("BEGIN IMMEDIATE")
            except DatabaseUnavailable:
                return False
            return True

    async def _rollback(self) -> None:
        """Undo an open transaction; a failed COMMIT must not leave one open for the next caller."""
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                await self._conn.execute("ROLLBACK")

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


# Errors that say "the server is gone or refusing work for now", not "your SQL is wrong".
_PG_TRANSIENT = (
    OSError,  # refused, reset, unreachable; a connect timeout is a TimeoutError, an OSError too
    asyncpg.PostgresConnectionError,  # class 08, and a connection lost mid-statement
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutdown, terminated, starting up
    asyncpg.exceptions.InsufficientResourcesError,  # class 53: too many connections, disk full
    # The server's goodbye arrived while a statement was in flight ("another operation is in progress").
    asyncpg.InternalClientError,
)


def _is_lost(conn: Any) -> bool:
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:  # a pool's proxy lets go of a connection that died
        return True


@contextmanager
def _pg_errors(conn: Any = None) -> Iterator[None]:
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(str(exc)) from exc
    except _PG_TRANSIENT as exc:
        raise DatabaseUnavailable(f"PostgreSQL: {exc}") from exc
    except asyncpg.InterfaceError as exc:
        # Using a connection the server has just closed ("the underlying connection is closed").
        if conn is not None and _is_lost(conn):
            raise DatabaseUnavailable(f"PostgreSQL: {exc}") from exc
        raise


class _PgConn(Connection):
    dialect: Dialect = "postgres"

    def __init__(self, conn: Any) -> None:
        self._conn = conn  # an asyncpg Connection or Pool: both have fetch/execute

    def _closed_probe(self) -> Any:
        return None if isinstance(self._conn, asyncpg.Pool) else self._conn

    async def fetch_all(self, sql: str, *args: Any) -> list[Row]:
        with _pg_errors(self._closed_probe()):
            return [dict(r) for r in await self._conn.fetch(to_dollar_placeholders(sql), *args)]

    async def execute(self, sql: str, *args: Any) -> int:
        with _pg_errors(self._closed_probe()):
            return _pg_rowcount(await self._conn.execute(to_dollar_placeholders(sql), *args))


async def _no_session_state_to_reset(conn: asyncpg.Connection) -> None:
    """What a connection needs before it goes back to the pool: nothing more than asyncpg's own
    rollback of an unfinished transaction, which runs before this.

    asyncpg's default sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on
    every release: one round trip more for each statement outside a transaction and for each
    transaction (four of them per chat message). chatapp leaves no session state on a pooled
    connection: its advisory locks there are transaction locks (``pg_advisory_xact_lock``; the
    relay's session lock lives on a connection of its own, :meth:`PostgresDatabase.session`),
    its settings ``SET LOCAL``, and it neither listens nor keeps cursors.
    """


@asynccontextmanager
async def _pg_transaction(conn: asyncpg.Connection) -> AsyncIterator[_PgConn]:
    """A transaction on ``conn``: committed after the held-back writes, rolled back on any error."""
    tx = conn.transaction()
    with _pg_errors(conn):
        await tx.start()
    tx_conn = _PgConn(conn)
    tx_conn._begun()
    try:
        yield tx_conn
        await tx_conn.flush()
        with _pg_errors(conn):
            await tx.commit()
    except BaseException:
        if not _is_lost(conn):  # a lost connection was rolled back by the server
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                await tx.rollback()
        raise


class PostgresDatabase(Database, _PgConn):
    def __init__(self, url: str, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.url = url
        self._pool = pool

    @classmethod
    async def open(cls, url: str, max_size: int = 10, timeout: float = DEFAULT_TIMEOUT) -> PostgresDatabase:
        # ``timeout`` bounds each (re)connect, so an unreachable server answers 503 in seconds.
        # Two connections stay open however idle the desk is: a search reads messages and rooms
        # at once (chatapp.inbox_queries), and a connection opened for it would cost more
        # (20-100 ms with a cold backend) than reading the two one after the other.
        pool = await asyncpg.create_pool(
            url, min_size=min(2, max_size), max_size=max_size, timeout=timeout, reset=_no_session_state_to_reset
        )
        return cls(url, pool)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        with _pg_errors():
            conn = await self._pool.acquire()
        try:
            async with _pg_transaction(conn) as tx_conn:
                yield tx_conn
        finally:
            await self._pool.release(conn)
        tx_conn._committed()

    async def close(self) -> None:
        await self._pool.close()

    async def session(
        self, timeout: float = DEFAULT_TIMEOUT, settings: dict[str, str] | None = None
    ) -> PostgresSession:
        """A connection of its own, outside the pool, for state that lives as long as it does
        (a session advisory lock), with these server ``settings``."""
        with _pg_errors():
            conn = await asyncpg.connect(self.url, timeout=timeout, server_settings=settings)
        return PostgresSession(self.url, conn)


class PostgresSession(Database, _PgConn):
    """One PostgreSQL connection, autocommit between its transactions; see :meth:`PostgresDatabase.session`."""

    def __init__(self, url: str, conn: asyncpg.Connection) -> None:
        super().__init__(conn)
        self.url = url

    def lost(self) -> bool:
        return _is_lost(self._conn)

    def _closed_probe(self) -> Any:
        return self._conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with _pg_transaction(self._conn) as tx_conn:
            yield tx_conn
        tx_conn._committed()

    async def close(self) -> None:
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await self._conn.close(timeout=2)


async def connect(url: str, timeout: float = DEFAULT_TIMEOUT) -> Database:
    """Open the database ``url`` names (``sqlite://...`` or ``postgresql://...``).

    ``timeout``: seconds a statement waits for a lock or a connection before
    :class:`DatabaseUnavailable`.
    """
    if url.startswith("sqlite://"):
        return await SqliteDatabase.open(url, timeout)
    if url.startswith(("postgres://", "postgresql://")):
        return await PostgresDatabase.open(url, timeout=timeout)
    raise ValueError(f"unsupported DATABASE_URL scheme: {url.split(':', 1)[0]!r}")


def placeholders(values: Sequence[Any]) -> str:
    """``?, ?, ?`` for an IN list."""
    return ", ".join("?" for _ in values)
