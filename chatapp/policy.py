"""Who may do what: room access, conversation state changes, channel subscriptions.

The brief's ``SupportChatRoomPolicy``: a user (or guest) sees only their own
rooms, admins see all. A non-owner gets 404, never 403, for someone else's room,
so room ids do not leak. Channel names are decided in one place here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatapp.errors import Conflict, Forbidden, NotFound
from chatapp.models import Room, User

__all__ = [
    "ensure_admin",
    "ensure_manager",
    "ensure_visitor",
    "ensure_room_access",
    "ensure_transition",
    "ChannelRule",
    "parse_channel",
    "ADMIN_CHANNEL",
    "ADMIN_PRESENCE",
    "room_channel",
    "user_channel",
    "ROOM_CHANNEL_PREFIX",
    "USER_CHANNEL_PREFIX",
]

ADMIN_CHANNEL = "private-admin.chat"
ADMIN_PRESENCE = "presence-admins"
_ROOM_CHANNEL = re.compile(r"^private-chat\.([1-9][0-9]{0,17})\Z")
_USER_CHANNEL = re.compile(r"^private-user\.([1-9][0-9]{0,17})\Z")

# action -> statuses it may start from
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "assign": ("open", "assigned"),
    "unassign": ("assigned",),
    "priority": ("open", "assigned", "resolved"),
    "resolve": ("open", "assigned"),
    "close": ("open", "assigned", "resolved"),
    "reopen": ("resolved", "closed"),
    "reply": ("open", "assigned", "resolved"),
    "snooze": ("open", "assigned"),
}


ROOM_CHANNEL_PREFIX = "private-chat."  # + the room's id
USER_CHANNEL_PREFIX = "private-user."  # + the visitor's id


def room_channel(room_id: int) -> str:
    return f"{ROOM_CHANNEL_PREFIX}{room_id}"


def user_channel(user_id: int) -> str:
    return f"{USER_CHANNEL_PREFIX}{user_id}"


def ensure_admin(user: User) -> None:
    if not user.is_admin:
        raise Forbidden("This needs a support admin account", code="admin_only")


def ensure_manager(user: User) -> None:
    """The team's owner or an admin: who manages agents, settings and the team's canned replies."""
    ensure_admin(user)
    if not user.is_manager:
        raise Forbidden("This needs the team's owner or an admin; agents answer chats", code="manager_only")


def ensure_visitor(user: User) -> None:
    """Support staff answer chats through ``/api/admin/chat``; the visitor's side is not theirs."""
    if user.is_admin:
        raise Forbidden("Support admins use /api/admin/chat", code="visitor_only")


def ensure_room_access(user: User, room: Room | None, room_id: int) -> Room:
    """The room, when ``user`` may see it; 404 otherwise (also for others' rooms)."""
    if room is None or not (user.is_admin or room.user_id == user.id):
        raise NotFound(f"Chat room {room_id} not found", code="room_not_found")
    return room


def ensure_transition(room: Room, action: str) -> None:
    allowed = TRANSITIONS[action]
    if room.status not in allowed:
        verb = {"reply": "write to", "priority": "change the priority of"}.get(action, action)
        raise Conflict(
            f"Cannot {verb} a chat that is {room.status}",
            code="invalid_state",
            status=room.status,
            allowed_from=list(allowed),
        )


@dataclass(frozen=True)
class ChannelRule:
    """What a channel name means: which room or user it belongs to, or admin-only."""

    kind: str  # "room" | "user" | "admin" | "admin_presence"
    target: int | None = None


def parse_channel(name: str) -> ChannelRule:
    if name == ADMIN_CHANNEL:
        return ChannelRule("admin")
    if name == ADMIN_PRESENCE:
        return ChannelRule("admin_presence")
    if match := _ROOM_CHANNEL.match(name):
        return ChannelRule("room", int(match.group(1)))
    if match := _USER_CHANNEL.match(name):
        return ChannelRule("user", int(match.group(1)))
    raise Forbidden(f"Unknown channel {name[:100]!r}", code="unknown_channel")
