"""Resolved chats close by themselves after ``CHATAPP_AUTO_CLOSE_DAYS`` without a reply.

A sweep every ``CHATAPP_AUTO_CLOSE_INTERVAL`` seconds closes at most a batch per
transaction through the (status, resolved_at) index, so it costs nothing while
there is nothing to close. It is safe on several instances at once: the UPDATE only
touches rows still 'resolved' (one instance wins each row), and each room it closed
is announced with ``room.updated`` from the same transaction.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from chatapp import repository as repo
from chatapp.background import PeriodicSweep
from chatapp.config import Settings
from chatapp.db import Database, utcnow
from chatapp.events import Events
from chatapp.stats_feed import StatsFeed

__all__ = ["AutoCloser", "BATCH"]

log = logging.getLogger("chatapp")
BATCH = 200  # rooms closed per transaction


class AutoCloser(PeriodicSweep):
    task_name = "chatapp-auto-close"

    def __init__(self, settings: Settings, db: Database, events: Events, stats_feed: StatsFeed) -> None:
        self.settings = settings
        self.db = db
        self.events = events
        self.stats_feed = stats_feed

    @property
    def enabled(self) -> bool:
        return self.settings.auto_close_days > 0

    @property
    def interval(self) -> float:
        return self.settings.auto_close_interval

    async def sweep(self) -> int:
        """Close every resolved chat older than the setting; how many were closed."""
        cutoff = utcnow() - timedelta(days=self.settings.auto_close_days)
        total = 0
        while True:
            async with self.db.transaction() as conn:
                closed = await repo.close_resolved_before(conn, cutoff, BATCH)
                for room_id in closed:
                    room = await repo.get_room(conn, room_id)
                    if room is not None:
                        await self.events.room_updated(conn, room)
            total += len(closed)
            if len(closed) < BATCH:
                break
        if total:
            log.info("closed %d resolved chats older than %g days", total, self.settings.auto_close_days)
            self.stats_feed.changed()
        return total
