"""Labels: coloured tags on chats. No HTTP here.

The team's owner and admins create, rename, recolour and delete labels (an agent gets 403
``manager_only``); any agent adds and removes them on a chat. Every change is written to the
outbox with the change itself (chatapp.events), so the other panels follow at once:
``labels.updated`` with the whole list when a label changes, ``room.labels`` when a chat's do.
"""

from __future__ import annotations

import re
from typing import Any

from chatapp import label_queries as q
from chatapp.audit import audit
from chatapp.db import Database, IntegrityError
from chatapp.errors import BadRequest, Conflict, NotFound
from chatapp.events import Events
from chatapp.models import Label, Room, User
from chatapp.policy import ensure_admin, ensure_manager
from chatapp.validation import text_field

__all__ = ["Labels", "MAX_NAME", "label_not_found", "label_in_search"]

MAX_NAME = 40
_COLOR = re.compile(r"^#[0-9a-f]{6}\Z")
# "label:billing" or 'label:"Late delivery"' in the inbox's search box.
_SEARCH_LABEL = re.compile(r'(?:^|\s)label:(?:"([^"]*)"|(\S+))', re.I)


def label_in_search(search: str) -> tuple[str | None, str]:
    """The label a search names (``label:name``, quoted when it has spaces) and the rest of it."""
    match = _SEARCH_LABEL.search(search)
    if match is None:
        return None, search.strip()
    rest = search[: match.start()] + " " + search[match.end() :]
    return (match.group(1) if match.group(1) is not None else match.group(2)), " ".join(rest.split())


def _name(doc: dict[str, Any]) -> str:
    name = " ".join(text_field(doc, "name", max_length=200).split())
    if not name or len(name) > MAX_NAME:
        raise BadRequest(f"'name' must be 1 to {MAX_NAME} characters", field="name")
    return name


def _color(doc: dict[str, Any]) -> str:
    color = text_field(doc, "color", max_length=20).strip().lower()
    if not _COLOR.match(color):
        raise BadRequest("'color' must be a colour as #rrggbb (e.g. #2f80ed)", field="color")
    return color


def label_not_found(label_id: int) -> NotFound:
    return NotFound(f"Label {label_id} not found", code="label_not_found", field="label_id")


def _taken(name: str) -> Conflict:
    return Conflict(f"A label named '{name}' exists already", code="label_exists", field="name")


class Labels:
    def __init__(self, db: Database, events: Events) -> None:
        self.db = db
        self.events = events

    async def all(self, user: User) -> list[Label]:
        ensure_admin(user)
        return await q.all_labels(self.db)

    async def create(self, user: User, doc: dict[str, Any]) -> Label:
        ensure_manager(user)
        name, color = _name(doc), _color(doc)
        try:
            async with self.db.transaction() as conn:
                label = await q.insert_label(conn, name=name, color=color, created_by=user.id)
                await self.events.labels_updated(conn, await q.all_labels(conn))
        except IntegrityError:
            raise _taken(name) from None
        return label

    async def update(self, user: User, label_id: int, doc: dict[str, Any]) -> Label:
        """Rename or recolour; what ``doc`` leaves out stays as it was."""
        ensure_manager(user)
        current = await self.get(label_id)
        sent = {k: v for k, v in doc.items() if k in ("name", "color")}
        merged = {"name": current.name, "color": current.color, **sent}
        name, color = _name(merged), _color(merged)
        try:
            async with self.db.transaction() as conn:
                label = await q.update_label(conn, label_id, name=name, color=color)
                if label is None:
                    raise label_not_found(label_id)
                await self.events.labels_updated(conn, await q.all_labels(conn))
        except IntegrityError:
            raise _taken(name) from None
        return label

    async def delete(self, user: User, label_id: int) -> int:
        """The label leaves every chat that carried it; each of them is announced."""
        ensure_manager(user)
        async with self.db.transaction() as conn:
            if await q.get_label(conn, label_id) is None:
                raise label_not_found(label_id)
            rooms = await q.delete_label(conn, label_id)
            await audit(conn, user, "label.delete", "label", label_id, {"rooms": len(rooms)})
            await self.events.labels_updated(conn, await q.all_labels(conn))
            carried = await q.labels_of_rooms(conn, rooms)
            for room_id in rooms:
                await self.events.room_labels(conn, room_id, carried.get(room_id, []))
        return 1

    async def get(self, label_id: int) -> Label:
        label = await q.get_label(self.db, label_id)
        if label is None:
            raise label_not_found(label_id)
        return label

    async def set_on_room(self, user: User, room: Room, label_id: int, *, on: bool) -> list[int]:
        """Add (``on``) or remove a label on ``room`` (the caller checked access); its label ids now."""
        ensure_admin(user)
        async with self.db.transaction() as conn:
            if await q.get_label(conn, label_id) is None:
                raise label_not_found(label_id)
            changed = (
                await q.add_to_room(conn, room.id, label_id, user.id) if on
                else await q.remove_from_room(conn, room.id, label_id)
            )
            labels = (await q.labels_of_rooms(conn, [room.id])).get(room.id, [])
            if changed:
                await self.events.room_labels(conn, room.id, labels)
        return labels
