"""Bulk actions on chats selected in the inbox: assign, add a label, resolve. No HTTP here.

Each chat goes through the same service call as its own button (rules, events, audit), one
after another; a chat that cannot be changed (gone, already resolved) does not stop the
others, and the answer says for each chat what happened. What is wrong with the request
itself (no such agent or label) refuses it whole, before any chat changes.
"""

from __future__ import annotations

from typing import Any, Literal

from chatapp import repository as repo
from chatapp.errors import BadRequest, ChatError
from chatapp.labels import Labels
from chatapp.models import User
from chatapp.policy import ensure_admin
from chatapp.services import ChatService

__all__ = ["BulkActions", "Action"]

Action = Literal["assign", "label", "resolve"]


class BulkActions:
    def __init__(self, service: ChatService, labels: Labels) -> None:
        self.service = service
        self.labels = labels

    async def run(
        self, user: User, room_ids: list[int], action: Action, *, admin_id: int | None, label_id: int | None
    ) -> list[dict[str, Any]]:
        ensure_admin(user)
        if action == "assign":
            target = await repo.get_user(self.service.db, admin_id) if admin_id else None
            if target is None or not target.is_admin:
                raise BadRequest("'admin_id' must name a support agent", code="not_an_admin", field="admin_id")
        if action == "label":
            if label_id is None:
                raise BadRequest("'label_id' is required to add a label", field="label_id")
            await self.labels.get(label_id)  # 404 label_not_found
        outcomes: list[dict[str, Any]] = []
        for room_id in dict.fromkeys(room_ids):
            try:
                await self._one(user, room_id, action, admin_id, label_id)
                outcomes.append({"room_id": room_id, "ok": True})
            except ChatError as exc:
                outcomes.append({"room_id": room_id, "ok": False, "error": exc.code, "message": exc.message})
        return outcomes

    async def _one(self, user: User, room_id: int, action: Action, admin_id: int | None, label_id: int | None) -> None:
        if action == "resolve":
            await self.service.resolve(user, room_id)
            return
        room = await self.service.room_for(user, room_id)
        if action == "assign":  # a deliberate choice over whoever has it now
            await self.service.assign(user, room.id, admin_id, expected_admin_id=room.assigned_admin_id)
        elif label_id is not None:
            await self.labels.set_on_room(user, room, label_id, on=True)
