"""Domain records and their JSON shapes (what the API and the events carry)."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal, TypeVar

__all__ = [
    "Role",
    "StaffRole",
    "STAFF_ROLES",
    "MANAGER_ROLES",
    "Status",
    "Priority",
    "User",
    "Label",
    "AuthSession",
    "Room",
    "Attachment",
    "Message",
    "CannedReply",
    "iso",
    "ACTIVE_STATUSES",
    "STATUSES",
    "PRIORITIES",
]

Role = Literal["user", "admin", "guest"]
StaffRole = Literal["owner", "admin", "agent"]
STAFF_ROLES: tuple[str, ...] = ("owner", "admin", "agent")
MANAGER_ROLES: tuple[str, ...] = ("owner", "admin")
Status = Literal["open", "assigned", "resolved", "closed"]
Priority = Literal["normal", "urgent"]
STATUSES: tuple[str, ...] = ("open", "assigned", "resolved", "closed")
ACTIVE_STATUSES: tuple[str, ...] = ("open", "assigned")
PRIORITIES: tuple[str, ...] = ("normal", "urgent")

T = TypeVar("T")


def iso(value: datetime | None) -> str | None:
    """UTC ISO-8601 with milliseconds and a ``Z``, as JavaScript's ``Date`` prints."""
    if value is None:
        return None
    # isoformat, not strftime: a third of the time, and every event and answer prints several.
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _row_fields(cls: type, row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The row's values of ``cls``'s fields (columns ``prefix`` + name), those it has."""
    if not prefix:
        return {n: row[n] for n in _field_names(cls) if n in row}
    return {n: row[prefix + n] for n in _field_names(cls) if prefix + n in row}


def _from_row(cls: type[T], row: dict[str, Any], prefix: str = "") -> T:
    return cls(**_row_fields(cls, row, prefix))


@dataclass(frozen=True)
class User:
    id: int
    role: str
    name: str
    email: str | None = None
    external_id: str | None = None
    created_at: datetime | None = None
    email_verified_at: datetime | None = None
    locale: str | None = None  # the panel's language this person chose (None: their browser's)
    staff_role: str | None = None  # support staff only: owner, admin or agent (chatapp.team)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> User:
        return _from_row(cls, row)

    @property
    def is_admin(self) -> bool:
        """Support staff, whatever their role in the team (owner, admin or agent)."""
        return self.role == "admin"

    @property
    def team_role(self) -> str | None:
        """Owner, admin or agent for support staff (an account from before roles: admin); None otherwise."""
        return (self.staff_role or "admin") if self.is_admin else None

    @property
    def is_manager(self) -> bool:
        """Manages the team, settings and the team's canned replies: the owner and admins."""
        return self.team_role in MANAGER_ROLES

    @property
    def is_owner(self) -> bool:
        return self.team_role == "owner"

    @property
    def is_guest(self) -> bool:
        return self.role == "guest"

    @property
    def email_verified(self) -> bool:
        """Proven to belong to this account (admins, host-site identities); sign-ups are not (chatapp.sign_in)."""
        return self.email is not None and self.email_verified_at is not None

    def public(self) -> dict[str, Any]:
        """What others may see (the other side of a chat, presence info)."""
        return {"id": self.id, "name": self.name, "role": self.role}

    def to_json(self) -> dict[str, Any]:
        """What the account holder sees about themselves."""
        return {
            **self.public(),
            "email": self.email,
            "email_verified": self.email_verified,
            "external_id": self.external_id,
            "created_at": iso(self.created_at),
            "locale": self.locale,
            "staff_role": self.team_role,
        }


@dataclass(frozen=True)
class AuthSession:
    """One signed-in device: the row a bearer token names, with its account."""

    id: str
    user: User
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    deactivated_at: datetime | None = None  # the account's, not the session's

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AuthSession:
        return cls(
            id=row["session_id"],
            user=User.from_row(row),
            created_at=row["session_created_at"],
            last_seen_at=row["last_seen_at"],
            expires_at=row["expires_at"],
            revoked_at=row["revoked_at"],
            deactivated_at=row["deactivated_at"],
        )


@dataclass(frozen=True)
class Attachment:
    id: int
    room_id: int
    uploader_id: int | None
    stored_name: str
    original_name: str
    content_type: str
    size: int
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any], prefix: str = "") -> Attachment:
        return _from_row(cls, row, prefix)

    @property
    def path(self) -> str:
        return f"/api/chat/files/{self.stored_name}"

    def to_json(self, base_url: str = "") -> dict[str, Any]:
        return {
            "id": self.id,
            "room_id": self.room_id,
            "name": self.original_name,
            "content_type": self.content_type,
            "size": self.size,
            "url": base_url + self.path,
            "created_at": iso(self.created_at),
        }


@dataclass(frozen=True)
class Message:
    id: int
    room_id: int
    sender_id: int | None
    sender_role: str
    body: str
    created_at: datetime
    read_at: datetime | None = None
    idempotency_key: str | None = None
    sender_name: str | None = None
    attachment: Attachment | None = None
    # A system message's catalogue code and parameters; None for people's messages and for
    # system messages stored as English text before catalogues existed (``body`` is shown).
    system_code: str | None = None
    system_params: dict[str, Any] | None = None
    # "message", or "note": a private note support writes for support only (never the visitor's)
    kind: str = "message"
    mentions: tuple[int, ...] = ()  # a note's mentioned admins

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Message:
        attachment = Attachment.from_row(row, "att_") if row.get("att_id") is not None else None
        raw = row.get("system_params")
        params = json.loads(raw) if isinstance(raw, str) else raw
        mentioned = row.get("mentions")
        mentions = tuple(int(i) for i in json.loads(mentioned)) if isinstance(mentioned, str) else ()
        values = _row_fields(cls, row)
        values.update(attachment=attachment, system_params=params, kind=row.get("kind") or "message",
                      mentions=mentions)
        return cls(**values)

    @property
    def is_note(self) -> bool:
        return self.kind == "note"

    def to_json(self, base_url: str = "") -> dict[str, Any]:
        doc = {
            "id": self.id,
            "room_id": self.room_id,
            "kind": self.kind,
            "user_id": self.sender_id,
            "sender_role": self.sender_role,
            "sender_name": self.sender_name,
            "body": self.body,
            "system": {"code": self.system_code, "params": self.system_params or {}} if self.system_code else None,
            "attachment": self.attachment.to_json(base_url) if self.attachment else None,
            "read_at": iso(self.read_at),
            "created_at": iso(self.created_at),
        }
        if self.is_note:
            doc["mentions"] = list(self.mentions)
        return doc


@dataclass(frozen=True)
class Room:
    id: int
    user_id: int
    status: str
    priority: str
    subject: str
    created_at: datetime
    updated_at: datetime
    assigned_admin_id: int | None = None
    last_message_at: datetime | None = None
    last_message_preview: str = ""
    user_unread_count: int = 0
    admin_unread_count: int = 0
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    user_name: str | None = None
    user_email: str | None = None
    user_email_verified_at: datetime | None = None
    user_role: str | None = None
    admin_name: str | None = None
    # The latest message's code and parameters when it is a system message (its English text is
    # the preview), so each reader's inbox renders it in their own language.
    last_system_code: str | None = None
    last_system_params: dict[str, Any] | None = None
    # The reading agent's own unread count (migration 015); None where they keep none and
    # the team's count stands for theirs, and in rooms read for no agent in particular.
    own_unread: int | None = None
    # Its label ids where they were read with it (admin inbox pages, label changes); None: not read.
    labels: tuple[int, ...] | None = None
    # When the visitor left it through the offline form (migration 018); None: an ordinary chat.
    left_offline_at: datetime | None = None
    # The visitor's satisfaction rating, 1-5, and comment (migration 021); None: not rated.
    rating: int | None = None
    rating_comment: str | None = None
    rated_at: datetime | None = None
    # Snoozed by an agent since then (migration 024, chatapp.snooze); None: not snoozed. It wakes
    # at ``snoozed_until``, or only on the visitor's next message when that is None.
    snoozed_at: datetime | None = None
    snoozed_until: datetime | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Room:
        raw = row.get("last_system_params")
        params = json.loads(raw) if isinstance(raw, str) else raw
        values = _row_fields(cls, row)
        values["last_system_params"] = params
        return cls(**values)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def snoozed(self) -> bool:
        return self.snoozed_at is not None

    @property
    def channel(self) -> str:
        return f"private-chat.{self.id}"

    def to_json(self, *, for_admin: bool = False) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "priority": self.priority,
            "subject": self.subject,
            "assigned_admin": (
                {"id": self.assigned_admin_id, "name": self.admin_name} if self.assigned_admin_id else None
            ),
            "last_message_at": iso(self.last_message_at),
            "last_message_preview": self.last_message_preview,
            "last_message_system": (
                {"code": self.last_system_code, "params": self.last_system_params or {}}
                if self.last_system_code else None
            ),
            "unread_count": self.user_unread_count if not for_admin else (
                self.admin_unread_count if self.own_unread is None else self.own_unread
            ),
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "resolved_at": iso(self.resolved_at),
            "closed_at": iso(self.closed_at),
            "channel": self.channel,
            "left_offline": self.left_offline_at is not None,
            "rating": (
                {"score": self.rating, "comment": self.rating_comment, "rated_at": iso(self.rated_at)}
                if self.rating is not None else None
            ),
        }
        if for_admin:
            doc["user"] = {
                "id": self.user_id,
                "name": self.user_name,
                "email": self.user_email,
                "email_verified": self.user_email is not None and self.user_email_verified_at is not None,
                "role": self.user_role,
            }
            doc["user_unread_count"] = self.user_unread_count
            doc["own_read"] = self.own_unread is not None  # the count is this agent's own
            if self.labels is not None:
                doc["labels"] = list(self.labels)
            doc["snooze"] = (  # support's own: the visitor is never told the chat was put aside
                {"since": iso(self.snoozed_at), "until": iso(self.snoozed_until)} if self.snoozed_at else None
            )
        else:
            doc["user_id"] = self.user_id
        return doc


@dataclass(frozen=True)
class Label:
    """A coloured tag the team's managers define and agents put on chats (chatapp.labels)."""

    id: int
    name: str
    color: str  # '#rrggbb'
    created_by: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Label:
        return _from_row(cls, row)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "color": self.color, "created_by": self.created_by,
                "created_at": iso(self.created_at), "updated_at": iso(self.updated_at)}


@dataclass(frozen=True)
class CannedReply:
    """A saved answer: team-wide (``owner_id`` None) or one agent's own."""

    id: int
    owner_id: int | None
    code: str
    body: str
    created_by: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CannedReply:
        return _from_row(cls, row)

    @property
    def scope(self) -> Literal["team", "personal"]:
        return "team" if self.owner_id is None else "personal"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "body": self.body,
            "scope": self.scope,
            "owner_id": self.owner_id,
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }
