"""How many chats are resolved and how many closed, read from a small ledger.

Migration 033's triggers add a row (+1 or -1) to ``room_status_totals`` whenever a room
enters or leaves one of :data:`COUNTED`, in the transaction that moves it; the inbox
statistics sum the rows of a status (:func:`total_sql`) instead of counting every chat
ever closed. :class:`StatusTotalsFolder` keeps the ledger short: every
:data:`FOLD_INTERVAL` seconds, once it holds more than a row per status, it replaces the
rows with their sums. Folding and new rows never wait on each other: on PostgreSQL the
fold deletes and sums exactly the rows it removed in one statement (rows committed
meanwhile stay as they are; a second instance folding at the same moment finds the rows
gone and sums nothing); SQLite runs it as the file's only writer.
"""

from __future__ import annotations

from dataclasses import dataclass

from chatapp.background import PeriodicSweep
from chatapp.db import Database

__all__ = ["COUNTED", "FOLD_INTERVAL", "RECOUNT", "StatusTotalsFolder", "fold", "total_sql"]

COUNTED = ("resolved", "closed")
FOLD_INTERVAL = 60.0  # seconds between looks at the ledger's length
# The ledger written afresh from the rooms, as migration 033 first filled it: for a bulk load
# of rooms with nothing else writing (the benchmark's histories), which leaves a row per room.
RECOUNT = (
    "DELETE FROM room_status_totals",
    "INSERT INTO room_status_totals (status, rooms) SELECT status, COUNT(*) FROM support_chat_rooms "
    f"WHERE status IN {COUNTED!r} GROUP BY status",
)


def total_sql(status: str) -> str:
    """A scalar sub-select: how many rooms have ``status`` (one of :data:`COUNTED`)."""
    if status not in COUNTED:
        raise ValueError(f"{status!r} is not counted in room_status_totals")
    return f"(SELECT COALESCE(SUM(rooms), 0) FROM room_status_totals WHERE status = '{status}')"


async def fold(db: Database) -> int:
    """Replace the ledger's rows by one per status when it holds more; how many rows it held."""
    rows = int(await db.fetch_val("SELECT COUNT(*) FROM room_status_totals") or 0)
    if rows <= len(COUNTED):
        return 0
    async with db.transaction() as conn:
        if conn.dialect == "postgres":
            await conn.execute(
                "WITH gone AS (DELETE FROM room_status_totals RETURNING status, rooms) "
                "INSERT INTO room_status_totals (status, rooms) SELECT status, SUM(rooms) FROM gone GROUP BY status"
            )
        else:
            last = int(await conn.fetch_val("SELECT MAX(id) FROM room_status_totals") or 0)
            await conn.execute(
                "INSERT INTO room_status_totals (status, rooms) "
                "SELECT status, SUM(rooms) FROM room_status_totals WHERE id <= ? GROUP BY status",
                last,
            )
            await conn.execute("DELETE FROM room_status_totals WHERE id <= ?", last)
    return rows


@dataclass(eq=False)
class StatusTotalsFolder(PeriodicSweep):
    task_name = "chatapp-status-totals"

    db: Database

    @property
    def interval(self) -> float:
        return FOLD_INTERVAL

    async def sweep(self) -> int:
        return await fold(self.db)
