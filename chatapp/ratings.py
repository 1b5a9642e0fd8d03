"""Satisfaction (CSAT): the visitor rates their resolved or closed chat 1 to 5, with a comment.

One answer per chat: the rating is stored by an UPDATE that requires none yet, so two tabs
sending at once store one and the other gets 409 ``already_rated``. The room's own
``room.updated`` carries it, from the same transaction, to the agents' panels and the
visitor's other tabs; the reports count it (average and answer rate) for the chat's agent.
"""

from __future__ import annotations

from chatapp import repository as repo
from chatapp.db import Database, utcnow
from chatapp.errors import Conflict
from chatapp.events import Events
from chatapp.models import Room, User
from chatapp.policy import ensure_room_access

__all__ = ["RATEABLE", "Ratings"]

RATEABLE = ("resolved", "closed")


class Ratings:
    def __init__(self, db: Database, events: Events) -> None:
        self.db = db
        self.events = events

    async def rate(self, user: User, room_id: int, score: int, comment: str) -> Room:
        """Store the visitor's rating of their chat ``room_id``; the room as it is now."""
        async with self.db.transaction() as conn:
            room = ensure_room_access(user, await repo.get_room(conn, room_id), room_id)
            if room.status not in RATEABLE:
                raise Conflict(f"Only a resolved or closed chat can be rated; this one is {room.status}",
                               code="invalid_state", status=room.status, allowed_from=list(RATEABLE))
            stored = await conn.execute(
                "UPDATE support_chat_rooms SET rating = ?, rating_comment = ?, rated_at = ? "
                "WHERE id = ? AND rating IS NULL",
                score, comment.strip() or None, utcnow(), room.id,
            )
            if not stored:
                raise Conflict("This chat has already been rated", code="already_rated")
            fresh = await repo.get_room(conn, room.id)
            assert fresh is not None
            await self.events.room_updated(conn, fresh)
        return fresh
