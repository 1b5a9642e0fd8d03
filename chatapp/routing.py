"""Availability and automatic assignment: the one place that decides who gets a chat.

An agent **counts** for routing while their chosen availability is ``online`` *and* one of
their panels is on ``presence-admins`` (asked from pyreverb, cached for a second): closing
the last panel reads as away, opening one brings them back. When pyreverb cannot say who is
there (or not within two seconds), nobody counts and chats wait for a later drain.

**Automatic assignment** (the ``auto_assign`` setting, on unless ``CHATAPP_AUTO_ASSIGN`` or
an admin switched it off) gives each waiting chat, oldest first, to the counting agent with
the fewest active chats below their capacity; among equals the one assigned longest ago
(round-robin). A chat no one can take waits in the **queue** (open, nobody assigned) until a
slot frees: a chat resolved, closed or handed over, a capacity raised, an agent back online.

:meth:`Router.drain` runs inside the caller's transaction, after its change, so the change
and the assignments it allows commit together. It serialises itself across instances: on
PostgreSQL with a transaction-scoped advisory lock (the next instance reads the loads only
after this one committed), rows another transaction holds are skipped (``SKIP LOCKED``; a
later drain takes them), and on SQLite the database's single writer does the same. A
periodic drain per instance picks up what nothing else triggered (an agent whose panel just
joined presence, a skipped row).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chatapp import repository as repo
from chatapp.audit import audit
from chatapp.background import BackgroundLoop
from chatapp.broadcasting import Broadcaster
from chatapp.db import LOCK_ROUTING, Connection, Database, DatabaseUnavailable, utcnow
from chatapp.errors import BadRequest, NotFound
from chatapp.events import Events
from chatapp.models import Message, Room, User, iso
from chatapp.policy import ADMIN_PRESENCE, ensure_admin
from chatapp.push import PushNotifier
from chatapp.repository import AWAKE
from chatapp.stats_feed import StatsFeed

__all__ = [
    "Router",
    "Agent",
    "AVAILABILITIES",
    "DEFAULT_CAPACITY",
    "MAX_CAPACITY",
    "JOINED",
]

log = logging.getLogger("chatapp")

AVAILABILITIES: tuple[str, ...] = ("online", "away", "busy")
DEFAULT_CAPACITY = 5
MAX_CAPACITY = 100
# The system note the visitor sees when an agent takes the chat (automatically or by hand).
JOINED = "chat.joined"
AUTO_ASSIGN = "auto_assign"
PRESENCE_MAX_AGE = 1.0  # seconds an answer about presence-admins is reused
PRESENCE_WAIT = 2.0  # seconds a change waits for pyreverb's answer inside its transaction
DRAIN_INTERVAL = 5.0  # seconds between two periodic drains of one instance
DRAIN_BATCH = 100  # chats one drain assigns at most
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)
# The queue: open chats nobody has, except those an agent snoozed (chatapp.snooze) until they wake.
WAITING = f"status = 'open' AND assigned_admin_id IS NULL AND {AWAKE}"

NoteWriter = Callable[[Connection, Room, tuple[str, dict[str, Any]]], Awaitable[Message]]


@dataclass(frozen=True)
class Agent:
    """A support admin as routing sees them."""

    id: int
    name: str
    availability: str
    capacity: int
    active: int  # active chats assigned to them (open or assigned)
    last_assigned_at: datetime | None
    present: bool | None  # a panel open (on presence-admins); None when pyreverb cannot say

    @property
    def status(self) -> str:
        """What the team sees: the chosen availability while a panel is open, else away."""
        return self.availability if self.present else "away"

    @property
    def counts(self) -> bool:
        return self.availability == "online" and bool(self.present)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": "admin",
            "availability": self.availability,
            "status": self.status,
            "online": self.present,
            "capacity": self.capacity,
            "active": self.active,
            "last_assigned_at": iso(self.last_assigned_at),
        }


async def _agent_rows(conn: Connection, agent_id: int | None = None) -> list[dict[str, Any]]:
    where = " AND u.id = ?" if agent_id is not None else ""
    args = [agent_id] if agent_id is not None else []
    return await conn.fetch_all(
        "SELECT u.id, u.name, u.availability, u.capacity, u.last_assigned_at, "
        "(SELECT COUNT(*) FROM support_chat_rooms r WHERE r.assigned_admin_id = u.id "
        f" AND r.status IN ('open', 'assigned') AND r.{AWAKE}) AS active "
        f"FROM users u WHERE u.role = 'admin' AND u.deactivated_at IS NULL{where} ORDER BY u.name, u.id",
        *args,
    )


def _took_it(actor: User, before: Room | None, after: Room) -> bool:
    """The change was the actor taking a chat nobody had (a reply takes it): it fills one of their
    slots and empties none, and the queue only shortens, so a drain could assign nothing that it
    could not before. Skipping it spares a reply the routing lock and the read of every load."""
    return (before is not None and before.assigned_admin_id is None
            and after.assigned_admin_id == actor.id and after.is_active)


def _agent(row: dict[str, Any], present: set[str] | None) -> Agent:
    return Agent(
        id=int(row["id"]),
        name=row["name"],
        availability=row["availability"],
        capacity=int(row["capacity"]),
        active=int(row["active"] or 0),
        last_assigned_at=row["last_assigned_at"],
        present=None if present is None else str(row["id"]) in present,
    )


def pick(agents: list[Agent]) -> Agent | None:
    """The agent the next chat goes to: counting, below capacity, fewest active chats, then the
    one assigned longest ago (never first), then the lowest id."""
    free = [a for a in agents if a.counts and a.active < a.capacity]
    if not free:
        return None
    return min(free, key=lambda a: (a.active, a.last_assigned_at or _NEVER, a.id))


class Router(BackgroundLoop):
    task_name = "chatapp-routing"

    def __init__(
        self,
        db: Database,
        events: Events,
        broadcaster: Broadcaster,
        stats_feed: StatsFeed,
        write_note: NoteWriter,
        *,
        push: PushNotifier | None = None,
        default_on: bool = True,
        interval: float = DRAIN_INTERVAL,
    ) -> None:
        self.db = db
        self.events = events
        self.broadcaster = broadcaster
        self.stats_feed = stats_feed
        self.write_note = write_note
        self.push = push
        self.default_on = default_on
        self.interval = interval

    # --------------------------------------------------------------- presence

    async def present(self, fresh: bool = False) -> set[str] | None:
        """Ids (as text) of the admins with a panel open; None when pyreverb cannot say.

        ``fresh`` asks pyreverb now (callers do it before their transaction); otherwise an answer
        up to a second old will do, and a slow pyreverb is given at most ``PRESENCE_WAIT``
        seconds, since the caller may be holding a transaction open (the periodic drain catches up).
        """
        if fresh:
            return await self.broadcaster.presence_user_ids(ADMIN_PRESENCE)
        try:
            return await asyncio.wait_for(
                self.broadcaster.presence_user_ids(ADMIN_PRESENCE, max_age=PRESENCE_MAX_AGE), PRESENCE_WAIT
            )
        except TimeoutError:
            log.warning("routing: pyreverb did not say who is on %s in time; chats wait", ADMIN_PRESENCE)
            return None

    # ---------------------------------------------------------------- reading

    async def agents(self, conn: Connection, present: set[str] | None) -> list[Agent]:
        """Every active support admin with their load; ``present``: who has a panel open."""
        return [_agent(r, present) for r in await _agent_rows(conn)]

    async def agent(self, conn: Connection, agent_id: int, present: set[str] | None) -> Agent:
        rows = await _agent_rows(conn, agent_id)
        if not rows:
            raise NotFound(f"Support admin {agent_id} not found", code="agent_not_found")
        return _agent(rows[0], present)

    async def team(self, admin: User) -> list[Agent]:
        """The team as the panel shows it: availability, load and capacity of each agent."""
        ensure_admin(admin)
        return await self.agents(self.db, await self.present())

    async def auto_assign(self, conn: Connection | None = None) -> bool:
        value = await (conn or self.db).fetch_val("SELECT value FROM app_settings WHERE name = ?", AUTO_ASSIGN)
        return self.default_on if value is None else value == "on"

    async def queue(self, conn: Connection | None = None, limit: int = 200) -> tuple[list[Room], int]:
        """The waiting chats, oldest first (at most ``limit``), and how many there are."""
        db = conn or self.db
        ids = await db.fetch_all(
            f"SELECT id FROM support_chat_rooms WHERE {WAITING} "
            "ORDER BY created_at, id LIMIT ?",
            limit,
        )
        total = await db.fetch_val(
            f"SELECT COUNT(*) FROM support_chat_rooms WHERE {WAITING}"
        )
        rooms = [room for r in ids if (room := await repo.get_room(db, int(r["id"]))) is not None]
        return rooms, int(total or 0)

    # --------------------------------------------------------------- changing

    async def set_availability(self, admin: User, value: object) -> Agent:
        """The agent's own availability; becoming online may take waiting chats at once."""
        ensure_admin(admin)
        if not isinstance(value, str) or value not in AVAILABILITIES:
            raise BadRequest(f"'availability' must be one of: {', '.join(AVAILABILITIES)}", field="availability")
        present = await self.present(fresh=True)
        async with self.db.transaction() as conn:
            await self._lock(conn)
            await conn.execute("UPDATE users SET availability = ? WHERE id = ? AND role = 'admin'", value, admin.id)
            await self._drain(conn, present)
            agent = await self.agent(conn, admin.id, present)
            await self.events.agent_updated(conn, agent.to_json())
        return agent

    async def set_capacity(self, admin: User, agent_id: int, value: object) -> Agent:
        """An agent's capacity (any admin may set it); a raised one may take waiting chats at once."""
        ensure_admin(admin)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CAPACITY:
            raise BadRequest(f"'capacity' must be a whole number from 0 to {MAX_CAPACITY}", field="capacity")
        present = await self.present(fresh=True)
        async with self.db.transaction() as conn:
            await self._lock(conn)
            changed = await conn.execute(
                "UPDATE users SET capacity = ? WHERE id = ? AND role = 'admin' AND deactivated_at IS NULL",
                value, agent_id,
            )
            if not changed:
                raise NotFound(f"Support admin {agent_id} not found", code="agent_not_found")
            await self._drain(conn, present)
            agent = await self.agent(conn, agent_id, present)
            await self.events.agent_updated(conn, agent.to_json())
        return agent

    async def set_auto_assign(self, admin: User, value: object) -> bool:
        """Switch automatic assignment on or off for the team; on drains the queue at once."""
        ensure_admin(admin)
        if not isinstance(value, bool):
            raise BadRequest("'auto_assign' must be true or false", field="auto_assign")
        present = await self.present(fresh=True)
        async with self.db.transaction() as conn:
            await self._lock(conn)
            now, text = utcnow(), "on" if value else "off"
            await conn.execute(
                "INSERT INTO app_settings (name, value, updated_by, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, "
                "updated_at = excluded.updated_at",
                AUTO_ASSIGN, text, admin.id, now,
            )
            await self.events.routing_updated(conn, {"auto_assign": value})
            await self._drain(conn, present)
        return value

    # ------------------------------------------------------------- assignment

    async def after_change(self, conn: Connection, actor: User, before: Room | None, after: Room) -> Room:
        """Called by the chat service inside the transaction of a change to a room (a new chat,
        a reply, an assignment, a resolve, close or reopen): tell an agent given the chat by
        someone else, then give waiting chats to free agents. Returns the room as it is now
        (a new chat may have just been given to an agent)."""
        if after.assigned_admin_id not in (None, actor.id) and after.is_active and (
            before is None or before.assigned_admin_id != after.assigned_admin_id
        ):
            self._notify_after_commit(conn, after, after.assigned_admin_id)
        if _took_it(actor, before, after):  # nothing freed, nothing new waiting: nothing new to give out
            return after
        assigned = await self.drain(conn)
        if any(room_id == after.id for room_id, _ in assigned):
            return await repo.get_room(conn, after.id) or after
        return after

    async def drain(self, conn: Connection, fresh: bool = False) -> list[tuple[int, int]]:
        """Assign waiting chats, oldest first, while a counting agent has room: (room, agent) pairs."""
        if fresh and not await self.auto_assign(conn):  # before asking pyreverb
            return []
        # Otherwise who is present first: a cached answer, and with nobody there the message that
        # called needs no read of the setting.
        present = await self.present(fresh)
        if not present or not (fresh or await self.auto_assign(conn)):
            return []
        await self._lock(conn)
        return await self._drain(conn, present)

    async def _lock(self, conn: Connection) -> None:
        """Serialise routing decisions across instances until this transaction ends."""
        if conn.dialect == "postgres":
            await conn.execute("SELECT pg_advisory_xact_lock(?)", LOCK_ROUTING)
        # SQLite: every transaction is BEGIN IMMEDIATE, the database's one writer at a time.

    async def _drain(self, conn: Connection, present: set[str] | None) -> list[tuple[int, int]]:
        if not present or not await self.auto_assign(conn):
            return []
        agents = [a for a in await self.agents(conn, present) if a.counts]
        slots = sum(max(0, a.capacity - a.active) for a in agents)
        if slots <= 0:
            return []
        skip_locked = " FOR UPDATE SKIP LOCKED" if conn.dialect == "postgres" else ""
        waiting = await conn.fetch_all(
            f"SELECT id FROM support_chat_rooms WHERE {WAITING} "
            f"ORDER BY created_at, id LIMIT ?{skip_locked}",
            min(slots, DRAIN_BATCH),
        )
        done: list[tuple[int, int]] = []
        last = utcnow()
        for row in waiting:
            agent = pick(agents)
            if agent is None:
                break
            room_id = int(row["id"])
            if not await repo.claim_room(conn, room_id, agent.id, None):
                continue
            last = max(utcnow(), last + timedelta(microseconds=1))
            await conn.execute("UPDATE users SET last_assigned_at = ? WHERE id = ?", last, agent.id)
            agents = [replace(a, active=a.active + 1, last_assigned_at=last) if a.id == agent.id else a
                      for a in agents]
            await self._announce(conn, room_id, agent)
            await audit(conn, None, "room.assign", "room", room_id, {"from": None, "to": agent.id})
            done.append((room_id, agent.id))
        if done:
            log.info("routing assigned %d waiting chats", len(done))
            conn.after_commit(self.stats_feed.changed)
        return done

    async def _announce(self, conn: Connection, room_id: int, agent: Agent) -> None:
        room = await repo.get_room(conn, room_id)
        assert room is not None
        message = await self.write_note(conn, room, (JOINED, {"agent": agent.name}))
        fresh = await repo.get_room(conn, room_id)
        assert fresh is not None
        await self.events.message_sent(conn, fresh, message, created_room=False, socket_id=None)
        await self.events.room_updated(conn, fresh)
        self._notify_after_commit(conn, fresh, agent.id)

    def _notify_after_commit(self, conn: Connection, room: Room, agent_id: int) -> None:
        push = self.push
        if push is not None:
            conn.after_commit(lambda: push.assigned(room, agent_id))

    # -------------------------------------------------------------- periodic

    async def drain_now(self) -> list[tuple[int, int]]:
        """One drain in a transaction of its own (the periodic sweep)."""
        if not await self.auto_assign():
            return []
        present = await self.present()
        if not present:
            return []
        waiting = await self.db.fetch_val(
            f"SELECT COUNT(*) FROM support_chat_rooms WHERE {WAITING}"
        )
        if not waiting:
            return []
        async with self.db.transaction() as conn:
            await self._lock(conn)
            return await self._drain(conn, present)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.drain_now()
            except DatabaseUnavailable as exc:
                log.warning("routing drain skipped: %s", exc)
            except Exception:
                log.exception("routing drain failed")
