"""SQLite's full-text indexes, merged a few pages at a time off the request path.

FTS5 stores each transaction's new terms as a small segment. Left to itself it merges segments
inside the statement that writes more, and on a large history one such merge held the database
for 20-150 ms while a message was stored: every request on chatapp's one SQLite connection
waited behind it. Migration 030 turns that off; this loop does the merging instead, in steps of
:data:`PAGES_PER_STEP` pages, each its own short write, so requests take their turns between
them. A step never waits for a write lock held by another connection (the relay's, another
process's): it tries again a pass later, so reads are never stuck behind it. PostgreSQL's
indexes need nothing of the kind.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from chatapp.background import PeriodicSweep
from chatapp.db import SqliteDatabase

__all__ = ["SearchIndexMerger", "SEARCH_TABLES", "PAGES_PER_STEP"]

SEARCH_TABLES = ("support_chat_messages_search", "support_chat_rooms_search")
PAGES_PER_STEP = 16  # a step of merging: a few milliseconds on a million messages
STEPS_PER_PASS = 64  # at most this many steps per table in one pass, requests between each
PASS_INTERVAL = 1.0  # seconds between passes
# A pause after each step: the requests waiting on this connection go first anyway (the outbox
# relay too, which takes their turn: SqliteDatabase.write_beside), but another process writing
# to the file only finds it unlocked in a gap.
STEP_GAP = 0.01


@dataclass(eq=False)
class SearchIndexMerger(PeriodicSweep):
    task_name = "chatapp-search-merge"

    db: SqliteDatabase

    @property
    def interval(self) -> float:
        return PASS_INTERVAL

    async def sweep(self) -> int:
        """Merge until each index has nothing left to merge or the pass's steps are spent; how
        many steps did some work."""
        steps = 0
        for table in SEARCH_TABLES:
            for _ in range(STEPS_PER_PASS):
                changed = await self.db.changes_if_unlocked(
                    f"INSERT INTO {table} ({table}, rank) VALUES ('merge', ?)", PAGES_PER_STEP
                )
                if changed is None:  # another connection or process is writing: the next pass
                    return steps
                if changed < 2:  # FTS5's sign that the step found nothing to merge
                    break
                steps += 1
                await asyncio.sleep(STEP_GAP)
        return steps
