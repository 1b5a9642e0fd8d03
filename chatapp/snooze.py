"""Snooze: an agent puts a chat aside until a time, or until the visitor writes again.

A snoozed chat keeps its status (open or assigned) and its assignee, but leaves the active
inbox views, the queue, the statistics' open counts and its agent's load; the "Snoozed"
filter lists it with its wake time. It wakes when the visitor writes (at once, in the
transaction that stores the message), when an agent unsnoozes it, or at ``snoozed_until``:
a sweep every ``CHATAPP_SNOOZE_INTERVAL`` seconds wakes what is due. A chat that wakes by
itself returns to its assignee while they are available (online, with a panel open), else
it goes through routing like a new chat (chatapp.routing); an agent unsnoozing keeps it
with its assignee. Resolving or closing a snoozed chat ends the snooze.

Each snooze wakes once, also with several instances on PostgreSQL: a sweep locks the due
rows it takes (``FOR UPDATE SKIP LOCKED``, so another sweep passes over them), and a wake is
a compare-and-set (still snoozed, still due), so a wake racing a new snooze, an unsnooze or
the visitor's message changes nothing the second time. Snooze and wake are audited (the
system as the actor of a wake by time or by the visitor), announced with ``room.updated``
from the same transaction and written in the thread as lines for support only (notes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chatapp import repository as repo
from chatapp.audit import audit
from chatapp.background import PeriodicSweep
from chatapp.config import Settings
from chatapp.db import Connection, Database, utcnow
from chatapp.errors import BadRequest, Conflict
from chatapp.events import Events
from chatapp.i18n import DEFAULT_LOCALE, Catalogues
from chatapp.models import Room, User, iso
from chatapp.policy import ensure_admin, ensure_room_access, ensure_transition
from chatapp.routing import Router
from chatapp.stats_feed import StatsFeed

__all__ = ["Snoozer", "MAX_SNOOZE", "BATCH", "WAKE_REASONS"]

log = logging.getLogger("chatapp")

MAX_SNOOZE = timedelta(days=90)  # the furthest wake time an agent may choose
BATCH = 100  # chats one sweep transaction wakes at most
WAKE_REASONS = ("time", "visitor", "agent")
# The thread's lines for support (catalogue codes; never shown to the visitor).
_SNOOZED = "snooze.line.snoozed"
_SNOOZED_UNTIL_REPLY = "snooze.line.untilReply"
_WOKE = {"time": "snooze.line.wokeByTime", "visitor": "snooze.line.wokeByVisitor", "agent": "snooze.line.unsnoozed"}


def wake_text(until: datetime) -> str:
    """The wake time as the line in the thread says it: UTC, to the minute, readable in every language."""
    return until.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(eq=False)
class Snoozer(PeriodicSweep):
    task_name = "chatapp-snooze"

    settings: Settings
    db: Database
    events: Events
    router: Router  # who takes a chat that wakes without its assignee, and who is there
    stats_feed: StatsFeed
    catalogues: Catalogues  # the English text of the thread's lines

    @property
    def interval(self) -> float:
        return self.settings.snooze_interval

    # ------------------------------------------------------------- by an agent

    async def snooze(self, admin: User, room_id: int, until: datetime | None) -> Room:
        """Snooze the chat until ``until`` (UTC; None: until the visitor's next message).

        Snoozing a snoozed chat again sets its new wake time.
        """
        ensure_admin(admin)
        now = utcnow()
        if until is not None:
            if until <= now:
                raise BadRequest("'until' must be in the future", code="snooze_in_past", field="until")
            if until > now + MAX_SNOOZE:
                raise BadRequest(f"'until' may be at most {MAX_SNOOZE.days} days ahead", code="snooze_too_far",
                                 field="until", max_days=MAX_SNOOZE.days)
        async with self.db.transaction() as conn:
            room = ensure_room_access(admin, await repo.get_room(conn, room_id), room_id)
            ensure_transition(room, "snooze")
            await repo.update_room(conn, room.id, snoozed_at=now, snoozed_until=until)
            await audit(conn, admin, "room.snooze", "room", room.id,
                        {"until": iso(until), "assignee": room.assigned_admin_id})
            line = (_SNOOZED, {"agent": admin.name, "until": wake_text(until)}) if until else (
                _SNOOZED_UNTIL_REPLY, {"agent": admin.name})
            fresh = await self._announce(conn, room.id, line)
            await self.router.drain(conn)  # the assignee's load went down: a waiting chat may be theirs now
        self.stats_feed.changed()
        return fresh

    async def unsnooze(self, admin: User, room_id: int) -> Room:
        """Wake the chat now; it stays with its assignee (409 ``not_snoozed`` when it is not snoozed)."""
        ensure_admin(admin)
        async with self.db.transaction() as conn:
            room = ensure_room_access(admin, await repo.get_room(conn, room_id), room_id)
            woke = await self.wake(conn, room, "agent", admin)
            if woke is None:
                raise Conflict("The chat is not snoozed", code="not_snoozed", status=room.status)
        self.stats_feed.changed()
        return woke

    # -------------------------------------------------------------------- waking

    async def wake(self, conn: Connection, room: Room, reason: str, actor: User | None = None) -> Room | None:
        """Wake ``room`` in the caller's transaction; the room as it is now, or None when it was
        not snoozed (or, for ``time``, not due) any more: someone else woke it first."""
        now = utcnow()
        due = " AND snoozed_until <= ?" if reason == "time" else ""
        woke = await conn.execute(
            "UPDATE support_chat_rooms SET snoozed_at = NULL, snoozed_until = NULL, updated_at = ? "
            f"WHERE id = ? AND snoozed_at IS NOT NULL{due}",
            now, room.id, *([now] if due else []),
        )
        if not woke:
            return None
        assignee = room.assigned_admin_id
        if assignee is not None and reason != "agent" and not await self._available(conn, assignee):
            await repo.update_room(conn, room.id, status="open", assigned_admin_id=None)  # routing decides
            assignee = None
        await audit(conn, actor, "room.wake", "room", room.id, {
            "reason": reason, "until": iso(room.snoozed_until), "from": room.assigned_admin_id, "to": assignee,
        })
        params: dict[str, Any] = {"agent": actor.name} if actor is not None else {}
        await self._announce(conn, room.id, (_WOKE[reason], params))
        await self.router.drain(conn)  # an unassigned chat is in the queue again
        fresh = await repo.get_room(conn, room.id)
        assert fresh is not None
        return fresh

    async def _available(self, conn: Connection, admin_id: int) -> bool:
        """The assignee still takes chats: an active staff account, online, with a panel open (when
        pyreverb cannot say who has one, the chat stays theirs rather than moving on a guess)."""
        row = await conn.fetch_one(
            "SELECT availability FROM users WHERE id = ? AND role = 'admin' AND deactivated_at IS NULL", admin_id
        )
        if row is None or row["availability"] != "online":
            return False
        present = await self.router.present()
        return present is None or str(admin_id) in present

    async def sweep(self) -> int:
        """Wake every snoozed chat whose time has come; how many this sweep woke."""
        total = 0
        while True:
            async with self.db.transaction() as conn:
                due = await self._due(conn)
                for room_id in due:
                    room = await repo.get_room(conn, room_id)
                    if room is not None and await self.wake(conn, room, "time") is not None:
                        total += 1
            if len(due) < BATCH:
                break
        if total:
            log.info("woke %d snoozed chats", total)
            self.stats_feed.changed()
        return total

    async def _due(self, conn: Connection) -> list[int]:
        """A batch of the chats whose wake time has come, soonest first; on PostgreSQL locked until
        this transaction ends, passing over those another sweep holds."""
        skip = " FOR UPDATE SKIP LOCKED" if conn.dialect == "postgres" else ""
        sql = ("SELECT id FROM support_chat_rooms WHERE snoozed_at IS NOT NULL AND snoozed_until <= ? "
               f"ORDER BY snoozed_until, id LIMIT ?{skip}")
        return [int(r["id"]) for r in await conn.fetch_all(sql, utcnow(), BATCH)]

    # -------------------------------------------------------------------- telling

    async def _announce(self, conn: Connection, room_id: int, line: tuple[str, dict[str, Any]]) -> Room:
        """The line in the thread (a note: support's panels only) and the room as it is now, to every panel."""
        code, params = line
        note_id = await repo.insert_message(
            conn, room_id=room_id, sender_id=None, sender_role="system",
            body=self.catalogues.text(DEFAULT_LOCALE, code, params), system=line, note_mentions=[],
        )
        assert note_id is not None
        note = await repo.get_message(conn, note_id)
        fresh = await repo.get_room(conn, room_id)
        assert note is not None and fresh is not None
        await self.events.note_written(conn, fresh, note)
        await self.events.room_updated(conn, fresh)
        return fresh
