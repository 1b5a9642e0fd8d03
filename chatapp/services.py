"""The chat's use cases: validate, store, then broadcast. No HTTP here.

Every event that announces a change is written to the outbox in the change's own
transaction (chatapp.outbox), so it goes out exactly when the change committed and
a pyreverb outage or a crash never loses it. What runs after the commit (dashboard
statistics, Web Push) is advisory: a database that drops out at that moment costs
those, never the answer to a stored change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, BinaryIO

from chatapp import inbox_queries
from chatapp import repository as repo
from chatapp.audit import audit
from chatapp.auto_close import AutoCloser
from chatapp.config import Settings
from chatapp.db import Connection, Database, IntegrityError, utcnow
from chatapp.errors import BadRequest, Conflict, NotFound
from chatapp.events import Events
from chatapp.file_storage import StoredBody
from chatapp.i18n import DEFAULT_LOCALE, Catalogues
from chatapp.inbox_queries import InboxCursor, InboxPage, inbox_page
from chatapp.label_queries import get_label, label_id_named
from chatapp.labels import label_in_search, label_not_found
from chatapp.models import PRIORITIES, Attachment, Message, Room, User, iso
from chatapp.policy import ensure_admin, ensure_room_access, ensure_transition
from chatapp.prechat_store import SitePrechat
from chatapp.push import PushNotifier
from chatapp.ratelimit import RateLimiter
from chatapp.repository import ROOM_FILTERS
from chatapp.routing import JOINED, Router
from chatapp.snooze import Snoozer
from chatapp.stats_feed import StatsFeed
from chatapp.status_totals import StatusTotalsFolder
from chatapp.uploads import UploadStore, valid_name

__all__ = ["ChatService", "Sent", "Page"]

log = logging.getLogger("chatapp")

TYPING_TTL = timedelta(seconds=8)
PREVIEW_LENGTH = 140
# A system message: its catalogue code and parameters, e.g. ("chat.resolved", {"agent": "Olena"}).
SystemNote = tuple[str, dict[str, Any]]
RECEIPT_IDS_LIMIT = 500  # keeps a read receipt event well under pyreverb's payload limit
MAX_MENTIONS = 20


@dataclass(frozen=True)
class Sent:
    message: Message
    room: Room
    created: bool  # False when an idempotency key replayed an earlier send


@dataclass(frozen=True)
class _Stored:
    """A message just stored, with what its events and routing need."""

    message: Message
    previous_id: int | None  # the room's message before it
    room: Room  # after the change
    before: Room | None = None  # as the general way read it first (None: the one-statement way)
    created_room: bool = False
    changes: dict[str, Any] = field(default_factory=dict)  # what else the message changed in the room
    push_subscriptions: list[dict[str, Any]] | None = None  # read with the message (None: push reads them)


@dataclass(frozen=True)
class Page:
    messages: list[Message]
    has_more: bool


def _preview(body: str, attachment: Attachment | None) -> str:
    text = " ".join(body.split())
    if not text and attachment is not None:
        text = f"[file] {attachment.original_name}"
    return text[:PREVIEW_LENGTH]


def _key_reused(earlier: Message) -> Conflict:
    return Conflict(
        "This idempotency key was already used for a different message",
        code="idempotency_key_reused",
        message_id=earlier.id,
    )


def _already_assigned(room: Room | None) -> Conflict:
    """The answer to the agent who lost an assignment race: who has the chat now."""
    if room is None or room.assigned_admin_id is None:
        return Conflict("The chat's assignee changed meanwhile; look again", code="already_assigned", assigned_to=None)
    return Conflict(
        f"Already assigned to {room.admin_name}",
        code="already_assigned",
        assigned_to={"id": room.assigned_admin_id, "name": room.admin_name},
    )


class ChatService:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        events: Events,
        uploads: UploadStore,
        limiter: RateLimiter,
        push: PushNotifier | None = None,
        catalogues: Catalogues | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.events = events
        self.uploads = uploads
        self.limiter = limiter
        self.push = push
        self.stats_feed = StatsFeed(db, events, enabled=settings.reverb_configured)
        self.auto_closer = AutoCloser(settings, db, events, self.stats_feed)
        self.status_totals = StatusTotalsFolder(db)  # the finished chats' counts (chatapp.status_totals)
        self.catalogues = catalogues or Catalogues.configured(settings.locales_dir)
        # Availability and automatic assignment (chatapp.routing): called after each room change.
        self.router = Router(db, events, events.b, self.stats_feed, self.system_message, push=push,
                             default_on=settings.auto_assign)
        # Snoozed chats (chatapp.snooze): woken by the visitor's message here, by time in its sweep.
        self.snoozer = Snoozer(settings, db, events, self.router, self.stats_feed, self.catalogues)

    # ------------------------------------------------------------------- rooms

    async def room_for(self, user: User, room_id: int, conn: Connection | None = None) -> Room:
        return ensure_room_access(user, await repo.get_room(conn or self.db, room_id), room_id)

    async def current_room(self, user: User) -> Room | None:
        return await repo.current_room_for_user(self.db, user.id)

    async def open_room(self, user: User, subject: str) -> tuple[Room, bool]:
        """The visitor's current conversation, or a new one (the chat button)."""
        async with self.db.transaction() as conn:
            room = await repo.current_room_for_user(conn, user.id)
            if room is not None:
                return room, False
            room, created = await self._new_room(conn, user, subject)
            if not created:
                return room, False
            await self.events.chat_created(conn, room)
            room = await self.router.after_change(conn, user, None, room)  # routing
        await self._publish_stats()
        return room, True

    async def my_rooms(
        self, user: User, page: int, per_page: int, before: int | None = None
    ) -> tuple[list[Room], int, bool]:
        """A page of the visitor's rooms (by ``page``, or the keyset ``before``), the total, and whether more follow."""
        offset = (page - 1) * per_page if before is None else 0
        rooms, total = await repo.rooms_for_user(self.db, user.id, per_page + 1, offset, before)
        return rooms[:per_page], total, len(rooms) > per_page

    async def count_my_rooms(self, user: User) -> int:
        return await repo.count_rooms_for_user(self.db, user.id)

    async def unread(self, user: User) -> int:
        return await repo.unread_for_user(self.db, user.id)

    # ---------------------------------------------------------------- messages

    def _check_body(self, body: str, attachment_id: int | None) -> str:
        if len(body) > self.settings.max_message_length:
            raise BadRequest(
                f"Message is {len(body)} characters; the limit is {self.settings.max_message_length}",
                code="message_too_long",
                field="body",
                max_length=self.settings.max_message_length,
            )
        if not body.strip() and attachment_id is None:
            raise BadRequest("Message is empty: send some text or an attachment", code="message_empty", field="body")
        return body.strip()

    async def send(
        self,
        user: User,
        *,
        room_id: int | None,
        body: str,
        attachment_id: int | None = None,
        idempotency_key: str | None = None,
        socket_id: str | None = None,
        prechat_exempt: bool = False,
    ) -> Sent:
        """Store one message (creating the visitor's room on first contact), then broadcast it.

        A key this sender used before replays the earlier send. It is looked for only when the
        one-statement store did not write (that statement skips a used key), so a first send
        reads nothing more, and a retried send counts toward the rate limit like any other.
        """
        body = self._check_body(body, attachment_id)
        await self.limiter.hit(("messages", user.id), self.settings.rate_messages, "messages")
        at_once = None if attachment_id is not None else await self._store_at_once(
            user, room_id, body, idempotency_key, socket_id)
        done: _Stored | Message
        if at_once is not None:
            done, fresh = at_once, at_once.room
        else:
            async with self.db.transaction() as conn:
                done = await self._store(conn, user, room_id, body, attachment_id, idempotency_key, prechat_exempt)
                if isinstance(done, _Stored):
                    fresh = await self._announce(conn, user, done, socket_id)
        if isinstance(done, Message):  # the transaction wrote nothing
            if done.is_note:  # a note's key: never answer a reply with the note
                raise _key_reused(done)
            return await self._replayed(user, done, body, attachment_id)
        if user.is_admin:
            if self.push:
                self.push.admin_message(fresh, done.message, done.push_subscriptions)
        elif self.push:
            self.push.user_message(fresh, done.message, done.push_subscriptions)
        await self._publish_stats()
        return Sent(done.message, fresh, True)

    async def _store(
        self,
        conn: Connection,
        user: User,
        room_id: int | None,
        body: str,
        attachment_id: int | None,
        idempotency_key: str | None,
        prechat_exempt: bool,
    ) -> _Stored | Message:
        """The message stored and its room moved, or the earlier message of this sender's key."""
        role = "admin" if user.is_admin else "user"
        if idempotency_key and (earlier := await repo.find_idempotent(conn, user.id, idempotency_key)):
            return earlier
        room, created_room = await self._room_to_write(conn, user, room_id, _preview(body, None)[:80],
                                                       prechat_exempt=prechat_exempt)
        ensure_transition(room, "reply")
        if room.snoozed and role == "user":  # the visitor wrote: the chat is back in the inbox at once
            room = await self.snoozer.wake(conn, room, "visitor") or room
        attachment = await self._attachment_for(conn, attachment_id, room)
        changes: dict[str, Any] = {}
        if room.status == "resolved":
            changes.update(status="assigned" if room.assigned_admin_id else "open", resolved_at=None)
        if user.is_admin and room.assigned_admin_id is None:
            changes.update(status="assigned", assigned_admin_id=user.id)
        if changes:
            await repo.update_room(conn, room.id, **changes)
            if "assigned_admin_id" in changes:  # a reply takes the unassigned chat
                await audit(conn, user, "room.assign", "room", room.id, {"from": None, "to": user.id})
        inserted = await repo.store_and_move(
            conn,
            room_id=room.id,
            sender_id=user.id,
            sender_role=role,
            body=body,
            preview=_preview(body, attachment),
            attachment_id=attachment.id if attachment else None,
            idempotency_key=idempotency_key,
        )
        if inserted is None:  # the same key won a race with us
            earlier = await repo.find_idempotent(conn, user.id, idempotency_key or "")
            assert earlier is not None
            return earlier
        message, previous_id, fresh = inserted
        return _Stored(message, previous_id, fresh, before=room, created_room=created_room, changes=changes)

    async def _store_at_once(
        self, user: User, room_id: int | None, body: str, idempotency_key: str | None, socket_id: str | None
    ) -> _Stored | None:
        """Most messages go to a chat that needs nothing but the message: on PostgreSQL one statement
        finds it, stores the message, moves the room and queues the events, with no transaction
        around it. None when it wrote nothing (SQLite, another room, a used key): then the general
        way decides."""
        if self.db.dialect != "postgres":
            return None
        stored = await repo.store_in_active_room(
            self.db, room_id=room_id, sender_id=user.id, sender_role="admin" if user.is_admin else "user",
            body=body, preview=_preview(body, None), idempotency_key=idempotency_key,
            queue=self.events.queued_with_message(socket_id), with_push=self.push is not None and self.push.enabled,
        )
        if stored is None:
            return None
        self.events.outbox.written()
        # (the visitor's unread total went out with the events)
        return _Stored(stored.message, stored.previous_id, stored.room, push_subscriptions=stored.push_subscriptions)

    async def _announce(self, conn: Connection, user: User, done: _Stored, socket_id: str | None) -> Room:
        """The stored message's events, in its transaction; the room as routing left it."""
        fresh = done.room
        await self.events.message_sent(
            conn, fresh, done.message, created_room=done.created_room, socket_id=socket_id,
            previous_id=done.previous_id,
        )
        if done.changes:
            await self.events.room_updated(conn, fresh)
        if user.is_admin:
            await self._queue_unread(conn, fresh.user_id, fresh.id)
        if done.before is not None and (done.created_room or done.changes):
            fresh = await self.router.after_change(conn, user, done.before, fresh)  # routing
        return fresh

    async def write_note(
        self,
        admin: User,
        room_id: int,
        *,
        body: str,
        mentions: object = None,
        idempotency_key: str | None = None,
    ) -> Sent:
        """A private note in the conversation, for support only, mentioning some admins.

        It goes on the admin feed only (``chat.message`` with ``kind: "note"``), never on the
        visitor's channel; it changes neither the room's status, assignee, preview nor either
        side's unread count, and notifies only the admins it mentions (Web Push when offline).
        """
        ensure_admin(admin)
        body = self._check_body(body, None)
        mentioned = await self._mentions(mentions)
        if idempotency_key:
            earlier = await repo.find_idempotent(self.db, admin.id, idempotency_key)
            if earlier is not None:
                if not earlier.is_note or earlier.room_id != room_id:
                    raise _key_reused(earlier)
                return await self._replayed(admin, earlier, body, None)
        await self.limiter.hit(("messages", admin.id), self.settings.rate_messages, "messages")
        async with self.db.transaction() as conn:
            room = await self.room_for(admin, room_id, conn)
            message_id = await repo.insert_message(
                conn, room_id=room.id, sender_id=admin.id, sender_role="admin", body=body,
                idempotency_key=idempotency_key, note_mentions=mentioned,
            )
            if message_id is None:  # the same key won a race with us
                earlier = await repo.find_idempotent(conn, admin.id, idempotency_key or "")
                assert earlier is not None
                return Sent(earlier, room, False)
            note = await repo.get_message(conn, message_id)
            assert note is not None
            await self.events.note_written(conn, room, note)
        notify = [a for a in mentioned if a != admin.id]
        if notify and self.push:
            self.push.mentioned(room, note, notify)
        return Sent(note, room, True)

    async def _mentions(self, value: object) -> list[int]:
        """The admins a note mentions: unique ids of active support admins, in the order given."""
        if value is None:
            return []
        if not isinstance(value, list) or len(value) > MAX_MENTIONS:
            raise BadRequest(f"'mentions' must be a list of at most {MAX_MENTIONS} admin ids", field="mentions")
        ids: list[int] = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= 2**63 - 1:
                raise BadRequest("'mentions' must hold admin ids (positive integers)", field="mentions")
            if item not in ids:
                ids.append(item)
        agents = await repo.active_admin_ids(self.db, ids)
        unknown = [i for i in ids if i not in agents]
        if unknown:
            raise BadRequest(
                f"User {unknown[0]} is not a support admin; only agents can be mentioned",
                code="not_an_admin", field="mentions", ids=unknown,
            )
        return ids

    async def _replayed(self, user: User, earlier: Message, body: str, attachment_id: int | None) -> Sent:
        same_attachment = (earlier.attachment.id if earlier.attachment else None) == attachment_id
        if earlier.body != body or not same_attachment:
            raise _key_reused(earlier)
        room = await self.room_for(user, earlier.room_id)
        return Sent(earlier, room, False)

    async def _target_room(self, conn: Connection, user: User, room_id: int | None) -> Room | None:
        if room_id is not None:
            return await self.room_for(user, room_id, conn)
        if user.is_admin:
            raise BadRequest("'room_id' is required for support replies", field="room_id")
        return await repo.current_room_for_user(conn, user.id)

    async def _room_to_write(
        self, conn: Connection, user: User, room_id: int | None, subject: str, *, prechat_exempt: bool = False
    ) -> tuple[Room, bool]:
        """The room a message or upload goes to, and whether it was made just now."""
        room = await self._target_room(conn, user, room_id)
        if room is not None:
            return room, False
        return await self._new_room(conn, user, subject, prechat_exempt=prechat_exempt)

    async def _new_room(
        self, conn: Connection, user: User, subject: str, *, prechat_exempt: bool = False
    ) -> tuple[Room, bool]:
        """A new current room, or the one a concurrent first message made (then False).

        The database keeps one current room per visitor: of two first messages at once one
        insert wins and the other uses the winner's room instead of making a second. A visitor
        who owes the site's pre-chat form its required answers gets 422 ``prechat_required``
        (the widget asks the form first; this holds for any other client), except from the
        offline form, which asks its own questions.
        """
        if not user.is_admin and not prechat_exempt:
            missing = await SitePrechat(self.db, self.catalogues).required_unanswered(conn, user)
            if missing:
                raise BadRequest("Answer the pre-chat form first (POST /api/chat/prechat)",
                                 code="prechat_required", field=missing[0], fields=list(missing))
        for _ in range(2):  # the winner may close in between: then try once more
            new_id = await repo.create_room(conn, user.id, subject)
            room = await repo.get_room(conn, new_id) if new_id is not None else None
            if room is not None:
                return room, True
            winner = await repo.current_room_for_user(conn, user.id)
            if winner is not None:
                return winner, False
        raise Conflict("Your conversation changed while this was sent; send it again", code="room_busy")

    async def _attachment_for(self, conn: Connection, attachment_id: int | None, room: Room) -> Attachment | None:
        if attachment_id is None:
            return None
        attachment = await repo.get_attachment(conn, attachment_id)
        if attachment is None or attachment.room_id != room.id:
            raise BadRequest(
                f"Attachment {attachment_id} was not uploaded to this chat", code="attachment_not_found",
                field="attachment_id",
            )
        return attachment

    async def history(
        self, user: User, room_id: int, *, before: int | None, after: int | None, limit: int
    ) -> Page:
        """Older pages with ``before``; catch-up after a reconnect with ``after``."""
        room = await self.room_for(user, room_id)
        notes = user.is_admin  # private notes are support's: never in a visitor's history or catch-up
        if after is not None:
            rows = await repo.messages_after(self.db, room.id, after, limit + 1, notes=notes)
            return Page(rows[:limit], len(rows) > limit)
        rows = await repo.messages_before(self.db, room.id, before, limit + 1, notes=notes)
        return Page(rows[-limit:] if len(rows) > limit else rows, len(rows) > limit)

    async def system_message(self, conn: Connection, room: Room, note: SystemNote) -> Message:
        """Stored as a catalogue code with parameters (each reader sees it in their language);
        ``body`` keeps the English text for previews, search and clients without catalogues."""
        code, params = note
        text = self.catalogues.text(DEFAULT_LOCALE, code, params)
        message_id = await repo.insert_message(
            conn, room_id=room.id, sender_id=None, sender_role="system", body=text, system=(code, params)
        )
        assert message_id is not None
        await repo.after_message_stored(conn, room.id, "system", text[:PREVIEW_LENGTH])
        message = await repo.get_message(conn, message_id)
        assert message is not None
        return message

    # ----------------------------------------------------------- typing, read

    async def typing(self, user: User, room_id: int, is_typing: bool, socket_id: str | None) -> None:
        await self.limiter.hit(("typing", user.id), self.settings.rate_typing, "typing updates")
        room = await self.room_for(user, room_id)
        if room.status == "closed":
            raise Conflict("The chat is closed", code="invalid_state", status=room.status)
        role = "admin" if user.is_admin else "user"
        if is_typing:
            await repo.set_typing(self.db, room.id, user.id, role, utcnow() + TYPING_TTL)
        else:
            await repo.clear_typing(self.db, room.id, user.id)
            await repo.purge_typing(self.db)  # drop indicators whose clients vanished mid-typing
        self.events.typing(room, user.id, user.name, role, is_typing, socket_id)

    async def mark_read(self, user: User, room_id: int, socket_id: str | None) -> dict[str, Any]:
        side = "admin" if user.is_admin else "user"
        async with self.db.transaction() as conn:
            room = await self.room_for(user, room_id, conn)
            marked, when = await repo.mark_read(conn, room.id, side, reader_id=user.id if side == "admin" else None)
            count = len(marked)
            receipt = {
                "room_id": room.id,
                "reader_id": user.id,
                "reader_role": side,
                "marked": count,
                "up_to_id": marked[-1] if marked else None,
                # exactly what was marked (a message committed meanwhile is not); null when too many to list
                "ids": marked if count <= RECEIPT_IDS_LIMIT else None,
                "read_at": iso(when),  # as every read_at is written
            }
            if count:
                await self.events.read(conn, room, receipt, socket_id)
                if side == "user":
                    await self._queue_unread(conn, user.id, room.id)
            if side == "admin":
                fresh = await repo.get_room(conn, room.id)
                await self.events.agent_read(conn, fresh or room, user.id)
        if side == "admin":  # the reader's own count went to 0 even when nothing was left to mark
            await self._publish_stats()
        return receipt

    # ------------------------------------------------------------------ states

    async def close_by_user(self, user: User, room_id: int) -> Room:
        return await self._change(user, room_id, "close", ("chat.closed", {"name": user.name}))

    async def assign(
        self, admin: User, room_id: int, admin_id: int | None, expected_admin_id: int | None = None
    ) -> Room:
        """Assign to ``admin_id`` (default: me) if the assignee is still ``expected_admin_id``.

        Compare-and-set: of two agents pressing "Assign to me" at once one wins; the other gets
        409 ``already_assigned`` naming the winner. Taking over from another agent is a
        deliberate override: the caller names the assignee it expects to replace.
        """
        ensure_admin(admin)
        target = admin if admin_id in (None, admin.id) else await repo.get_user(self.db, admin_id or 0)
        if target is None or not target.is_admin:
            raise BadRequest(f"User {admin_id} is not a support admin", code="not_an_admin", field="admin_id")
        room = await self.room_for(admin, room_id)
        if room.assigned_admin_id == target.id and room.status == "assigned":
            return room
        return await self._change(
            admin,
            room_id,
            "assign",
            (JOINED, {"agent": target.name}),
            expected_assignee=expected_admin_id,
            status="assigned",
            assigned_admin_id=target.id,
        )

    async def unassign(self, admin: User, room_id: int) -> Room:
        ensure_admin(admin)
        return await self._change(admin, room_id, "unassign", ("chat.unassigned", {}), status="open",
                                  assigned_admin_id=None)

    async def set_priority(self, admin: User, room_id: int, priority: object) -> Room:
        ensure_admin(admin)
        value = priority if isinstance(priority, str) and priority in PRIORITIES else None
        if value is None:
            raise BadRequest(f"'priority' must be one of: {', '.join(PRIORITIES)}", field="priority")
        room = await self.room_for(admin, room_id)
        if room.priority == value:
            return room
        return await self._change(admin, room_id, "priority", None, priority=value)

    async def resolve(self, admin: User, room_id: int) -> Room:
        ensure_admin(admin)
        resolved = ("chat.resolved", {"agent": admin.name})
        return await self._change(admin, room_id, "resolve", resolved, status="resolved")

    async def close(self, admin: User, room_id: int) -> Room:
        ensure_admin(admin)
        return await self._change(admin, room_id, "close", ("chat.closed", {"name": admin.name}))

    async def reopen(self, admin: User, room_id: int) -> Room:
        ensure_admin(admin)
        try:
            return await self._change(admin, room_id, "reopen", ("chat.reopened", {"agent": admin.name}))
        except IntegrityError:  # one current conversation per visitor
            raise Conflict(
                "The visitor has started another conversation since; reply there instead",
                code="visitor_has_open_chat",
            ) from None

    async def _change(
        self,
        user: User,
        room_id: int,
        action: str,
        note: SystemNote | None,
        *,
        expected_assignee: int | None = None,
        **changes: Any,
    ) -> Room:
        """Apply one state change with its system message, then announce it.

        An assignment applies only while the assignee is still ``expected_assignee``.
        """
        now = utcnow()
        async with self.db.transaction() as conn:
            room = await self.room_for(user, room_id, conn)
            ensure_transition(room, action)
            if action == "close":
                changes.update(status="closed", closed_at=now)
            elif action == "resolve":
                changes.update(resolved_at=now)
            if action in ("close", "resolve") and room.snoozed:  # finished: nothing left to wake
                changes.update(snoozed_at=None, snoozed_until=None)
            elif action == "reopen":
                changes.update(
                    status="assigned" if room.assigned_admin_id else "open", resolved_at=None, closed_at=None
                )
            if action != "assign":
                await repo.update_room(conn, room.id, **changes)
            elif not await repo.claim_room(conn, room.id, changes["assigned_admin_id"], expected_assignee):
                raise _already_assigned(await repo.get_room(conn, room.id))
            if action in ("close", "resolve", "reopen"):
                await repo.clear_typing(conn, room.id, user.id)
            if action in ("assign", "unassign"):
                await audit(conn, user, f"room.{action}", "room", room.id,
                            {"from": room.assigned_admin_id, "to": changes["assigned_admin_id"]})
            message = await self.system_message(conn, room, note) if note else None
            fresh = await repo.get_room(conn, room.id)
            assert fresh is not None
            if message is not None:
                await self.events.message_sent(conn, fresh, message, created_room=False, socket_id=None)
            await self.events.room_updated(conn, fresh)
            fresh = await self.router.after_change(conn, user, room, fresh)  # routing
        if message is not None and self.push:
            self.push.system_message(fresh, message)
        await self._publish_stats()
        return fresh

    # ------------------------------------------------------------------- admin

    async def admin_rooms(
        self,
        admin: User,
        *,
        filter_name: str,
        search: str,
        page: int,
        per_page: int,
        before: str | None = None,
        label_id: int | None = None,
    ) -> InboxPage:
        """A page of the inbox: after the cursor ``before`` when given, else page ``page``; with
        ``label_id`` or ``label:name`` in the search, that label's chats only."""
        ensure_admin(admin)
        if label_id is not None and await get_label(self.db, label_id) is None:
            raise label_not_found(label_id)
        if filter_name not in ROOM_FILTERS:
            raise BadRequest(f"'filter' must be one of: {', '.join(ROOM_FILTERS)}", field="filter")
        try:
            cursor = InboxCursor.decode(before) if before else None
        except ValueError:
            raise BadRequest("'before' is not a cursor this server gave out", code="invalid_cursor",
                             field="before") from None
        named, search = label_in_search(search)
        if named is not None:
            found = await label_id_named(self.db, named)
            if found is None or label_id not in (None, found):  # no such label: no chat carries it
                return InboxPage([], 0, None)
            label_id = found
        return await inbox_page(
            self.db,
            filter_name=filter_name,
            admin_id=admin.id,
            search=search.strip(),
            page=page,
            per_page=per_page,
            before=cursor,
            label_id=label_id,
        )

    async def typing_now(self, room: Room) -> list[dict[str, Any]]:
        return await repo.typing_in_room(self.db, room.id)

    async def stats(self, admin: User) -> dict[str, int]:
        ensure_admin(admin)
        numbers = await inbox_queries.stats(self.db)
        own = (await inbox_queries.unread_by_admin(self.db, numbers, admin.id)).get(admin.id)
        if own:  # this agent's own unread, where they keep counts of their own
            numbers["unread_messages"], numbers["unread_chats"] = own["messages"], own["chats"]
        numbers["mine"] = await repo.count_mine(self.db, admin.id)
        return numbers

    async def admins(self, admin: User) -> list[User]:
        ensure_admin(admin)
        return await repo.list_admins(self.db)

    async def _publish_stats(self) -> None:
        """Mark the statistics stale; the feed publishes them at most once a second."""
        self.stats_feed.changed()

    async def _queue_unread(self, conn: Connection, user_id: int, room_id: int) -> None:
        """The visitor's new unread count, queued with the change (after its message.sent, never
        before). The one-statement store counts and queues it itself."""
        await self.events.unread(conn, user_id, room_id, await repo.unread_for_user(conn, user_id))

    # ----------------------------------------------------------------- uploads

    async def upload(self, user: User, room_id: int | None, filename: str | None, source: BinaryIO) -> Attachment:
        """Check the file's first bytes, stream it to storage under a random name, link it to the room."""
        await self.limiter.hit(("uploads", user.id), self.settings.rate_uploads, "uploads")
        self.uploads.check_file(source, filename)
        if room_id is None and user.is_admin:
            raise BadRequest("'room_id' is required for support uploads", field="room_id")
        async with self.db.transaction() as conn:
            room, created_room = await self._room_to_write(conn, user, room_id, "")
            ensure_transition(room, "reply")
            if created_room:
                await self.events.chat_created(conn, room)
                room = await self.router.after_change(conn, user, None, room)  # routing
        stored = await self.uploads.save(source, filename)
        try:
            return await repo.insert_attachment(
                self.db,
                room_id=room.id,
                uploader_id=user.id,
                stored_name=stored.stored_name,
                original_name=stored.original_name,
                content_type=stored.content_type,
                size=stored.size,
            )
        except BaseException:
            await self.uploads.delete(stored.stored_name)
            raise

    async def download(self, user: User, stored_name: str) -> tuple[Attachment, StoredBody]:
        """The file, for the room's visitor and support only (404 for anyone else)."""
        attachment = await repo.get_attachment_by_name(self.db, stored_name) if valid_name(stored_name) else None
        if attachment is None:
            raise NotFound("File not found", code="file_not_found")
        room = await repo.get_room(self.db, attachment.room_id)
        if room is None or not (user.is_admin or room.user_id == user.id):
            raise NotFound("File not found", code="file_not_found")
        body = await self.uploads.open(stored_name)
        if body is None:
            raise NotFound("File not found", code="file_not_found")
        return attachment, body
