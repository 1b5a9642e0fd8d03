"""What chatapp tells browsers, and on which channels: one place for every event.

Channels: ``private-chat.{room}`` (the visitor and support), ``private-admin.chat``
(the admin feed), ``private-user.{id}`` (a visitor's own counters),
``presence-admins`` (who of support is online). Event names have no leading dot;
Echo listens with ``.message.sent``.

Events that announce a change take the transaction's ``Connection`` and are written
to the outbox with it (chatapp.outbox), so they are sent exactly when the change
committed, even if this process dies a moment later. Typing indicators and statistics
are hints, published from memory (chatapp.outbox says why).

Gap detection: a ``message.sent`` event carries ``previous_id``, the room's message
before it, so a conversation view that does not hold that id fetches "messages after
id N"; admin-feed events get ``feed_seq`` from the relay.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

from chatapp import repository as repo
from chatapp.broadcasting import MAX_EVENT_BYTES, Broadcaster, Event, fit_text
from chatapp.db import Connection
from chatapp.models import Label, Message, Room
from chatapp.outbox import Outbox
from chatapp.policy import ADMIN_CHANNEL, ROOM_CHANNEL_PREFIX, USER_CHANNEL_PREFIX, room_channel, user_channel

__all__ = ["Events", "message_payload"]

MESSAGE_SENT = "message.sent"
USER_TYPING = "user.typing"
MESSAGES_READ = "messages.read"
ROOM_UPDATED = "room.updated"
CHAT_CREATED = "chat.created"
CHAT_MESSAGE = "chat.message"
STATS_UPDATED = "stats.updated"
UNREAD_UPDATED = "unread.updated"
AGENT_UPDATED = "agent.updated"
ROUTING_UPDATED = "routing.updated"
TEAM_UPDATED = "team.updated"
ROOM_READ = "room.read"
LABELS_UPDATED = "labels.updated"
ROOM_LABELS = "room.labels"
ROOM_PAGE = "room.page"


def _json(data: dict[str, Any]) -> str:
    return orjson.dumps(data).decode()


def message_payload(message: Message, base_url: str) -> dict[str, Any]:
    """The message as the API returns it, its body cut to fit one Pusher event."""
    doc = message.to_json(base_url)
    body, cut = fit_text(message.body, MAX_EVENT_BYTES - 2500)
    if cut:
        doc["body"] = body
        doc["body_truncated"] = True  # fetch the whole message with "messages after id N"
    return doc


class Events:
    def __init__(self, broadcaster: Broadcaster, outbox: Outbox, base_url: str) -> None:
        self.b = broadcaster
        self.outbox = outbox
        self.base_url = base_url

    # ------------------------------------------------- durable: in the transaction

    async def chat_created(self, conn: Connection, room: Room) -> None:
        await self.outbox.add(conn, [ADMIN_CHANNEL], CHAT_CREATED, {"room": room.to_json(for_admin=True)})

    async def message_sent(
        self,
        conn: Connection,
        room: Room,
        message: Message,
        *,
        created_room: bool,
        socket_id: str | None,
        previous_id: int | Literal["read"] | None = "read",
    ) -> None:
        """``previous_id``: the room's message before this one when the caller has it already
        (repository.store_message); by default read here."""
        payload = message_payload(message, self.base_url)
        if previous_id == "read":
            previous_id = await repo.previous_message_id(conn, room.id, message.id)
        payload["previous_id"] = previous_id
        summary = room.to_json(for_admin=True)
        events = [Event(room_channel(room.id), MESSAGE_SENT, _json(payload), socket_id)]
        if created_room:
            events.append(Event(ADMIN_CHANNEL, CHAT_CREATED, _json({"room": summary}), None))
        events.append(Event(ADMIN_CHANNEL, CHAT_MESSAGE, _json({"room": summary, "message": payload}), None))
        await self.outbox.add_events(conn, events)  # one statement for the change's events

    def queued_with_message(self, socket_id: str | None) -> repo.QueuedEvents | None:
        """What a message stored by one statement queues with it (repository.store_in_active_room):
        :meth:`message_sent`'s events of a room that already existed, and support's reply's
        unread count, as rows the relay renders (:meth:`render_stored`)."""
        if not self.outbox.enabled:
            return None
        return repo.QueuedEvents(ROOM_CHANNEL_PREFIX, MESSAGE_SENT, ADMIN_CHANNEL, CHAT_MESSAGE,
                                 USER_CHANNEL_PREFIX, UNREAD_UPDATED, socket_id)

    async def render_stored(self, conn: Connection, named: list[tuple[int, str]]) -> list[str | None]:
        """The data of events that name a stored message ((message id, the row's data) each): the
        message as :meth:`message_sent` puts it, with the row's ``previous_id``, and where the row
        says ``with_room`` the room's summary as it is now. None for a message that is gone."""
        found = {m.id: (m, r) for m, r in await repo.messages_with_rooms(conn, sorted({i for i, _ in named}))}
        out: list[str | None] = []
        for message_id, data in named:
            if message_id not in found:
                out.append(None)
                continue
            extra = orjson.loads(data)
            message, with_room = found[message_id]
            room = with_room if extra.get("with_room") else None
            payload = message_payload(message, self.base_url)
            payload["previous_id"] = extra.get("previous_id")
            out.append(_json(payload if room is None else {"room": room.to_json(for_admin=True), "message": payload}))
        return out

    async def note_written(self, conn: Connection, room: Room, note: Message) -> None:
        """A private note: on the admin feed only, never on the visitor's ``private-chat.{room}``."""
        assert note.is_note
        payload = message_payload(note, self.base_url)
        data = {"room": room.to_json(for_admin=True), "message": payload}
        await self.outbox.add(conn, [ADMIN_CHANNEL], CHAT_MESSAGE, data)

    async def read(self, conn: Connection, room: Room, receipt: dict[str, Any], socket_id: str | None) -> None:
        await self.outbox.add(conn, [room_channel(room.id)], MESSAGES_READ, receipt, socket_id=socket_id)

    async def agent_read(self, conn: Connection, room: Room, reader_id: int) -> None:
        """An agent read the chat: their other panels clear their own count, an assignee who kept
        none starts one (chatapp.repository.agent_read), the others see the team's count."""
        data = {"room": room.to_json(for_admin=True), "reader_id": reader_id, "assignee_id": room.assigned_admin_id}
        await self.outbox.add(conn, [ADMIN_CHANNEL], ROOM_READ, data)

    async def labels_updated(self, conn: Connection, labels: list[Label]) -> None:
        """A label was created, renamed, recoloured or deleted: the whole list, for the panels."""
        await self.outbox.add(conn, [ADMIN_CHANNEL], LABELS_UPDATED, {"labels": [x.to_json() for x in labels]})

    async def room_labels(self, conn: Connection, room_id: int, labels: list[int]) -> None:
        """A chat's labels changed (to ``labels``, ids): admins only, never the visitor's channel."""
        await self.outbox.add(conn, [ADMIN_CHANNEL], ROOM_LABELS, {"room_id": room_id, "labels": labels})

    async def page_viewed(
        self, conn: Connection, room_id: int, page: dict[str, Any], context: dict[str, Any]
    ) -> None:
        """The visitor opened a page (chatapp.page_context): the agents' open details follow; admins only."""
        data = {"room_id": room_id, "page": page, "context": context}
        await self.outbox.add(conn, [ADMIN_CHANNEL], ROOM_PAGE, data)

    async def unread(self, conn: Connection, user_id: int, room_id: int, unread: int) -> None:
        """Durable, so it reaches the visitor after the message.sent it counts (the widget adds
        one per message it sees and takes this absolute number as the truth)."""
        data = {"room_id": room_id, "unread_count": unread}
        await self.outbox.add(conn, [user_channel(user_id)], UNREAD_UPDATED, data)

    async def room_updated(self, conn: Connection, room: Room) -> None:
        await self.outbox.add(conn, [room_channel(room.id)], ROOM_UPDATED, {"room": room.to_json()})
        await self.outbox.add(conn, [ADMIN_CHANNEL], ROOM_UPDATED, {"room": room.to_json(for_admin=True)})

    async def agent_updated(self, conn: Connection, agent: dict[str, Any]) -> None:
        """An agent's availability or capacity changed (chatapp.routing): the team's panels show it."""
        await self.outbox.add(conn, [ADMIN_CHANNEL], AGENT_UPDATED, {"agent": agent})

    async def team_updated(self, conn: Connection, member: dict[str, Any]) -> None:
        """A member joined, or their role or access changed (chatapp.team): the panels follow."""
        await self.outbox.add(conn, [ADMIN_CHANNEL], TEAM_UPDATED, {"member": member})

    async def routing_updated(self, conn: Connection, settings: dict[str, Any]) -> None:
        """Automatic assignment was switched on or off."""
        await self.outbox.add(conn, [ADMIN_CHANNEL], ROUTING_UPDATED, {"routing": settings})

    # ------------------------------------------------------------ hints: in memory

    def typing(self, room: Room, user_id: int, name: str, role: str, is_typing: bool, socket_id: str | None) -> None:
        data = {"room_id": room.id, "user_id": user_id, "name": name, "role": role, "is_typing": is_typing}
        self.b.publish([room_channel(room.id)], USER_TYPING, data, socket_id=socket_id, ttl=5.0)

    def stats(
        self,
        stats: dict[str, int],
        mine_by_admin: dict[int, int] | None = None,
        unread_by_admin: dict[int, dict[str, int]] | None = None,
    ) -> None:
        """The inbox numbers, each agent's own active chats (their "mine") and, for the agents
        keeping their own, their unread messages and chats (the others' are the team's), in one event."""
        mine = {str(admin_id): count for admin_id, count in (mine_by_admin or {}).items()}
        unread = {str(admin_id): counts for admin_id, counts in (unread_by_admin or {}).items()}
        data = {"stats": stats, "mine_by_admin": mine, "unread_by_admin": unread}
        self.b.publish([ADMIN_CHANNEL], STATS_UPDATED, data, ttl=10.0)

