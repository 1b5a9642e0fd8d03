"""The transactional outbox: durable realtime events and the relay that delivers them.

``Outbox.add(conn, ...)`` writes an event as a row in the caller's transaction, so
an event exists exactly when the change it announces was committed. The
:class:`Relay` posts pending rows to pyreverb (``batch_events``, at most ten per
request) and deletes the rows pyreverb took, together at the end of each pass.

Order. The relay always works on the head of the queue (``ORDER BY id``) and never
sends a row while an older one waits, so events reach a channel in the order they
were written. A failed request postpones the head with back-off (0.5 s doubling to
15 s) until a row is older than ``CHATAPP_OUTBOX_MAX_AGE`` (default 24 h): then it is
dropped with a log line. A request pyreverb refuses as malformed (4xx) is retried
one row at a time, and only the refused rows are dropped.

Stored messages. A row may name a message (``message_id``) instead of carrying it: a message
stored by one PostgreSQL statement (``repository.store_in_active_room``) queues its events in
that statement, before any Python has seen the row. The relay renders such rows when it sends
(``Relay.render_stored``, chatapp.events): the message as the API shows it and, on the admin
feed, its room's summary as it is then, never older than the message. A row whose message was
erased meanwhile is dropped like a stale one.

Linger. A commit wakes the relay, but a pass starts at least ``CHATAPP_OUTBOX_LINGER``
(10 ms) after the one before it: a pass costs the same statements and requests for one
event as for fifty, so under load the events of several messages share one, while the
first event after a quiet spell goes at once.

One sender. On PostgreSQL the relay keeps a connection of its own outside the pool and
takes the session lock ``pg_try_advisory_lock`` on it: the instance that holds it
sends, the others try again at each poll. The server releases the lock when that
connection ends, so when the sending instance dies or loses its database, another
takes over. Holding it for the connection's life, not per pass, makes a pass two
statements (read the head, delete what went out) instead of a transaction of five.
(``FOR UPDATE SKIP LOCKED`` alone would let two instances send consecutive rows of one
channel at the same time, in either order.) On SQLite the relay holds an exclusive
``flock`` on ``<database>.relay.lock``, which the kernel releases when the process
dies, so a second process on the same file takes over.

Delivery is at least once: a relay that dies after pyreverb took a batch and
before its rows were deleted sends them again (at most a pass, ``HEAD`` rows, once
more), and so does one whose last deletes a PostgreSQL crash lost (the relay's
connection commits without waiting for the disk: a delete only saves a resend).
Clients drop repeats: messages by id, admin-feed events by ``feed_seq`` (below).

Feed sequence. Every event on the admin feed leaves the outbox with ``feed_seq``,
one more than the one before it (kept in ``outbox_sequences`` and advanced in the
same step that deletes the row, for dropped rows too). An inbox that sees a number
skipped knows it missed something and reloads its list.

Hints stay out of the outbox: typing indicators and dashboard statistics are
superseded within seconds by the next one or by the client's own resync, so a row
per keystroke or per statistics change would cost writes and relay traffic for
nothing; they go through ``Broadcaster.publish``. A visitor's unread counter is a
row: the widget counts the messages it sees and must get the absolute number
after them, in the same order.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson

from chatapp.broadcasting import Broadcaster, DeliveryError, Event, batches
from chatapp.config import Settings
from chatapp.db import (
    LOCK_RELAY,
    Connection,
    Database,
    DatabaseUnavailable,
    PostgresDatabase,
    PostgresSession,
    Row,
    SqliteDatabase,
    connect,
    placeholders,
    sqlite_path,
    utcnow,
)
from chatapp.policy import ADMIN_CHANNEL

__all__ = ["FEED_CHANNELS", "Outbox", "Relay", "status"]

log = logging.getLogger("chatapp.outbox")

FEED_CHANNELS = frozenset({ADMIN_CHANNEL})  # channels whose events carry ``feed_seq``
HEAD = 50  # rows one relay pass reads
FIRST_RETRY = 0.5
LAST_RETRY = 15.0
AFTER_DATABASE_ERROR = 1.0
# The relay's own PostgreSQL connection. Its deletes need not wait for the disk: one lost in a
# crash only sends its rows again (with the same feed numbers, lost with it), and clients drop
# repeats. A sender whose host vanished without closing the connection would keep the lock
# until the server noticed; the server ends a session idle for a minute instead (a live relay
# runs a statement at least every LAST_RETRY seconds), and the lock goes with it.
SESSION_SETTINGS = {"synchronous_commit": "off", "idle_session_timeout": "60s"}
# The head of the queue, with the last feed number of each row's channel (NULL off the feeds).
_HEAD = (
    "SELECT o.id, o.channel, o.name, o.data, o.socket_id, o.created_at, o.attempts, o.next_attempt_at, "
    "o.message_id, s.last_seq FROM outbox o LEFT JOIN outbox_sequences s ON s.channel = o.channel ORDER BY o.id LIMIT ?"
)


# Renders rows that name a stored message: (message id, the row's data) in, each event's data out,
# None where the message is gone. Set by whoever knows the events' shapes (chatapp.app).
RenderStored = Callable[[Connection, list[tuple[int, str]]], Awaitable[list[str | None]]]


@dataclass
class OutboxRow:
    id: int
    event: Event
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    message_id: int | None = None  # the event is rendered from this message when sent

    @classmethod
    def of(cls, row: Row) -> OutboxRow:
        event = Event(row["channel"], row["name"], row["data"], row["socket_id"])
        message_id = row.get("message_id")
        return cls(int(row["id"]), event, row["created_at"], int(row["attempts"]), row["next_attempt_at"],
                   None if message_id is None else int(message_id))


class Outbox:
    """Writes events in the caller's transaction and wakes this process's relay when it commits."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.reverb_configured
        self.relay: Relay | None = None
        # Per open transaction; a rolled-back one's list goes with its connection object.
        self._held: weakref.WeakKeyDictionary[Connection, list[Event]] = weakref.WeakKeyDictionary()

    async def add(
        self, conn: Connection, channels: list[str], name: str, data: dict[str, Any], socket_id: str | None = None
    ) -> None:
        encoded = orjson.dumps(data).decode()
        await self.add_events(conn, [Event(channel, name, encoded, socket_id) for channel in channels])

    async def add_events(self, conn: Connection, events: list[Event]) -> None:
        """Events of a change, queued in the order given.

        In a transaction they are held back and written with every other event of the
        transaction in one statement just before it commits: a reply that takes a chat
        announces the message, the room, the assignment and the visitor's unread count, one
        round trip instead of four. Order is kept, and a row still exists exactly when the
        change committed.
        """
        if not self.enabled or not events:
            return
        if not conn.in_transaction:
            await self._write(conn, events)
            return
        held = self._held.get(conn)
        if held is None:
            held = self._held[conn] = []

            async def write() -> None:
                await self._write(conn, self._held.pop(conn))

            conn.before_commit(write)
        held.extend(events)

    def written(self) -> None:
        """Rows were written and committed by a statement of the caller's own
        (repository.store_in_active_room, outside any transaction): wake the relay."""
        if self.relay is not None:
            self.relay.wake()

    async def _write(self, conn: Connection, events: list[Event]) -> None:
        now = utcnow()
        await conn.execute(
            "INSERT INTO outbox (channel, name, data, socket_id, created_at, next_attempt_at) VALUES "
            + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(events)),
            *(value for e in events for value in (e.channel, e.name, e.data, e.socket_id, now, now)),
        )
        if self.relay is not None:
            conn.after_commit(self.relay.wake)


async def status(db: Connection) -> dict[str, Any]:
    """Depth and age of the queue, for operators."""
    row = await db.fetch_one("SELECT COUNT(*) AS depth, MIN(id) AS head FROM outbox")
    depth = int(row["depth"]) if row else 0
    head = await db.fetch_one(
        "SELECT created_at, attempts, last_error FROM outbox WHERE id = ?", row["head"]
    ) if row and row["head"] is not None else None
    age = (utcnow() - head["created_at"]).total_seconds() if head else 0.0
    feed_seq = await db.fetch_val("SELECT last_seq FROM outbox_sequences WHERE channel = ?", ADMIN_CHANNEL)
    return {
        "feed_seq": int(feed_seq or 0),  # the admin feed's last number: where an inbox starts counting
        "depth": depth,
        "oldest_age_seconds": round(max(0.0, age), 3),
        "head_attempts": int(head["attempts"]) if head else 0,
        "last_error": head["last_error"] if head else None,
    }


class _Leadership(Protocol):
    def held(self) -> bool: ...
    def release(self) -> None: ...


class _FileLock:
    """SQLite: one relay per database file, held until this process ends or stops."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    def held(self) -> bool:
        if self.fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the lock
            self.fd = None


class _Alone:
    """An in-memory SQLite database: nobody else can see the rows."""

    def held(self) -> bool:
        return True

    def release(self) -> None:
        pass


class Relay:
    """Delivers pending outbox rows to pyreverb; see the module docstring for the rules."""

    def __init__(self, settings: Settings, db: Database, broadcaster: Broadcaster) -> None:
        self.settings = settings
        self.db = db
        self.broadcaster = broadcaster
        self.max_age = timedelta(seconds=settings.outbox_max_age)
        self.poll_interval = settings.outbox_poll_interval
        # A pass woken by a commit starts at least this long after the one before it. A pass costs
        # the same few statements and requests for one event as for fifty, so under load the
        # events of several messages share it; after a quiet spell the first commit goes at once.
        self.linger = settings.outbox_linger
        self.render_stored: RenderStored | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._leadership: _Leadership | None = None
        if db.dialect == "sqlite":
            path = sqlite_path(db.url)
            self._leadership = _Alone() if path == ":memory:" else _FileLock(path + ".relay.lock")
        self._own_db = False
        self._session: PostgresSession | None = None  # PostgreSQL: the connection the lock lives on
        self._leading = False  # PostgreSQL: that connection holds the relay's lock
        self._seqs: dict[str, int] = {}  # during a pass: each feed's last number given out
        self._delivered = _Delivered()  # during a pass: rows delivered and not yet deleted
        self.delivered = 0
        self.expired = 0
        self.rejected = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start relaying. On a SQLite file the relay uses a connection of its own: its writes, when
        another process holds the write lock, then wait there and never hold up the requests. It
        writes in turn with the requests' connection (SqliteDatabase.write_beside)."""
        if isinstance(self._leadership, _FileLock):
            requests_db = self.db
            self.db = await connect(self.db.url, self.settings.db_timeout)
            self._own_db = True
            if isinstance(self.db, SqliteDatabase) and isinstance(requests_db, SqliteDatabase):
                await self.db.write_beside(requests_db)
        self._task = asyncio.create_task(self._run(), name="chatapp-outbox-relay")

    async def stop(self) -> None:
        """Stop relaying; pending rows stay in the table for the next start."""
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._leadership:
            self._leadership.release()
        await self._end_session()
        if self._own_db:
            await self.db.close()

    def wake(self) -> None:
        """A transaction that wrote rows has committed: relay now rather than at the next poll."""
        self._wake.set()

    def counters(self) -> dict[str, int]:
        return {"delivered": self.delivered, "expired": self.expired, "rejected": self.rejected}

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_start = -self.linger
        while True:
            early = last_start + self.linger - loop.time()
            if early > 0:  # woken by a commit right after a pass: let more commits join the next
                await asyncio.sleep(early)
            last_start = loop.time()
            self._wake.clear()
            try:
                delay, backing_off = await self.relay_once()
            except DatabaseUnavailable as exc:
                log.warning("outbox relay: %s", exc)
                await self._end_session()
                delay, backing_off = AFTER_DATABASE_ERROR, True
            except Exception:
                log.exception("outbox relay pass failed")
                await self._end_session()
                delay, backing_off = AFTER_DATABASE_ERROR, True
            if delay <= 0:  # the head was full: the next rows are due now
                last_start = -self.linger
                continue
            if backing_off:  # new rows cannot jump the postponed head: no use waking early
                await asyncio.sleep(delay)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)

    # ------------------------------------------------------------------ one pass

    async def relay_once(self) -> tuple[float, bool]:
        """Deliver what is due; (seconds until the next pass is useful, whether that is a back-off)."""
        self._seqs = {}  # feed numbers are read afresh by every pass
        self._delivered = _Delivered()
        if self._leadership is None:  # PostgreSQL
            session = await self._lead()
            if session is None:
                return self.poll_interval, False  # another instance is relaying
            return await self._pass(session)
        if not self._leadership.held():
            return self.poll_interval, False
        return await self._pass(self.db)

    async def _lead(self) -> PostgresSession | None:
        """The relay's own connection when it holds the lock, else None (another instance does).

        The lock is taken in a statement before any head is read, so every head this relay reads
        comes after the last sender's final delete.
        """
        if self._session is not None and self._session.lost():
            await self._end_session()
        if self._session is None:
            assert isinstance(self.db, PostgresDatabase)
            self._session = await self.db.session(self.settings.db_timeout, SESSION_SETTINGS)
        if not self._leading:
            self._leading = bool(await self._session.fetch_val("SELECT pg_try_advisory_lock(?)", LOCK_RELAY))
        return self._session if self._leading else None

    async def _end_session(self) -> None:
        """Close the relay's own connection: the server lets go of the lock with it."""
        session, self._session, self._leading = self._session, None, False
        if session is not None:
            await session.close()

    @contextlib.asynccontextmanager
    async def _step(self, conn: Connection) -> AsyncIterator[Connection]:
        """Statements that must land together: a short transaction on the relay's connection."""
        if isinstance(conn, Database):
            async with conn.transaction() as tx:
                yield tx
        else:
            yield conn

    async def _pass(self, conn: Connection) -> tuple[float, bool]:
        found = await conn.fetch_all(_HEAD, HEAD)
        rows = [OutboxRow.of(r) for r in found]
        if not rows:
            return self.poll_interval, False
        for r in found:  # each feed's last number, read with the head
            if r["channel"] in FEED_CHANNELS:
                self._seqs.setdefault(r["channel"], int(r["last_seq"] or 0))
        now = utcnow()
        stale = [r for r in rows if now - r.created_at > self.max_age]
        if stale:
            await self._drop(conn, stale, f"older than {self.settings.outbox_max_age:g} s")
            self.expired += len(stale)
            gone = {r.id for r in stale}
            rows = [r for r in rows if r.id not in gone]
        if rows and rows[0].next_attempt_at > now:
            return (rows[0].next_attempt_at - now).total_seconds(), True
        rows, cut = await self._rendered(conn, rows)
        row_of = {id(r.event): r for r in rows}
        for batch in batches([r.event for r in rows]):
            outcome = await self._send(conn, [row_of[id(e)] for e in batch])
            if outcome is not None:
                return outcome, True
        await self._finish_delivered(conn)
        return (0.0 if cut or len(rows) + len(stale) >= HEAD else self.poll_interval), False

    async def _rendered(self, conn: Connection, rows: list[OutboxRow]) -> tuple[list[OutboxRow], bool]:
        """``rows`` with the events of stored messages rendered, and whether some were left for the
        next pass. A row whose message is gone is dropped in its place in line (so feed numbers
        stay in order): now if it leads, else the rows before it go first."""
        named = [r for r in rows if r.message_id is not None]
        if not named:
            return rows, False
        if self.render_stored is None:
            raise RuntimeError("outbox rows name stored messages but the relay has no renderer")
        rendered = await self.render_stored(conn, [(r.message_id or 0, r.event.data) for r in named])
        data_of = {r.id: data for r, data in zip(named, rendered, strict=True)}
        lead = 0
        while lead < len(rows) and rows[lead].id in data_of and data_of[rows[lead].id] is None:
            lead += 1
        if lead:
            await self._drop(conn, rows[:lead], "its message was erased")
        kept: list[OutboxRow] = []
        for row in rows[lead:]:
            if row.id in data_of:
                data = data_of[row.id]
                if data is None:
                    return kept, True
                row.event = Event(row.event.channel, row.event.name, data, row.event.socket_id)
            kept.append(row)
        return kept, False

    async def _send(self, conn: Connection, chunk: list[OutboxRow]) -> float | None:
        """Deliver ``chunk``; None, or the back-off when pyreverb could not take it."""
        seqs = await self._next_seqs(conn, chunk)
        try:
            await self.broadcaster.deliver([_numbered(r, seqs.get(r.id)) for r in chunk])
        except DeliveryError as exc:
            if not exc.permanent:
                return await self._postpone(conn, chunk, exc.problem)
            return await self._one_by_one(conn, chunk)
        self._took(chunk, seqs)
        return None

    async def _one_by_one(self, conn: Connection, chunk: list[OutboxRow]) -> float | None:
        """pyreverb refused the request as malformed: find the rows it refuses and drop only those."""
        for row in chunk:
            seqs = await self._next_seqs(conn, [row])
            try:
                await self.broadcaster.deliver([_numbered(row, seqs.get(row.id))])
            except DeliveryError as exc:
                if not exc.permanent:
                    return await self._postpone(conn, [row], exc.problem)
                await self._drop(conn, [row], f"refused by pyreverb: {exc.problem}")
                self.rejected += 1
                continue
            self._took([row], seqs)
        return None

    def _took(self, rows: list[OutboxRow], seqs: dict[int, int]) -> None:
        """pyreverb took ``rows``: they are deleted with the pass (:meth:`_finish_delivered`), and
        the feed numbers they got are the last ones given."""
        self._delivered.add(rows, seqs)
        self._seqs.update(_newest(rows, seqs))

    async def _finish_delivered(self, conn: Connection) -> None:
        """Delete the rows this pass delivered so far, in one step: a pass of fifty rows is five
        requests to pyreverb and one delete, not five (on SQLite each waits for its turn behind
        the requests). A relay that dies before it resends them, as the module docstring says."""
        done, self._delivered = self._delivered, _Delivered()
        if done.rows:
            await self._finish(conn, done.rows, done.seqs)
            self.delivered += len(done.rows)

    async def _postpone(self, conn: Connection, chunk: list[OutboxRow], problem: str) -> float:
        await self._finish_delivered(conn)
        attempts = chunk[0].attempts + 1
        delay: float = min(LAST_RETRY, FIRST_RETRY * 2.0 ** (attempts - 1))
        ids = [r.id for r in chunk]
        async with self._step(conn) as tx:
            await tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
                f"WHERE id IN ({placeholders(ids)})",
                utcnow() + timedelta(seconds=delay), problem[:500], *ids,
            )
        if attempts == 1 or attempts % 20 == 0:
            log.warning("outbox: pyreverb did not take %d events (attempt %d, %s); retrying",
                        len(chunk), attempts, problem)
        return delay

    async def _drop(self, conn: Connection, rows: list[OutboxRow], why: str) -> None:
        await self._finish_delivered(conn)  # feed numbers are stored in the order they were given
        seqs = await self._next_seqs(conn, rows)
        await self._finish(conn, rows, seqs)
        names = ", ".join(sorted({f"{r.event.name}@{r.event.channel}" for r in rows}))
        log.warning("outbox dropped %d events (%s): %s", len(rows), why, names)

    async def _next_seqs(self, conn: Connection, rows: list[OutboxRow]) -> dict[int, int]:
        """The feed numbers ``rows`` get when they leave the outbox (stored by :meth:`_finish`).

        Only this pass stores them (it is the one relay: lock or flock), so a number read at the
        start of the pass, or given by it to a delivered row since, is still the last one.
        """
        seqs: dict[int, int] = {}
        last: dict[str, int] = {}
        for row in rows:
            channel = row.event.channel
            if channel not in FEED_CHANNELS:
                continue
            if channel not in last:
                if channel not in self._seqs:
                    stored = await conn.fetch_val("SELECT last_seq FROM outbox_sequences WHERE channel = ?", channel)
                    self._seqs[channel] = int(stored or 0)
                last[channel] = self._seqs[channel]
            last[channel] += 1
            seqs[row.id] = last[channel]
        return seqs

    async def _finish(self, conn: Connection, rows: list[OutboxRow], seqs: dict[int, int]) -> None:
        """Delete ``rows`` and advance their feeds' sequences, together."""
        newest = _newest(rows, seqs)
        ids = [r.id for r in rows]
        delete = f"DELETE FROM outbox WHERE id IN ({placeholders(ids)})"
        if conn.dialect == "postgres" and len(newest) == 1:  # the usual case: one statement, whole
            [(channel, seq)] = newest.items()
            await conn.execute(
                f"WITH gone AS ({delete}) INSERT INTO outbox_sequences (channel, last_seq) VALUES (?, ?) "
                "ON CONFLICT (channel) DO UPDATE SET last_seq = EXCLUDED.last_seq",
                *ids, channel, seq,
            )
        elif conn.dialect == "postgres" and not newest:
            await conn.execute(delete, *ids)
        else:
            async with self._step(conn) as tx:
                for channel, seq in newest.items():
                    changed = await tx.execute(
                        "UPDATE outbox_sequences SET last_seq = ? WHERE channel = ?", seq, channel
                    )
                    if not changed:
                        await tx.execute(
                            "INSERT INTO outbox_sequences (channel, last_seq) VALUES (?, ?)", channel, seq
                        )
                await tx.execute(delete, *ids)
        self._seqs.update(newest)


@dataclass
class _Delivered:
    """Rows a pass delivered and has not deleted yet, with their feed numbers."""

    rows: list[OutboxRow] = field(default_factory=list)
    seqs: dict[int, int] = field(default_factory=dict)

    def add(self, rows: list[OutboxRow], seqs: dict[int, int]) -> None:
        self.rows += rows
        self.seqs.update(seqs)


def _newest(rows: list[OutboxRow], seqs: dict[int, int]) -> dict[str, int]:
    """Each feed's last number among ``rows`` (numbered in order)."""
    newest: dict[str, int] = {}
    for row in rows:
        if row.id in seqs:
            newest[row.event.channel] = seqs[row.id]
    return newest


def _numbered(row: OutboxRow, seq: int | None) -> Event:
    """The row's event, with ``feed_seq`` added to its data on a feed channel."""
    if seq is None:
        return row.event
    data = orjson.loads(row.event.data)
    data["feed_seq"] = seq
    event = row.event
    return Event(event.channel, event.name, orjson.dumps(data).decode(), event.socket_id)
