"""Retention: closed chats are deleted, with their files, ``CHATAPP_RETENTION_DAYS`` after they closed.

Off by default (0). A sweep every ``CHATAPP_RETENTION_INTERVAL`` seconds takes at most a
batch of rooms per transaction through the (status, closed_at) index and deletes them as an
erasure does (chatapp.contact_data.remove_rooms: messages, attachment rows, typing
indicators, pending events; the search index follows the rows), writing one audit entry and
one ``room.removed`` event per room in that transaction. The files go once it has committed.

Several instances sweep at once safely, each room deleted once: on PostgreSQL a sweep locks
the rooms it takes (``FOR UPDATE SKIP LOCKED``, so another sweep passes over them rather than
waiting) and only the rows its ``DELETE ... RETURNING`` removed are audited and announced;
SQLite runs one writing transaction at a time (``BEGIN IMMEDIATE``), so a second sweep finds
the rooms gone.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from chatapp.audit import audit
from chatapp.background import PeriodicSweep
from chatapp.config import Settings
from chatapp.contact_data import announce_removed, delete_files, remove_rooms
from chatapp.db import Database, utcnow
from chatapp.events import Events
from chatapp.models import iso
from chatapp.stats_feed import StatsFeed
from chatapp.uploads import UploadStore

__all__ = ["RetentionSweeper", "BATCH"]

log = logging.getLogger("chatapp")
BATCH = 100  # rooms deleted per transaction


class RetentionSweeper(PeriodicSweep):
    task_name = "chatapp-retention"

    def __init__(
        self, settings: Settings, db: Database, uploads: UploadStore, events: Events, stats_feed: StatsFeed | None
    ) -> None:
        self.settings = settings
        self.db = db
        self.uploads = uploads
        self.events = events
        self.stats_feed = stats_feed

    @property
    def enabled(self) -> bool:
        return self.settings.retention_days > 0

    @property
    def interval(self) -> float:
        return self.settings.retention_interval

    async def sweep(self) -> int:
        """Delete every chat closed longer ago than the setting; how many this sweep deleted."""
        cutoff = utcnow() - timedelta(days=self.settings.retention_days)
        total = 0
        while True:
            async with self.db.transaction() as conn:
                skip = " FOR UPDATE SKIP LOCKED" if conn.dialect == "postgres" else ""
                rows = await conn.fetch_all(
                    "SELECT id, closed_at FROM support_chat_rooms WHERE status = 'closed' AND closed_at < ? "
                    f"ORDER BY closed_at, id LIMIT ?{skip}",
                    cutoff,
                    BATCH,
                )
                closed_at = {int(r["id"]): r["closed_at"] for r in rows}
                removed = await remove_rooms(conn, list(closed_at))
                for room_id, owner in sorted(removed.rooms.items()):
                    await audit(conn, None, "retention.delete_room", "room", room_id, {
                        "user_id": owner,
                        "closed_at": iso(closed_at.get(room_id)),
                        "files": removed.files_by_room.get(room_id, 0),
                        "retention_days": self.settings.retention_days,
                    })
                await announce_removed(self.events.outbox, conn, sorted(removed.rooms), "retention")
            failed = await delete_files(self.uploads, removed.files)
            if failed:
                log.warning("retention: %d files of deleted chats could not be deleted", failed)
            total += len(removed.rooms)
            if len(rows) < BATCH:
                break
        if total:
            log.info("retention: deleted %d chats closed more than %g days ago", total, self.settings.retention_days)
            if self.stats_feed is not None:
                self.stats_feed.changed()
        return total
