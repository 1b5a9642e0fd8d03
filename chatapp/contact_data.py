"""A contact's own data: an export as one archive, and erasure everywhere (both audited).

Export (``GET /api/admin/contacts/{user_id}/export``) reads the contact's account, rooms,
messages (never private notes: those are support's own data), attachments' metadata, Web
Push endpoints, the pages the widget reported (chatapp.page_context), the host site's attributes,
the pre-chat form's answers (chatapp.prechat_store),
sign-in sessions' metadata and the e-mails addressed to them in one
transaction, records the export in the audit log in that same transaction, and streams a
zip: ``contact.json`` plus every attachment's bytes, read from the file storage a chunk at a
time (never a whole file or the whole archive in memory).

Erasure (``DELETE /api/admin/contacts/{user_id}``, and the visitor's own
``DELETE /api/chat/me``) removes in one transaction the account, its rooms, their
messages and attachment rows, typing indicators, page context and trail, push subscriptions, sign-in sessions, the
e-mails to them or about their rooms (``mail_outbox``, by its foreign keys) and the pending
outbox rows that name the contact or their rooms; the search index follows the rows
(SQLite's FTS5 tables by their triggers, PostgreSQL's indexed search columns with them).
The same transaction writes the audit entry and a ``room.removed`` event per room on the
admin feed, so every open inbox drops the chats. Once it has committed, the attachment
files (local or S3 objects) are deleted and the contact's live connections are ended.
Support admin accounts are refused (409): they are staff, not contacts.

The audit log entry never holds the contact's personal data: ids and counts only.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, cast

import orjson

from chatapp.audit import audit
from chatapp.broadcasting import Broadcaster
from chatapp.db import Connection, Database, Row, utcnow
from chatapp.errors import Conflict, NotFound
from chatapp.events import Events
from chatapp.models import User, iso
from chatapp.outbox import Outbox
from chatapp.policy import ADMIN_CHANNEL, room_channel, user_channel
from chatapp.site_attributes import load_attributes
from chatapp.stats_feed import StatsFeed
from chatapp.uploads import UploadStore

__all__ = [
    "ROOM_REMOVED",
    "ContactData",
    "ContactExport",
    "RemovedRooms",
    "delete_files",
    "remove_rooms",
]

log = logging.getLogger("chatapp")

ROOM_REMOVED = "room.removed"  # admin feed: {"room_id": id, "reason": "erased" | "retention"}
IN_CHUNK = 500  # ids per IN (...) list


# ------------------------------------------------------------- removing rooms


@dataclass
class RemovedRooms:
    """What :func:`remove_rooms` deleted: the rooms (id -> owner), row counts, files to delete."""

    rooms: dict[int, int] = field(default_factory=dict)
    messages: int = 0
    attachments: int = 0
    outbox_rows: int = 0
    files: list[str] = field(default_factory=list)
    files_by_room: dict[int, int] = field(default_factory=dict)


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i : i + IN_CHUNK] for i in range(0, len(ids), IN_CHUNK)]


def _marks(ids: Sequence[Any]) -> str:
    return ", ".join("?" for _ in ids)


async def _drop_pending_events(conn: Connection, room_ids: set[int], channels: list[str]) -> int:
    """Delete outbox rows not yet sent on ``channels`` or on the admin feed about ``room_ids``."""
    await conn.flush()  # events this transaction holds back for its commit are rows too
    dropped = 0
    for names in [channels[i : i + IN_CHUNK] for i in range(0, len(channels), IN_CHUNK)]:
        dropped += await conn.execute(f"DELETE FROM outbox WHERE channel IN ({_marks(names)})", *names)
    if not room_ids:
        return dropped
    naming: list[int] = []
    for row in await conn.fetch_all("SELECT id, data FROM outbox WHERE channel = ?", ADMIN_CHANNEL):
        try:
            data = orjson.loads(row["data"])
        except orjson.JSONDecodeError:
            continue
        room = data.get("room") if isinstance(data, dict) else None
        named = room.get("id") if isinstance(room, dict) else (data.get("room_id") if isinstance(data, dict) else None)
        if named in room_ids:
            naming.append(int(row["id"]))
    for part in _chunks(naming):
        dropped += await conn.execute(f"DELETE FROM outbox WHERE id IN ({_marks(part)})", *part)
    return dropped


async def remove_rooms(conn: Connection, room_ids: Sequence[int]) -> RemovedRooms:
    """Delete these rooms with their messages, attachment rows, typing indicators and pending events.

    Run it in a transaction that holds the rooms (PostgreSQL: ``FOR UPDATE``): only rooms that
    still exist count as removed. The attachment files are returned for :func:`delete_files`,
    to be deleted once the transaction has committed.
    """
    removed = RemovedRooms()
    for part in _chunks(list(room_ids)):
        marks = _marks(part)
        for row in await conn.fetch_all(
            f"SELECT room_id, stored_name FROM chat_attachments WHERE room_id IN ({marks})", *part
        ):
            removed.files.append(str(row["stored_name"]))
            room_id = int(row["room_id"])
            removed.files_by_room[room_id] = removed.files_by_room.get(room_id, 0) + 1
        removed.messages += await conn.execute(f"DELETE FROM support_chat_messages WHERE room_id IN ({marks})", *part)
        removed.attachments += await conn.execute(f"DELETE FROM chat_attachments WHERE room_id IN ({marks})", *part)
        await conn.execute(f"DELETE FROM chat_typing_indicators WHERE room_id IN ({marks})", *part)
        await conn.execute(f"DELETE FROM chat_page_views WHERE room_id IN ({marks})", *part)
        await conn.execute(f"DELETE FROM chat_room_context WHERE room_id IN ({marks})", *part)
        for row in await conn.fetch_all(
            f"DELETE FROM support_chat_rooms WHERE id IN ({marks}) RETURNING id, user_id", *part
        ):
            removed.rooms[int(row["id"])] = int(row["user_id"])
    gone = set(removed.rooms)
    removed.outbox_rows = await _drop_pending_events(conn, gone, [room_channel(r) for r in sorted(gone)])
    return removed


async def delete_files(uploads: UploadStore, names: Sequence[str]) -> int:
    """Delete stored files (after the rows that named them are gone); how many could not be."""
    failed = 0
    for name in names:
        try:
            await uploads.delete(name)
        except Exception:  # one storage fault must not keep the other files
            failed += 1
            log.exception("could not delete stored file %s", name)
    return failed


async def announce_removed(outbox: Outbox, conn: Connection, room_ids: Sequence[int], reason: str) -> None:
    """``room.removed`` on the admin feed for each room, in the deleting transaction."""
    for room_id in room_ids:
        await outbox.add(conn, [ADMIN_CHANNEL], ROOM_REMOVED, {"room_id": room_id, "reason": reason})


# ---------------------------------------------------------------------- export


@dataclass(frozen=True)
class ContactExport:
    user_id: int
    document: dict[str, Any]  # contact.json
    files: list[tuple[str, str]]  # (name in the archive, stored name)


class _Sink:
    """A write-only, unseekable file for :class:`zipfile.ZipFile`: what it writes is taken out in pieces."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _user_json(row: Row) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "role": row["role"],
        "name": row["name"],
        "email": row["email"],
        "email_verified": row["email"] is not None and row["email_verified_at"] is not None,
        "external_id": row["external_id"],
        "locale": row["locale"],
        "site_attributes": load_attributes(row["site_attributes"]),
        "created_at": iso(row["created_at"]),
        "deactivated_at": iso(row["deactivated_at"]),
    }


def _iso_fields(row: Row) -> dict[str, Any]:
    return {k: iso(v) if k.endswith("_at") else v for k, v in row.items()}


def _archive_name(attachment_id: int, original: str) -> str:
    safe = "".join(c if c.isalnum() or c in "._- " else "_" for c in original).strip() or "file"
    return f"attachments/{attachment_id}-{safe[:120]}"


# ---------------------------------------------------------------------- service


class ContactData:
    """Export and erase one contact's data; see the module docstring."""

    def __init__(
        self,
        db: Database,
        uploads: UploadStore,
        events: Events,
        broadcaster: Broadcaster | None = None,
        stats_feed: StatsFeed | None = None,
    ) -> None:
        self.db = db
        self.uploads = uploads
        self.events = events
        self.broadcaster = broadcaster
        self.stats_feed = stats_feed

    async def _contact(self, conn: Connection, user_id: int) -> Row:
        lock = " FOR UPDATE" if conn.dialect == "postgres" else ""
        row = await conn.fetch_one(
            "SELECT id, role, name, email, external_id, locale, created_at, email_verified_at, deactivated_at, "
            f"site_attributes FROM users WHERE id = ?{lock}",
            user_id,
        )
        if row is None:
            raise NotFound(f"No such contact: {user_id}", code="contact_not_found")
        if row["role"] == "admin":
            raise Conflict("Support admin accounts are staff, not contacts: they cannot be exported or erased here",
                           code="contact_is_admin")
        return row

    async def export(self, actor: User, user_id: int) -> ContactExport:
        """Everything of the contact's as ``contact.json`` and a file list; audited in the same transaction."""
        async with self.db.transaction() as conn:
            user = await self._contact(conn, user_id)
            rooms = await conn.fetch_all(
                "SELECT id, status, priority, subject, created_at, updated_at, last_message_at, resolved_at, "
                "closed_at FROM support_chat_rooms WHERE user_id = ? ORDER BY id",
                user_id,
            )
            in_rooms = "SELECT id FROM support_chat_rooms WHERE user_id = ?"
            messages = await conn.fetch_all(
                "SELECT m.id, m.room_id, m.sender_id, m.sender_role, s.name AS sender_name, m.body, m.attachment_id, "
                "m.system_code, m.system_params, m.read_at, m.created_at FROM support_chat_messages m "
                f"LEFT JOIN users s ON s.id = m.sender_id WHERE m.room_id IN ({in_rooms}) AND m.kind = 'message' "
                "ORDER BY m.id",
                user_id,
            )
            attachments = await conn.fetch_all(
                "SELECT id, room_id, uploader_id, stored_name, original_name, content_type, size, created_at "
                f"FROM chat_attachments WHERE room_id IN ({in_rooms}) ORDER BY id",
                user_id,
            )
            contexts = await conn.fetch_all(
                "SELECT room_id, first_url, first_title, referrer, language, time_zone, browser, browser_version, os, "
                f"os_version, created_at, updated_at FROM chat_room_context WHERE room_id IN ({in_rooms}) "
                "ORDER BY room_id",
                user_id,
            )
            pages = await conn.fetch_all(
                f"SELECT room_id, url, title, viewed_at FROM chat_page_views WHERE room_id IN ({in_rooms}) "
                "ORDER BY room_id, id",
                user_id,
            )
            push = await conn.fetch_all(
                "SELECT endpoint, user_agent, created_at, last_used_at FROM push_subscriptions WHERE user_id = ? "
                "ORDER BY id",
                user_id,
            )
            sessions = await conn.fetch_all(
                "SELECT created_at, last_seen_at, expires_at, revoked_at, user_agent, ip FROM auth_sessions "
                "WHERE user_id = ? ORDER BY created_at",
                user_id,
            )
            mails = await conn.fetch_all(
                "SELECT kind, recipient, subject, status, created_at, sent_at FROM mail_outbox "
                "WHERE recipient_id = ? ORDER BY id",
                user_id,
            )
            prechat = await conn.fetch_all(
                "SELECT key, value, updated_at FROM contact_attributes WHERE user_id = ? ORDER BY key", user_id)
            prechat_at = await conn.fetch_val("SELECT prechat_at FROM users WHERE id = ?", user_id)
            await audit(conn, actor, "contact.export", "user", user_id,
                        {"rooms": len(rooms), "messages": len(messages), "attachments": len(attachments)})
        files: list[tuple[str, str]] = []
        attachment_docs: list[dict[str, Any]] = []
        for row in attachments:
            name = _archive_name(int(row["id"]), str(row["original_name"]))
            files.append((name, str(row["stored_name"])))
            doc = _iso_fields({k: v for k, v in row.items() if k != "stored_name"})
            attachment_docs.append({**doc, "file": name})
        message_docs = []
        for row in messages:
            doc = _iso_fields(row)
            code, raw = doc.pop("system_code"), doc.pop("system_params")
            params = orjson.loads(raw) if isinstance(raw, str) else raw or {}
            doc["system"] = {"code": code, "params": params} if code else None  # as the API's messages carry it
            message_docs.append(doc)
        document = {
            "format": "chatapp.contact-export/1",
            "exported_at": iso(utcnow()),
            "user": _user_json(user),
            "rooms": [_iso_fields(r) for r in rooms],
            "messages": message_docs,
            "attachments": attachment_docs,
            "page_context": [_iso_fields(r) for r in contexts],
            "page_views": [_iso_fields(r) for r in pages],
            "push_subscriptions": [_iso_fields(r) for r in push],
            "sessions": [_iso_fields(r) for r in sessions],
            "mails": [_iso_fields(r) for r in mails],
            "prechat": {"sent_at": iso(prechat_at), "answers": [_iso_fields(r) for r in prechat]},
        }
        return ContactExport(user_id, document, files)

    async def archive(self, export: ContactExport) -> AsyncIterator[bytes]:
        """The zip, in pieces as it is written: ``contact.json``, then each attachment's bytes."""
        sink = _Sink()
        missing: list[str] = []
        with zipfile.ZipFile(cast(IO[bytes], sink), "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("contact.json", orjson.dumps(export.document, option=orjson.OPT_INDENT_2))
            yield sink.take()
            for name, stored in export.files:
                body = await self.uploads.open(stored)
                if body is None:
                    missing.append(name)
                    continue
                with archive.open(name, "w") as out:
                    async for chunk in body.chunks:
                        out.write(chunk)
                        if piece := sink.take():
                            yield piece
            if missing:
                archive.writestr("missing-files.txt", "\n".join(missing) + "\n")
        yield sink.take()

    async def erase(self, actor: User, user_id: int) -> dict[str, int]:
        """Remove the contact and everything of theirs; what was removed, by kind."""
        async with self.db.transaction() as conn:
            await self._contact(conn, user_id)
            lock = " FOR UPDATE" if conn.dialect == "postgres" else ""
            room_ids = [
                int(r["id"])
                for r in await conn.fetch_all(f"SELECT id FROM support_chat_rooms WHERE user_id = ? ORDER BY id{lock}",
                                              user_id)
            ]
            removed = await remove_rooms(conn, room_ids)
            # Anything of theirs outside their own rooms (a visitor has none; kept thorough).
            for row in await conn.fetch_all("SELECT stored_name FROM chat_attachments WHERE uploader_id = ?", user_id):
                removed.files.append(str(row["stored_name"]))
            removed.messages += await conn.execute("DELETE FROM support_chat_messages WHERE sender_id = ?", user_id)
            removed.attachments += await conn.execute("DELETE FROM chat_attachments WHERE uploader_id = ?", user_id)
            await conn.execute("DELETE FROM chat_typing_indicators WHERE user_id = ?", user_id)
            push = await conn.execute("DELETE FROM push_subscriptions WHERE user_id = ?", user_id)
            sessions = await conn.execute("DELETE FROM auth_sessions WHERE user_id = ?", user_id)
            await conn.execute("DELETE FROM contact_attributes WHERE user_id = ?", user_id)  # pre-chat answers
            await conn.flush()
            removed.outbox_rows += await conn.execute("DELETE FROM outbox WHERE channel = ?", user_channel(user_id))
            await conn.execute("DELETE FROM users WHERE id = ?", user_id)
            await announce_removed(self.events.outbox, conn, sorted(removed.rooms), "erased")
            summary = {
                "rooms": len(removed.rooms),
                "messages": removed.messages,
                "attachments": removed.attachments,
                "push_subscriptions": push,
                "sessions": sessions,
                "outbox_rows": removed.outbox_rows,
            }
            await audit(conn, actor, "contact.erase", "user", user_id,
                        {**summary, "room_ids": sorted(removed.rooms), "self": actor.id == user_id})
        summary["files_not_deleted"] = await delete_files(self.uploads, removed.files)
        if self.broadcaster is not None:
            self.broadcaster.terminate_user(user_id)
        if self.stats_feed is not None:
            self.stats_feed.changed()
        return {"user_id": user_id, **summary}
