"""Every SQL statement chatapp runs, and nothing else.

Functions take a :class:`~chatapp.db.Connection` (the database or an open
transaction) and return domain records from :mod:`chatapp.models`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from chatapp.db import Connection, placeholders, utcnow
from chatapp.models import Attachment, AuthSession, CannedReply, Message, Room, User, iso

# ------------------------------------------------------------------------- users

_USER_COLUMNS = "id, role, name, email, external_id, created_at, email_verified_at, locale, staff_role"


async def create_user(
    conn: Connection,
    *,
    role: str,
    name: str,
    email: str | None = None,
    password_hash: str | None = None,
    external_id: str | None = None,
    email_verified: bool = False,
    staff_role: str | None = None,
) -> User:
    """``staff_role`` (owner, admin, agent) only for support staff: ``admin`` unless given."""
    now = utcnow()
    row = await conn.fetch_one(
        "INSERT INTO users (role, name, email, password_hash, external_id, created_at, email_verified_at, staff_role) "
        f"VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_USER_COLUMNS}",
        role,
        name,
        email,
        password_hash,
        external_id,
        now,
        now if email and email_verified else None,
        (staff_role or "admin") if role == "admin" else None,
    )
    assert row is not None
    return User.from_row(row)


async def get_user(conn: Connection, user_id: int) -> User | None:
    row = await conn.fetch_one(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", user_id)
    return User.from_row(row) if row else None


async def login_candidates(conn: Connection, email: str, limit: int) -> list[tuple[User, str | None]]:
    """Accounts with this address and their password hashes: the verified one first, then the oldest."""
    rows = await conn.fetch_all(
        f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE email = ? "
        "ORDER BY CASE WHEN email_verified_at IS NULL THEN 1 ELSE 0 END, id LIMIT ?",
        email,
        limit,
    )
    return [(User.from_row(r), r["password_hash"]) for r in rows]


async def get_login(conn: Connection, email: str) -> tuple[User, str | None] | None:
    """The account an address names first: the verified one, else the oldest sign-up with it."""
    found = await login_candidates(conn, email, 1)
    return found[0] if found else None


async def get_verified_user_by_email(conn: Connection, email: str) -> User | None:
    row = await conn.fetch_one(
        f"SELECT {_USER_COLUMNS} FROM users WHERE email = ? AND email_verified_at IS NOT NULL", email
    )
    return User.from_row(row) if row else None


async def get_user_by_external_id(conn: Connection, external_id: str) -> User | None:
    row = await conn.fetch_one(f"SELECT {_USER_COLUMNS} FROM users WHERE external_id = ?", external_id)
    return User.from_row(row) if row else None


async def update_verified_profile(conn: Connection, user_id: int, name: str, email: str | None) -> None:
    """Name and e-mail as a trusted source (the host site) vouches for them: the address counts as verified."""
    await conn.execute(
        "UPDATE users SET name = ?, email = ?, email_verified_at = ? WHERE id = ?",
        name,
        email,
        utcnow() if email else None,
        user_id,
    )


async def set_user_locale(conn: Connection, user_id: int, locale: str) -> None:
    await conn.execute("UPDATE users SET locale = ? WHERE id = ?", locale, user_id)


async def list_admins(conn: Connection) -> list[User]:
    rows = await conn.fetch_all(f"SELECT {_USER_COLUMNS} FROM users WHERE role = 'admin' ORDER BY name, id")
    return [User.from_row(r) for r in rows]


async def has_owner(conn: Connection) -> bool:
    """Whether the support team has an owner (an active staff account with ``staff_role`` owner)."""
    found = await conn.fetch_val(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND staff_role = 'owner' AND deactivated_at IS NULL"
    )
    return bool(found)


async def set_staff_role(conn: Connection, user_id: int, staff_role: str) -> None:
    await conn.execute("UPDATE users SET staff_role = ? WHERE id = ? AND role = 'admin'", staff_role, user_id)


async def active_admin_ids(conn: Connection, ids: list[int]) -> set[int]:
    """Those of ``ids`` that are support admins whose account is not deactivated."""
    if not ids:
        return set()
    marks = ", ".join("?" for _ in ids)
    rows = await conn.fetch_all(
        f"SELECT id FROM users WHERE role = 'admin' AND deactivated_at IS NULL AND id IN ({marks})", *ids
    )
    return {int(r["id"]) for r in rows}


async def delete_idle_guests(conn: Connection, created_before: datetime) -> int:
    """Guests who never started a conversation, from before ``created_before``."""
    return await conn.execute(
        "DELETE FROM users WHERE role = 'guest' AND created_at < ? "
        "AND NOT EXISTS (SELECT 1 FROM support_chat_rooms r WHERE r.user_id = users.id)",
        created_before,
    )


async def move_rooms(conn: Connection, from_user: int, to_user: int) -> int:
    """Hand a guest's conversations to the account they signed in to.

    Both may have a current (not closed) conversation; one visitor keeps only one, the newest,
    so the older one is closed first (the database allows one per visitor).
    """
    await conn.execute(
        f"UPDATE support_chat_rooms SET status = 'closed', closed_at = ? WHERE {_CURRENT} AND user_id IN (?, ?) "
        f"AND id < (SELECT MAX(id) FROM support_chat_rooms WHERE {_CURRENT} AND user_id IN (?, ?))",
        utcnow(),
        from_user,
        to_user,
        from_user,
        to_user,
    )
    await conn.execute("UPDATE support_chat_messages SET sender_id = ? WHERE sender_id = ?", to_user, from_user)
    await conn.execute("UPDATE chat_attachments SET uploader_id = ? WHERE uploader_id = ?", to_user, from_user)
    await conn.execute("DELETE FROM chat_typing_indicators WHERE user_id = ?", from_user)
    await conn.execute("UPDATE push_subscriptions SET user_id = ? WHERE user_id = ?", to_user, from_user)
    return await conn.execute("UPDATE support_chat_rooms SET user_id = ? WHERE user_id = ?", to_user, from_user)


# ------------------------------------------------------------------------- rooms

# The room's latest message, for its code when a system message wrote the preview (the inbox
# shows it in the reader's language): one index lookup per room (room_id, id). Private notes
# never write the preview, so they are passed over.
LAST_SYSTEM_COLUMNS = "lm.system_code AS last_system_code, lm.system_params AS last_system_params"
LAST_SYSTEM_JOIN = (
    "LEFT JOIN support_chat_messages lm ON lm.id = "
    "(SELECT MAX(m.id) FROM support_chat_messages m WHERE m.room_id = r.id AND m.kind = 'message')"
)
# The assignee's name as a lookup per room, not a join: PostgreSQL planned ``LEFT JOIN users a``
# of one room as a merge join that reads the users' primary key from the first id up to the
# agent's, and an agent added after 100,000 visitors made every read of their rooms 35 ms.
ADMIN_NAME_COLUMN = "(SELECT a.name FROM users a WHERE a.id = r.assigned_admin_id) AS admin_name"
_ROOM_COLUMNS = (
    "r.*, u.name AS user_name, u.email AS user_email, u.email_verified_at AS user_email_verified_at, "
    f"u.role AS user_role, {ADMIN_NAME_COLUMN}"
)
_ROOM_SELECT = (
    f"SELECT {_ROOM_COLUMNS}, {LAST_SYSTEM_COLUMNS} "
    f"FROM support_chat_rooms r JOIN users u ON u.id = r.user_id {LAST_SYSTEM_JOIN}"
)
_ACTIVE = "('open', 'assigned')"
# Not put aside by an agent (chatapp.snooze): the active views, the queue and the loads count only these.
AWAKE = "snoozed_at IS NULL"
# A visitor's current conversation: at most one per visitor (a partial unique index, migration 004).
_CURRENT = "status <> 'closed'"
_ROOM_FIELDS = {
    "status",
    "priority",
    "subject",
    "assigned_admin_id",
    "resolved_at",
    "closed_at",
    "last_message_at",
    "last_message_preview",
    "user_unread_count",
    "admin_unread_count",
    "snoozed_at",
    "snoozed_until",
}

# The rooms with messages this agent has not read: their own count where they have one (the
# partial index of migration 015), the team's where they have none (the unread rooms' index).
UNREAD_ROOM_IDS = (
    "SELECT room_id FROM agent_reads WHERE admin_id = ? AND unread_count > 0 UNION ALL "
    "SELECT t.id FROM support_chat_rooms t WHERE t.admin_unread_count > 0 AND NOT EXISTS "
    "(SELECT 1 FROM agent_reads o WHERE o.room_id = t.id AND o.admin_id = ?)"
)
# This agent's own count in a room (null where they have none), selected as ``own_unread``.
OWN_UNREAD_COLUMN = "(SELECT o.unread_count FROM agent_reads o WHERE o.room_id = r.id AND o.admin_id = ?) AS own_unread"

# Admin list filters: name -> (SQL condition, how many of its placeholders take the admin id).
ROOM_FILTERS: dict[str, tuple[str, int]] = {
    "all": ("1 = 1", 0),
    "open": (f"r.status IN {_ACTIVE} AND r.{AWAKE}", 0),
    "assigned": (f"r.status = 'assigned' AND r.{AWAKE}", 0),
    "unassigned": (f"r.status IN {_ACTIVE} AND r.assigned_admin_id IS NULL AND r.{AWAKE}", 0),
    "urgent": (f"r.status IN {_ACTIVE} AND r.priority = 'urgent' AND r.{AWAKE}", 0),
    "unread": (f"r.id IN ({UNREAD_ROOM_IDS})", 2),
    "mine": (f"r.status IN {_ACTIVE} AND r.assigned_admin_id = ? AND r.{AWAKE}", 1),
    "snoozed": ("r.snoozed_at IS NOT NULL", 0),
    "resolved": ("r.status = 'resolved'", 0),
    "closed": ("r.status = 'closed'", 0),
}


async def get_room(conn: Connection, room_id: int) -> Room | None:
    row = await conn.fetch_one(f"{_ROOM_SELECT} WHERE r.id = ?", room_id)
    return Room.from_row(row) if row else None


async def current_room_for_user(conn: Connection, user_id: int) -> Room | None:
    """The newest conversation that is not closed (a resolved one reopens on reply)."""
    row = await conn.fetch_one(
        f"{_ROOM_SELECT} WHERE r.user_id = ? AND r.{_CURRENT} ORDER BY r.id DESC LIMIT 1", user_id
    )
    return Room.from_row(row) if row else None


async def rooms_for_user(
    conn: Connection, user_id: int, limit: int, offset: int, before: int | None = None
) -> tuple[list[Room], int]:
    """The visitor's rooms, newest first: a page by ``offset``, or by keyset (ids below ``before``)."""
    keyset = "" if before is None else " AND r.id < ?"
    rows = await conn.fetch_all(
        f"{_ROOM_SELECT} WHERE r.user_id = ?{keyset} ORDER BY r.id DESC LIMIT ? OFFSET ?",
        *((user_id,) if before is None else (user_id, before)), limit, offset,
    )
    return [Room.from_row(r) for r in rows], await count_rooms_for_user(conn, user_id)


async def count_rooms_for_user(conn: Connection, user_id: int) -> int:
    """How many conversations the visitor has had (by the rooms' user index)."""
    return int(await conn.fetch_val("SELECT COUNT(*) FROM support_chat_rooms WHERE user_id = ?", user_id) or 0)


async def create_room(conn: Connection, user_id: int, subject: str) -> int | None:
    """The new room's id, or None when the visitor already has a current room (a concurrent
    first message made it; on PostgreSQL the insert waits until that one commits or rolls back)."""
    now = utcnow()
    room_id = await conn.fetch_val(
        "INSERT INTO support_chat_rooms (user_id, subject, status, priority, created_at, updated_at) "
        f"VALUES (?, ?, 'open', 'normal', ?, ?) ON CONFLICT (user_id) WHERE {_CURRENT} DO NOTHING RETURNING id",
        user_id,
        subject,
        now,
        now,
    )
    return None if room_id is None else int(room_id)


EARLIER_ROOMS = 20


async def earlier_rooms(conn: Connection, user_id: int, room_id: int) -> list[dict[str, Any]]:
    """The contact's other conversations, newest first (at most EARLIER_ROOMS; by their user index)."""
    rows = await conn.fetch_all(
        "SELECT id, status, subject, created_at, last_message_at, last_message_preview FROM support_chat_rooms "
        "WHERE user_id = ? AND id <> ? ORDER BY id DESC LIMIT ?",
        user_id, room_id, EARLIER_ROOMS,
    )
    return [
        {"id": int(r["id"]), "status": r["status"], "subject": r["subject"], "created_at": iso(r["created_at"]),
         "last_message_at": iso(r["last_message_at"]), "last_message_preview": r["last_message_preview"]}
        for r in rows
    ]


# Every assignment keeps the first one's time, for the reports' queue wait (its parameter: now).
_FIRST_ASSIGNED = "first_assigned_at = COALESCE(first_assigned_at, ?)"


async def claim_room(conn: Connection, room_id: int, admin_id: int, expected_admin_id: int | None) -> bool:
    """Assign the room to ``admin_id`` only if its assignee is still ``expected_admin_id``
    (None: nobody); False when someone else changed it first (compare-and-set)."""
    condition = "assigned_admin_id IS NULL" if expected_admin_id is None else "assigned_admin_id = ?"
    now = utcnow()
    expected = [] if expected_admin_id is None else [expected_admin_id]
    changed = await conn.execute(
        f"UPDATE support_chat_rooms SET status = 'assigned', assigned_admin_id = ?, updated_at = ?, {_FIRST_ASSIGNED} "
        f"WHERE id = ? AND {condition}",
        admin_id,
        now,
        now,
        room_id,
        *expected,
    )
    return changed == 1


async def update_room(conn: Connection, room_id: int, **changes: Any) -> None:
    unknown = set(changes) - _ROOM_FIELDS
    if unknown:
        raise ValueError(f"not room columns: {sorted(unknown)}")
    columns = sorted(changes)
    assignments = ", ".join(f"{c} = ?" for c in columns)
    now = utcnow()
    first: list[Any] = []
    if changes.get("assigned_admin_id") is not None:
        assignments += f", {_FIRST_ASSIGNED}"
        first = [now]
    await conn.execute(
        f"UPDATE support_chat_rooms SET {assignments}, updated_at = ? WHERE id = ?",
        *[changes[c] for c in columns],
        *first,
        now,
        room_id,
    )


async def close_resolved_before(conn: Connection, cutoff: datetime, limit: int) -> list[int]:
    """Close up to ``limit`` chats resolved before ``cutoff``; the ids closed here.

    Only rows still 'resolved' change, so two instances sweeping at once never close
    (or announce) one room twice.
    """
    now = utcnow()
    rows = await conn.fetch_all(
        "UPDATE support_chat_rooms SET status = 'closed', closed_at = ?, updated_at = ? "
        "WHERE id IN (SELECT id FROM support_chat_rooms WHERE status = 'resolved' AND resolved_at < ? "
        "ORDER BY resolved_at LIMIT ?) AND status = 'resolved' RETURNING id",
        now,
        now,
        cutoff,
        limit,
    )
    return sorted(int(r["id"]) for r in rows)


async def count_mine(conn: Connection, admin_id: int) -> int:
    value = await conn.fetch_val(
        f"SELECT COUNT(*) FROM support_chat_rooms WHERE status IN {_ACTIVE} AND assigned_admin_id = ? AND {AWAKE}",
        admin_id,
    )
    return int(value or 0)


async def unread_for_user(conn: Connection, user_id: int) -> int:
    value = await conn.fetch_val(
        "SELECT COALESCE(SUM(user_unread_count), 0) FROM support_chat_rooms WHERE user_id = ?", user_id
    )
    return int(value or 0)


# ---------------------------------------------------------------------- messages

# A message's columns (expression, name) and the joins they read.
_MESSAGE_COLUMNS = (
    *((f"m.{name}", name) for name in ("id", "room_id", "sender_id", "sender_role", "body", "read_at", "created_at",
                                       "idempotency_key", "system_code", "system_params", "kind", "mentions")),
    ("s.name", "sender_name"),
    *((f"f.{name}", f"att_{name}") for name in ("id", "room_id", "uploader_id", "stored_name", "original_name",
                                                "content_type", "size", "created_at")),
)
_MESSAGE_JOINS = "LEFT JOIN users s ON s.id = m.sender_id LEFT JOIN chat_attachments f ON f.id = m.attachment_id"


def _message_columns(prefix: str = "") -> str:
    """The message's columns, each named ``prefix`` + its name (a prefix lets them share a row with a room's)."""
    return ", ".join(expr if expr == f"m.{name}" and not prefix else f"{expr} AS {prefix}{name}"
                     for expr, name in _MESSAGE_COLUMNS)


_MESSAGE_SELECT = f"SELECT {_message_columns()} FROM support_chat_messages m {_MESSAGE_JOINS}"


async def insert_message(
    conn: Connection,
    *,
    room_id: int,
    sender_id: int | None,
    sender_role: str,
    body: str,
    attachment_id: int | None = None,
    idempotency_key: str | None = None,
    system: tuple[str, dict[str, Any]] | None = None,
    note_mentions: list[int] | None = None,
) -> int | None:
    """The new message id, or None when (sender, idempotency key) already exists.

    ``system``: a system message's catalogue code and parameters (rendered per reader).
    ``note_mentions``: given (even empty), the row is a private note for support only,
    mentioning these admins.
    """
    value = await conn.fetch_val(
        f"{_INSERT_MESSAGE} RETURNING id",
        *_message_values(room_id, sender_id, sender_role, body, attachment_id, idempotency_key, system, note_mentions),
    )
    return None if value is None else int(value)


_INSERT_MESSAGE = (
    "INSERT INTO support_chat_messages "
    "(room_id, sender_id, sender_role, body, attachment_id, idempotency_key, created_at, "
    "system_code, system_params, kind, mentions) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sender_id, idempotency_key) DO NOTHING"
)


def _message_values(
    room_id: int,
    sender_id: int | None,
    sender_role: str,
    body: str,
    attachment_id: int | None,
    idempotency_key: str | None,
    system: tuple[str, dict[str, Any]] | None,
    note_mentions: list[int] | None,
) -> tuple[Any, ...]:
    return (
        room_id,
        sender_id,
        sender_role,
        body,
        attachment_id,
        idempotency_key,
        utcnow(),
        system[0] if system else None,
        json.dumps(system[1], ensure_ascii=False) if system else None,
        "message" if note_mentions is None else "note",
        None if note_mentions is None else json.dumps(note_mentions),
    )


async def store_message(
    conn: Connection,
    *,
    room_id: int,
    sender_id: int,
    sender_role: str,
    body: str,
    attachment_id: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[Message, int | None] | None:
    """A visitor's or agent's new message as stored, and the id of the room's message before it
    (:func:`previous_message_id`); None when (sender, idempotency key) already exists.

    On PostgreSQL one statement inserts and reads back: two round trips fewer per message. Its
    read of the message before sees the room as the insert did, as a statement of its own
    right after would (a message another transaction commits meanwhile is missed either way;
    clients then find it by their resync).
    """
    values = _message_values(room_id, sender_id, sender_role, body, attachment_id, idempotency_key, None, None)
    if conn.dialect == "postgres":
        previous = (
            "(SELECT MAX(p.id) FROM support_chat_messages p WHERE p.room_id = m.room_id AND p.id < m.id "
            "AND p.kind = 'message') AS previous_id"
        )
        row = await conn.fetch_one(
            f"WITH ins AS ({_INSERT_MESSAGE} RETURNING *) "
            + _MESSAGE_SELECT.replace("FROM support_chat_messages m", f", {previous} FROM ins m", 1),
            *values,
        )
        if row is None:
            return None
        return Message.from_row(row), None if row["previous_id"] is None else int(row["previous_id"])
    message_id = await conn.fetch_val(f"{_INSERT_MESSAGE} RETURNING id", *values)
    if message_id is None:
        return None
    message = await get_message(conn, int(message_id))
    assert message is not None
    return message, await previous_message_id(conn, room_id, message.id)


_MSG = "msg__"


async def store_and_move(
    conn: Connection,
    *,
    room_id: int,
    sender_id: int,
    sender_role: str,
    body: str,
    preview: str,
    attachment_id: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[Message, int | None, Room] | None:
    """:func:`store_message` then :func:`after_message_stored` (the writer's typing ended): the
    message, the id of the room's message before it, and the room as it now is; None when
    (sender, idempotency key) already exists, and then nothing changed.

    On PostgreSQL one statement does both, one round trip fewer for every message. The room's
    last message is the new one, which that statement's own reads cannot see: a visitor's or
    agent's message carries no system code, so the room's ``last_system_*`` are NULL.
    """
    if conn.dialect != "postgres":
        stored = await store_message(conn, room_id=room_id, sender_id=sender_id, sender_role=sender_role,
                                     body=body, attachment_id=attachment_id, idempotency_key=idempotency_key)
        if stored is None:
            return None
        room = await after_message_stored(conn, room_id, sender_role, preview, writer_id=sender_id)
        return stored[0], stored[1], room
    _, moved_args = _room_moves(room_id, sender_role, preview, sender_id, when=_STORED)
    row = await conn.fetch_one(
        _store_and_move_sql(sender_role),
        *_message_values(room_id, sender_id, sender_role, body, attachment_id, idempotency_key, None, None),
        *moved_args,
    )
    if row is None:
        return None
    message_row = {name: row.pop(key) for key, name in _STORED_MESSAGE_KEYS}
    previous_id = message_row.pop("previous_id")
    return Message.from_row(message_row), None if previous_id is None else int(previous_id), Room.from_row(row)


_STORED = "EXISTS (SELECT 1 FROM ins)"
# The message's columns in store_and_move's row (prefixed, to share it with the room's), and their names.
_STORED_MESSAGE_KEYS = (
    *((f"{_MSG}{name}", name) for _, name in _MESSAGE_COLUMNS), (f"{_MSG}previous_id", "previous_id"),
)


@cache
def _store_and_move_sql(sender_role: str) -> str:
    previous = (
        "(SELECT MAX(p.id) FROM support_chat_messages p WHERE p.room_id = m.room_id AND p.id < m.id "
        f"AND p.kind = 'message') AS {_MSG}previous_id"
    )
    return (
        f"WITH ins AS ({_INSERT_MESSAGE} RETURNING *), {_room_moves_sql(sender_role, True, _STORED)} "
        f"SELECT {_ROOM_COLUMNS}, NULL AS last_system_code, NULL AS last_system_params, "
        f"{_message_columns(_MSG)}, {previous} "
        f"FROM moved r JOIN users u ON u.id = r.user_id, ins m {_MESSAGE_JOINS}"
    )


class QueuedEvents(NamedTuple):
    """The events :func:`store_in_active_room` queues with the message, named by chatapp.events:
    the message on its room's channel and on the admin feed, and for support's reply the
    visitor's unread total on their own channel (in that order)."""

    room_prefix: str  # + the room's id: the conversation's channel
    message_sent: str
    feed: str
    feed_message: str
    user_prefix: str  # + the visitor's id
    unread_updated: str
    socket_id: str | None  # the sender's connection, left out of the room channel's event


async def store_in_active_room(
    conn: Connection,
    *,
    room_id: int | None,
    sender_id: int,
    sender_role: str,
    body: str,
    preview: str,
    idempotency_key: str | None = None,
    queue: QueuedEvents | None = None,
    with_push: bool = False,
) -> StoredAtOnce | None:
    """PostgreSQL: :func:`store_and_move` for a text message to a room that needs nothing more
    than the message, found by the same statement, which also writes the message's events to the
    outbox (``queue``; rows that name the message, rendered by the relay when it sends). Being one
    statement it needs no transaction around it: one round trip where reading the room, storing,
    queueing and committing took five. The fourth value is, for support's reply, the visitor's
    unread count over all their chats (what :func:`unread_for_user` would say after it; None for
    a visitor's message). With ``with_push`` it also reads whose Web Push subscriptions the
    message may go to, as :func:`push_subscriptions_for` and :func:`admin_push_subscriptions`
    would, so a send needs no read of its own for them (chatapp.push). None (and nothing
    changed) when there is no such room, or when
    (sender, key) exists already, and always on SQLite: then the caller takes the general way,
    which says why.

    Such a room is, for a visitor, their own current room (``room_id``, or else the newest not
    closed), open or assigned and not snoozed; for support, room ``room_id`` while someone is
    assigned to it and it is not resolved (a reply to an unassigned chat takes it; to a
    resolved one, reopens it). These are exactly the rooms where :meth:`ChatService.send`
    would change nothing but what :func:`store_and_move` does.
    """
    if conn.dialect != "postgres" or (room_id is None and sender_role != "user"):
        return None
    target_args: tuple[Any, ...]
    if sender_role == "user":
        target_args = (sender_id,) if room_id is None else (room_id, sender_id)
    else:
        target_args = (room_id,)
    now = utcnow()
    preview_args = [now, preview, now, *([now] if sender_role == "admin" else [])]
    queue_args: list[Any] = []
    if queue is not None:
        queue_args = [now, now, queue.room_prefix, queue.message_sent, queue.socket_id, queue.feed, queue.feed_message]
        if sender_role == "admin":
            queue_args += [queue.user_prefix, queue.unread_updated]
    row = await conn.fetch_one(
        _active_room_store_sql(sender_role, room_id is None, queue is not None, with_push),
        *target_args, sender_id, sender_role, body, idempotency_key, now,
        sender_id, *preview_args, *queue_args,
    )
    if row is None:
        return None
    visitor_unread = row.pop(f"{_MSG}visitor_unread", None)
    subscriptions = row.pop(f"{_MSG}push", None)
    message_row = {name: row.pop(key) for key, name in _STORED_MESSAGE_KEYS}
    previous_id = message_row.pop("previous_id")
    return StoredAtOnce(Message.from_row(message_row), None if previous_id is None else int(previous_id),
                        Room.from_row(row), None if visitor_unread is None else int(visitor_unread),
                        None if subscriptions is None else json.loads(subscriptions))


class StoredAtOnce(NamedTuple):
    """What :func:`store_in_active_room` stored, and what it read with it."""

    message: Message
    previous_id: int | None  # the room's message before it
    room: Room  # after the message
    visitor_unread: int | None  # support's reply: the visitor's unread count over all their chats
    # with_push: the subscriptions a push about this message goes to (the visitor's for a reply;
    # every admin's for a visitor's message in an unassigned chat); None where it was not read
    push_subscriptions: list[dict[str, Any]] | None


# A push subscription as chatapp.push reads it: columns of ``s`` (push_subscriptions), and its
# user's locale. The reads below select them; the one-statement store builds them as JSON.
_PUSH_COLUMNS = ("endpoint", "p256dh", "auth", "user_id")
_PUSH_SELECT = f"SELECT {', '.join(f's.{c}' for c in _PUSH_COLUMNS)}, u.locale FROM push_subscriptions s "
_PUSH_TARGET = ("json_build_object(" + ", ".join(f"'{c}', s.{c}" for c in _PUSH_COLUMNS)
                + ", 'locale', {user}.locale)")


@cache
def _active_room_store_sql(sender_role: str, newest: bool, queued: bool, with_push: bool = False) -> str:
    if sender_role == "user":
        where = "user_id = ? AND status <> 'closed'" if newest else "id = ? AND user_id = ?"
        target = f"SELECT id FROM support_chat_rooms WHERE {where} ORDER BY id DESC LIMIT 1"
        ready = f"r.status IN {_ACTIVE} AND r.snoozed_at IS NULL"
    else:
        target = "SELECT id FROM support_chat_rooms WHERE id = ?"
        ready = f"r.status IN {_ACTIVE} AND r.assigned_admin_id IS NOT NULL"
    insert = (
        "INSERT INTO support_chat_messages (room_id, sender_id, sender_role, body, idempotency_key, created_at) "
        "SELECT r.id, ?::bigint, ?::text, ?::text, ?::text, ?::timestamptz "
        f"FROM support_chat_rooms r WHERE r.id = (SELECT id FROM target) AND {ready} "
        "ON CONFLICT (sender_id, idempotency_key) DO NOTHING RETURNING *"
    )
    previous = (
        "prev AS (SELECT (SELECT MAX(p.id) FROM support_chat_messages p WHERE p.room_id = i.room_id "
        "AND p.id < i.id AND p.kind = 'message') AS id FROM ins i)"
    )
    moves = _room_moves_sql(sender_role, True, _STORED, "(SELECT room_id FROM ins)")
    ctes = [f"target AS ({target})", f"ins AS ({insert})", moves, previous]
    if sender_role == "admin":  # its reads see the rooms as they were: the others' counts, plus this one's new
        ctes.append(
            "counted AS (SELECT r.id AS room_id, r.user_id, (SELECT COALESCE(SUM(o.user_unread_count), 0) "
            "FROM support_chat_rooms o WHERE o.user_id = r.user_id AND o.id <> r.id) + r.user_unread_count AS unread "
            "FROM moved r)"
        )
    if queued:  # the events in their order: the room's, the feed's, then (a reply) the visitor's count
        ref = "json_build_object('room_id', i.room_id, 'previous_id', prev.id"
        rows = [
            f"(1, ?::text || i.room_id, ?::text, {ref})::text, ?::text, i.id)",
            f"(2, ?::text, ?::text, {ref}, 'with_room', true)::text, NULL, i.id)",
        ]
        sources = "ins i, prev"
        if sender_role == "admin":
            rows.append("(3, ?::text || c.user_id, ?::text, json_build_object('room_id', c.room_id, "
                        "'unread_count', c.unread)::text, NULL, NULL::bigint)")
            sources += ", counted c"
        ctes.append(
            "queued AS (INSERT INTO outbox (channel, name, data, socket_id, created_at, next_attempt_at, message_id) "
            "SELECT q.channel, q.name, q.data, q.socket_id, ?::timestamptz, ?::timestamptz, q.message_id "
            f"FROM {sources}, LATERAL (VALUES {', '.join(rows)}) AS q(n, channel, name, data, socket_id, message_id) "
            "ORDER BY q.n)"
        )
    unread = f", c.unread AS {_MSG}visitor_unread" if sender_role == "admin" else ""
    counted = ", counted c" if sender_role == "admin" else ""
    push = ""
    if with_push and sender_role == "admin":  # the visitor's, whoever is assigned
        push = (f", (SELECT COALESCE(json_agg({_PUSH_TARGET.format(user='u')}), '[]')::text "
                f"FROM push_subscriptions s WHERE s.user_id = r.user_id) AS {_MSG}push")
    elif with_push:  # every admin's when no one is assigned; the assignee's are read only if they are offline
        push = (f", CASE WHEN r.assigned_admin_id IS NULL THEN (SELECT COALESCE(json_agg("
                f"{_PUSH_TARGET.format(user='a')}), '[]')::text FROM push_subscriptions s JOIN users a "
                f"ON a.id = s.user_id WHERE a.role = 'admin') END AS {_MSG}push")
    return (
        f"WITH {', '.join(ctes)} "
        f"SELECT {_ROOM_COLUMNS}, NULL AS last_system_code, NULL AS last_system_params, "
        f"{_message_columns(_MSG)}, prev.id AS {_MSG}previous_id{unread}{push} "
        f"FROM moved r JOIN users u ON u.id = r.user_id, ins m {_MESSAGE_JOINS}, prev{counted}"
    )


async def messages_with_rooms(conn: Connection, ids: Sequence[int]) -> list[tuple[Message, Room]]:
    """These messages (notes too), those that still exist, each with its room as it is now, in
    one read (the outbox relay renders a stored message's events from both); any order."""
    if not ids:
        return []
    rows = await conn.fetch_all(
        f"SELECT {_ROOM_COLUMNS}, {LAST_SYSTEM_COLUMNS}, {_message_columns(_MSG)} FROM support_chat_messages m "
        f"{_MESSAGE_JOINS} JOIN support_chat_rooms r ON r.id = m.room_id JOIN users u ON u.id = r.user_id "
        f"{LAST_SYSTEM_JOIN} WHERE m.id IN ({placeholders(ids)})", *ids)
    out = []
    for row in rows:
        message = Message.from_row({name: row.pop(f"{_MSG}{name}") for _, name in _MESSAGE_COLUMNS})
        out.append((message, Room.from_row(row)))
    return out


async def get_message(conn: Connection, message_id: int) -> Message | None:
    row = await conn.fetch_one(f"{_MESSAGE_SELECT} WHERE m.id = ?", message_id)
    return Message.from_row(row) if row else None


async def find_idempotent(conn: Connection, sender_id: int, key: str) -> Message | None:
    row = await conn.fetch_one(f"{_MESSAGE_SELECT} WHERE m.sender_id = ? AND m.idempotency_key = ?", sender_id, key)
    return Message.from_row(row) if row else None


# What a visitor may see: never a private note. Every query a visitor's route reaches keeps this
# filter by default; support's own routes ask for notes with ``notes=True``.
_VISIBLE = "m.kind = 'message'"


def _audience(notes: bool) -> str:
    return "" if notes else f" AND {_VISIBLE}"


async def messages_before(
    conn: Connection, room_id: int, before: int | None, limit: int, *, notes: bool = False
) -> list[Message]:
    """Up to ``limit`` messages older than ``before`` (newest page when None), oldest first.

    Private notes only with ``notes`` (support's view); never for a visitor.
    """
    only = _audience(notes)
    if before is None:
        rows = await conn.fetch_all(
            f"{_MESSAGE_SELECT} WHERE m.room_id = ?{only} ORDER BY m.id DESC LIMIT ?", room_id, limit
        )
    else:
        rows = await conn.fetch_all(
            f"{_MESSAGE_SELECT} WHERE m.room_id = ? AND m.id < ?{only} ORDER BY m.id DESC LIMIT ?",
            room_id,
            before,
            limit,
        )
    return [Message.from_row(r) for r in reversed(rows)]


async def messages_after(
    conn: Connection, room_id: int, after: int, limit: int, *, notes: bool = False
) -> list[Message]:
    """Catch-up: messages newer than ``after``, oldest first (notes only with ``notes``)."""
    rows = await conn.fetch_all(
        f"{_MESSAGE_SELECT} WHERE m.room_id = ? AND m.id > ?{_audience(notes)} ORDER BY m.id ASC LIMIT ?",
        room_id,
        after,
        limit,
    )
    return [Message.from_row(r) for r in rows]


async def previous_message_id(conn: Connection, room_id: int, message_id: int) -> int | None:
    """The id of the room's message before ``message_id`` (what a client must hold to have no gap).

    Notes do not count: the visitor never holds one, and support holds the messages too.
    """
    value = await conn.fetch_val(
        "SELECT MAX(id) FROM support_chat_messages m WHERE m.room_id = ? AND m.id < ? AND " + _VISIBLE,
        room_id,
        message_id,
    )
    return None if value is None else int(value)


async def after_message_stored(
    conn: Connection, room_id: int, sender_role: str, preview: str, *, writer_id: int | None = None
) -> Room:
    """Move the room's last-message fields and the other side's unread counter; with
    ``writer_id``, also end that user's typing indicator in the room (they have sent). Returns
    the room as it now is.

    On PostgreSQL it all goes in one statement that also reads the room back: two round trips
    fewer for every message.
    """
    if conn.dialect == "postgres":
        # The room is read from the UPDATE's own result; its latest message (an earlier statement
        # of this transaction) is visible to the read.
        moved_sql, args = _room_moves(room_id, sender_role, preview, writer_id)
        row = await conn.fetch_one(
            f"WITH {moved_sql} " + _ROOM_SELECT.replace("FROM support_chat_rooms r", "FROM moved r", 1), *args
        )
        assert row is not None, f"room {room_id} is gone"
        return Room.from_row(row)
    update, agents, _typing, update_args = _room_move_statements(room_id, sender_role, preview, writer_id)
    await conn.execute(update, *update_args)
    if agents:
        await conn.execute(agents, room_id)
    if writer_id is not None:
        await clear_typing(conn, room_id, writer_id)
    room = await get_room(conn, room_id)
    assert room is not None, f"room {room_id} is gone"
    return room


@cache
def _room_move_sql(sender_role: str, has_writer: bool, room: str = "?") -> tuple[str, str, str]:
    """What a new message changes: the room's UPDATE, the agents' unread counters' UPDATE and
    the writer's typing indicator's DELETE ('' when there is none), for the room whose id
    ``room`` gives (an argument, or an expression). Built once per kind of message: the text is
    the same for every message of one sender role."""
    counter = {"user": "admin_unread_count", "admin": "user_unread_count"}.get(sender_role)
    bump = f", {counter} = {counter} + 1" if counter else ""
    if sender_role == "admin":  # the reports' first response time, in the same statement
        bump += ", first_response_at = COALESCE(first_response_at, ?)"
    update = (
        f"UPDATE support_chat_rooms SET last_message_at = ?, last_message_preview = ?, updated_at = ?{bump} "
        f"WHERE id = {room}"
    )
    # The visitor wrote: every agent keeping their own count in the room has one more unread.
    agents = f"UPDATE agent_reads SET unread_count = unread_count + 1 WHERE room_id = {room}"
    typing = f"DELETE FROM chat_typing_indicators WHERE room_id = {room} AND user_id = ?" if has_writer else ""
    return update, agents if sender_role == "user" else "", typing


def _room_update_args(room_id: int, sender_role: str, preview: str) -> list[Any]:
    """The arguments of :func:`_room_move_sql`'s room UPDATE."""
    now = utcnow()
    return [now, preview, now, *([now] if sender_role == "admin" else []), room_id]


def _room_move_statements(
    room_id: int, sender_role: str, preview: str, writer_id: int | None
) -> tuple[str, str, str, list[Any]]:
    """:func:`_room_move_sql`'s statements and the room UPDATE's arguments."""
    update, agents, typing = _room_move_sql(sender_role, writer_id is not None)
    return update, agents, typing, _room_update_args(room_id, sender_role, preview)


@cache
def _room_moves_sql(sender_role: str, has_writer: bool, when: str, room: str = "?") -> str:
    """PostgreSQL: :func:`_room_move_sql`'s changes as CTEs (``typing``, ``agents``, ``moved``
    returning the room), each only ``when`` that condition holds."""
    update, agents, typing = _room_move_sql(sender_role, has_writer, room)
    also = f" AND {when}" if when else ""
    ctes = [f"{name} AS ({sql}{also})" for name, sql in (("typing", typing), ("agents", agents)) if sql]
    ctes.append(f"moved AS ({update}{also} RETURNING *)")
    return ", ".join(ctes)


def _room_moves(
    room_id: int, sender_role: str, preview: str, writer_id: int | None, when: str = ""
) -> tuple[str, list[Any]]:
    """:func:`_room_moves_sql` with its arguments."""
    args: list[Any] = [room_id, writer_id] if writer_id is not None else []
    if sender_role == "user":
        args.append(room_id)
    sql = _room_moves_sql(sender_role, writer_id is not None, when)
    return sql, args + _room_update_args(room_id, sender_role, preview)


async def mark_read(
    conn: Connection, room_id: int, reader_side: str, *, reader_id: int | None = None
) -> tuple[list[int], datetime]:
    """Mark the other side's unread messages read; (the ids marked, oldest first; when).

    One UPDATE picks and marks the rows, so a message committed meanwhile is neither marked
    nor named. The unread counter goes down by the messages it counted among those marked
    (counters only ever move by the rows that moved them, never reset to a guess). An agent
    (``reader_id``) also reads for themselves only: see :func:`agent_read`.
    """
    senders = "('admin', 'system')" if reader_side == "user" else "('user')"
    counter, counted_role = ("user_unread_count", "admin") if reader_side == "user" else ("admin_unread_count", "user")
    if conn.dialect == "postgres":
        # The room first: two reads of one room would otherwise lock its message rows in
        # whatever order each scan meets them and can deadlock. (SQLite runs one writer.)
        await conn.fetch_val("SELECT id FROM support_chat_rooms WHERE id = ? FOR NO KEY UPDATE", room_id)
    now = utcnow()
    if reader_side == "admin" and reader_id is not None:
        await agent_read(conn, room_id, reader_id, now)
    rows = await conn.fetch_all(
        f"UPDATE support_chat_messages SET read_at = ? WHERE room_id = ? AND sender_role IN {senders} "
        "AND kind = 'message' AND read_at IS NULL RETURNING id, sender_role",
        now,
        room_id,
    )
    counted = sum(1 for r in rows if r["sender_role"] == counted_role)
    if counted:
        await conn.execute(
            f"UPDATE support_chat_rooms SET {counter} = CASE WHEN {counter} > ? THEN {counter} - ? ELSE 0 END "
            "WHERE id = ?",
            counted,
            counted,
            room_id,
        )
    return sorted(int(r["id"]) for r in rows), now


async def agent_read(conn: Connection, room_id: int, reader_id: int, when: datetime) -> None:
    """``reader_id`` has read the room: their own count goes to 0, nobody else's moves.

    Run before the team's count goes down: an assignee who kept no count of their own gets
    one first, the team's as it stands, so a supervisor's read does not clear theirs.
    """
    await conn.execute(
        "INSERT INTO agent_reads (room_id, admin_id, unread_count, read_at) "
        "SELECT id, assigned_admin_id, admin_unread_count, NULL FROM support_chat_rooms "
        "WHERE id = ? AND assigned_admin_id IS NOT NULL AND assigned_admin_id <> ? "
        "ON CONFLICT (room_id, admin_id) DO NOTHING",
        room_id,
        reader_id,
    )
    await conn.execute(
        "INSERT INTO agent_reads (room_id, admin_id, unread_count, read_at) VALUES (?, ?, 0, ?) "
        "ON CONFLICT (room_id, admin_id) DO UPDATE SET unread_count = 0, read_at = excluded.read_at",
        room_id,
        reader_id,
        when,
    )


# ------------------------------------------------------------------- attachments


async def insert_attachment(
    conn: Connection,
    *,
    room_id: int,
    uploader_id: int,
    stored_name: str,
    original_name: str,
    content_type: str,
    size: int,
) -> Attachment:
    row = await conn.fetch_one(
        "INSERT INTO chat_attachments (room_id, uploader_id, stored_name, original_name, content_type, size, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
        room_id,
        uploader_id,
        stored_name,
        original_name,
        content_type,
        size,
        utcnow(),
    )
    assert row is not None
    return Attachment.from_row(row)


async def get_attachment(conn: Connection, attachment_id: int) -> Attachment | None:
    row = await conn.fetch_one("SELECT * FROM chat_attachments WHERE id = ?", attachment_id)
    return Attachment.from_row(row) if row else None


async def get_attachment_by_name(conn: Connection, stored_name: str) -> Attachment | None:
    row = await conn.fetch_one("SELECT * FROM chat_attachments WHERE stored_name = ?", stored_name)
    return Attachment.from_row(row) if row else None


# ------------------------------------------------------------------------ typing


async def set_typing(conn: Connection, room_id: int, user_id: int, role: str, expires_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO chat_typing_indicators (room_id, user_id, role, expires_at, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (room_id, user_id) DO UPDATE SET role = excluded.role, expires_at = excluded.expires_at, "
        "updated_at = excluded.updated_at",
        room_id,
        user_id,
        role,
        expires_at,
        utcnow(),
    )


async def clear_typing(conn: Connection, room_id: int, user_id: int) -> None:
    await conn.execute("DELETE FROM chat_typing_indicators WHERE room_id = ? AND user_id = ?", room_id, user_id)


async def typing_in_room(conn: Connection, room_id: int) -> list[dict[str, Any]]:
    rows = await conn.fetch_all(
        "SELECT t.user_id, t.role, u.name FROM chat_typing_indicators t JOIN users u ON u.id = t.user_id "
        "WHERE t.room_id = ? AND t.expires_at > ? ORDER BY t.updated_at",
        room_id,
        utcnow(),
    )
    return [{"user_id": r["user_id"], "role": r["role"], "name": r["name"]} for r in rows]


async def purge_typing(conn: Connection) -> int:
    return await conn.execute("DELETE FROM chat_typing_indicators WHERE expires_at < ?", utcnow())


# ------------------------------------------------------------ push subscriptions


async def save_push_subscription(
    conn: Connection, *, user_id: int, endpoint: str, p256dh: str, auth: str, user_agent: str
) -> bool:
    """Store or refresh the caller's endpoint; False (nothing changed) when another user owns it."""
    changed = await conn.execute(
        "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, user_agent, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh, "
        "auth = excluded.auth, user_agent = excluded.user_agent, created_at = excluded.created_at "
        "WHERE push_subscriptions.user_id = excluded.user_id",
        user_id,
        endpoint,
        p256dh,
        auth,
        user_agent,
        utcnow(),
    )
    return changed > 0


async def keep_newest_push_subscriptions(conn: Connection, user_id: int, keep: int) -> int:
    """Forget all but the ``keep`` most recently registered subscriptions of ``user_id``."""
    return await conn.execute(
        "DELETE FROM push_subscriptions WHERE user_id = ? AND id NOT IN (SELECT id FROM push_subscriptions "
        "WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?)",
        user_id,
        user_id,
        keep,
    )


async def delete_push_subscription(conn: Connection, user_id: int, endpoint: str) -> int:
    return await conn.execute("DELETE FROM push_subscriptions WHERE user_id = ? AND endpoint = ?", user_id, endpoint)


async def delete_push_endpoint(conn: Connection, endpoint: str) -> None:
    await conn.execute("DELETE FROM push_subscriptions WHERE endpoint = ?", endpoint)


async def touch_push_subscription(conn: Connection, endpoint: str) -> None:
    await conn.execute("UPDATE push_subscriptions SET last_used_at = ? WHERE endpoint = ?", utcnow(), endpoint)


async def push_subscriptions_for(conn: Connection, user_ids: list[int]) -> list[dict[str, Any]]:
    if not user_ids:
        return []
    marks = ", ".join("?" for _ in user_ids)
    return await conn.fetch_all(
        f"{_PUSH_SELECT}JOIN users u ON u.id = s.user_id WHERE s.user_id IN ({marks})",
        *user_ids,
    )


async def admin_push_subscriptions(conn: Connection) -> list[dict[str, Any]]:
    """Every support admin's push subscriptions (the admins through their partial index, migration 010)."""
    return await conn.fetch_all(
        f"{_PUSH_SELECT}JOIN users u ON u.id = s.user_id WHERE u.role = 'admin'"
    )


async def count_push_subscriptions(conn: Connection, user_id: int) -> int:
    return int(await conn.fetch_val("SELECT COUNT(*) FROM push_subscriptions WHERE user_id = ?", user_id) or 0)


# ----------------------------------------------------------------------- secrets


async def get_or_create_secret(conn: Connection, name: str, candidate: str) -> str:
    """Store ``candidate`` unless another instance stored one first; return the winner."""
    await conn.execute(
        "INSERT INTO app_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
        name,
        candidate,
        utcnow(),
    )
    value = await conn.fetch_val("SELECT value FROM app_secrets WHERE name = ?", name)
    return str(value)


# ----------------------------------------------------------------- auth sessions

_SESSION_SELECT = (
    "SELECT s.id AS session_id, s.created_at AS session_created_at, s.last_seen_at, s.expires_at, s.revoked_at, "
    "u.deactivated_at, u.id, u.role, u.name, u.email, u.external_id, u.created_at, u.email_verified_at, u.locale, "
    "u.staff_role FROM auth_sessions s JOIN users u ON u.id = s.user_id"
)


async def create_session(
    conn: Connection,
    *,
    session_id: str,
    user_id: int,
    expires_at: datetime,
    user_agent: str,
    ip: str,
    created_at: datetime | None = None,
) -> bool:
    """Record a new signed-in device; False when the account is deactivated (or gone)."""
    now = created_at or utcnow()
    inserted = await conn.execute(
        "INSERT INTO auth_sessions (id, user_id, created_at, last_seen_at, expires_at, user_agent, ip) "
        "SELECT ?, id, ?, ?, ?, ?, ? FROM users WHERE id = ? AND deactivated_at IS NULL",
        session_id,
        now,
        now,
        expires_at,
        user_agent,
        ip,
        user_id,
    )
    return inserted == 1


async def get_session(conn: Connection, session_id: str) -> AuthSession | None:
    """The session and its account in one primary-key lookup (run on every API call)."""
    row = await conn.fetch_one(f"{_SESSION_SELECT} WHERE s.id = ?", session_id)
    return AuthSession.from_row(row) if row else None


async def count_sessions(conn: Connection, user_id: int) -> int:
    return int(await conn.fetch_val("SELECT COUNT(*) FROM auth_sessions WHERE user_id = ?", user_id) or 0)


async def touch_session(conn: Connection, session_id: str, seen_at: datetime) -> None:
    await conn.execute("UPDATE auth_sessions SET last_seen_at = ? WHERE id = ?", seen_at, session_id)


async def touch_user_activity(conn: Connection, user_id: int, now: datetime, every: timedelta) -> int:
    """Record activity unless one was recorded less than ``every`` ago (so at most one write per interval)."""
    return await conn.execute(
        "UPDATE users SET last_active_at = ? WHERE id = ? AND (last_active_at IS NULL OR last_active_at <= ?)",
        now, user_id, now - every,
    )


async def revoke_session(conn: Connection, session_id: str) -> int:
    return await conn.execute(
        "UPDATE auth_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", utcnow(), session_id
    )


async def change_access(
    conn: Connection,
    user_id: int,
    *,
    role: str | None = None,
    password_hash: str | None = None,
    deactivated: bool | None = None,
) -> int:
    """Change what lets an account in (role, password, active or not) and revoke all its sessions.

    The only way these change, so no token issued under the old terms outlives them.
    Run it in a transaction; returns how many sessions were revoked. With no change
    given it only revokes ("sign out everywhere").
    """
    now = utcnow()
    if role is not None:
        await conn.execute(
            "UPDATE users SET role = ?, "
            "staff_role = CASE WHEN CAST(? AS TEXT) = 'admin' THEN COALESCE(staff_role, 'admin') END WHERE id = ?",
            role, role, user_id,
        )
    if password_hash is not None:
        await conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", password_hash, user_id)
    if deactivated is not None:
        await conn.execute("UPDATE users SET deactivated_at = ? WHERE id = ?", now if deactivated else None, user_id)
    return await conn.execute(
        "UPDATE auth_sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", now, user_id
    )


async def delete_dead_sessions(conn: Connection, ended_before: datetime) -> int:
    """Forget sessions that expired or were revoked before ``ended_before``."""
    return await conn.execute(
        "DELETE FROM auth_sessions WHERE expires_at < ? OR revoked_at < ?", ended_before, ended_before
    )


async def get_password_hash(conn: Connection, user_id: int) -> str | None:
    value = await conn.fetch_val("SELECT password_hash FROM users WHERE id = ?", user_id)
    return None if value is None else str(value)


# ---------------------------------------------------------------- canned replies

_CANNED_COLUMNS = "id, owner_id, code, body, created_by, created_at, updated_at"


async def canned_replies_for(conn: Connection, user_id: int) -> list[CannedReply]:
    """The team's replies and this agent's own, by code (an agent's own first on a shared code)."""
    rows = await conn.fetch_all(
        f"SELECT {_CANNED_COLUMNS} FROM canned_replies WHERE owner_id IS NULL OR owner_id = ? "
        "ORDER BY code, CASE WHEN owner_id IS NULL THEN 1 ELSE 0 END, id",
        user_id,
    )
    return [CannedReply.from_row(r) for r in rows]


async def get_canned_reply(conn: Connection, reply_id: int) -> CannedReply | None:
    row = await conn.fetch_one(f"SELECT {_CANNED_COLUMNS} FROM canned_replies WHERE id = ?", reply_id)
    return CannedReply.from_row(row) if row else None


async def insert_canned_reply(
    conn: Connection, *, owner_id: int | None, code: str, body: str, created_by: int
) -> CannedReply:
    """Raises :class:`~chatapp.db.IntegrityError` when the code is taken in that scope."""
    now = utcnow()
    row = await conn.fetch_one(
        "INSERT INTO canned_replies (owner_id, code, body, created_by, created_at, updated_at) "
        f"VALUES (?, ?, ?, ?, ?, ?) RETURNING {_CANNED_COLUMNS}",
        owner_id,
        code,
        body,
        created_by,
        now,
        now,
    )
    assert row is not None
    return CannedReply.from_row(row)


async def update_canned_reply(
    conn: Connection, reply_id: int, *, owner_id: int | None, code: str, body: str
) -> CannedReply | None:
    """Raises :class:`~chatapp.db.IntegrityError` when the new code is taken in the new scope."""
    row = await conn.fetch_one(
        "UPDATE canned_replies SET owner_id = ?, code = ?, body = ?, updated_at = ? "
        f"WHERE id = ? RETURNING {_CANNED_COLUMNS}",
        owner_id,
        code,
        body,
        utcnow(),
        reply_id,
    )
    return CannedReply.from_row(row) if row else None


async def delete_canned_reply(conn: Connection, reply_id: int) -> int:
    return await conn.execute("DELETE FROM canned_replies WHERE id = ?", reply_id)
