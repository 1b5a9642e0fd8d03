"""The inbox statistics on the admin feed, at most once per interval, however busy the chat is.

A change only marks the numbers stale; one task publishes them when they are stale
and then waits out the interval. A burst of a thousand messages costs one query and
one event per second, not a thousand of each; the first change after a quiet spell is
published at once, and the last one of a burst at most one interval later.
"""

from __future__ import annotations

import asyncio
import logging

from chatapp import inbox_queries
from chatapp.background import BackgroundLoop
from chatapp.db import Database, DatabaseUnavailable
from chatapp.events import Events

__all__ = ["StatsFeed", "STATS_INTERVAL"]

log = logging.getLogger("chatapp")
STATS_INTERVAL = 1.0  # seconds between two stats.updated events, at least


class StatsFeed(BackgroundLoop):
    task_name = "chatapp-stats-feed"

    def __init__(self, db: Database, events: Events, *, enabled: bool, interval: float = STATS_INTERVAL) -> None:
        self.db = db
        self.events = events
        self.publishing = enabled
        self.interval = interval
        self._stale = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return self.publishing

    def changed(self) -> None:
        """Something the statistics count has changed (committed)."""
        if self.publishing:
            self._stale.set()

    async def _run(self) -> None:
        while True:
            await self._stale.wait()
            self._stale.clear()
            try:
                numbers = await inbox_queries.stats(self.db)
                mine = await inbox_queries.mine_by_admin(self.db)
                self.events.stats(numbers, mine, await inbox_queries.unread_by_admin(self.db, numbers))
            except DatabaseUnavailable as exc:
                log.warning("stats event postponed: %s", exc)
                self._stale.set()  # try again after the interval
            await asyncio.sleep(self.interval)
