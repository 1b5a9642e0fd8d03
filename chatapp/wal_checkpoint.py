"""SQLite's write-ahead log, copied into the database file off the request path.

In WAL mode a commit goes to the log, and SQLite copies the log back into the database file (a
checkpoint, with its fsync) inside whichever commit takes the log past 1,000 pages. Under load
that is several times a second, and the commit doing it holds chatapp's one connection while
every request queues behind it. Here the app's connections leave that to this loop
(``wal_autocheckpoint`` 0, :meth:`SqliteDatabase.hand_checkpoints_over`): a connection of its
own, on its own thread, runs a PASSIVE checkpoint every :data:`INTERVAL`, which copies what no
reader still needs and never waits for, or blocks, a reader or a writer. Measured with
``bench.chat --cost-at 250`` on SQLite, three runs each: answers p99 6.7-7.3 ms -> 3.5-5.4 ms.

A log that keeps growing (a reader that never lets go of an old snapshot) is logged, once a
minute at most, so an operator finds it before the disk does.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TypeGuard

from chatapp.background import PeriodicSweep
from chatapp.db import Database, SqliteDatabase, connect, sqlite_path

__all__ = ["WalCheckpointer", "INTERVAL"]

log = logging.getLogger("chatapp")

INTERVAL = 0.2  # seconds between checkpoints: the log stays a few hundred pages under load
LARGE_LOG = 250_000  # pages (about 1 GB) left in the log after a checkpoint: worth a warning
WARN_EVERY = 60.0


@dataclass(eq=False)
class WalCheckpointer(PeriodicSweep):
    task_name = "chatapp-wal-checkpoint"

    db: SqliteDatabase  # the requests' connection; its commits stop checkpointing
    _own: SqliteDatabase | None = field(default=None, init=False)
    _warned_at: float = field(default=-WARN_EVERY, init=False)

    @staticmethod
    def wanted(db: Database) -> TypeGuard[SqliteDatabase]:
        """A SQLite file (an in-memory database has no log)."""
        return isinstance(db, SqliteDatabase) and sqlite_path(db.url) != ":memory:"

    @property
    def interval(self) -> float:
        return INTERVAL

    async def open(self) -> None:
        """Take the checkpoints over from the requests' connection; :meth:`start` then runs them."""
        own = await connect(self.db.url)
        assert isinstance(own, SqliteDatabase)
        self._own = own
        await self.db.hand_checkpoints_over()

    async def sweep(self) -> int:
        """One PASSIVE checkpoint; the pages it copied into the database file."""
        assert self._own is not None, "open() first"
        row = await self._own.fetch_one("PRAGMA wal_checkpoint(PASSIVE)")
        assert row is not None
        _busy, in_log, copied = (int(v) for v in row.values())
        left = in_log - copied
        if left > LARGE_LOG and time.monotonic() - self._warned_at > WARN_EVERY:
            self._warned_at = time.monotonic()
            log.warning("SQLite's write-ahead log holds %d pages a checkpoint could not copy: a reader "
                        "keeps an old snapshot open", left)
        return copied

    async def stop(self) -> None:
        await super().stop()
        if self._own is not None:
            await self._own.close()
            self._own = None
