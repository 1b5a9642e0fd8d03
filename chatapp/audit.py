"""The audit log: who did what to whom, and when, written in the transaction of the change.

Entries are recorded for sign-ins, team changes (invitations, joins, roles, deactivations),
chat assignments (by hand and by automatic routing), contact exports and erasures, and
retention deletions. ``actor_role`` is the actor's role at that moment (owner, admin, agent,
visitor, or system for sweeps and routing), so the log keeps reading right after a role
change. Details hold ids and counts, never a contact's personal data. Owners and admins read
it newest first in keyset pages (``GET /api/admin/audit``; the panel's "Audit log" dialog).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from chatapp.db import Connection, Row, utcnow
from chatapp.models import User, iso

__all__ = ["AuditEntry", "actor_role", "audit", "audit_page"]


@dataclass(frozen=True)
class AuditEntry:
    id: int
    actor_id: int | None
    actor_role: str
    actor_name: str | None
    action: str
    target_type: str
    target_id: int | None
    details: dict[str, Any]
    created_at: Any

    @classmethod
    def from_row(cls, row: Row) -> AuditEntry:
        raw = row["details"]
        return cls(
            id=int(row["id"]),
            actor_id=None if row["actor_id"] is None else int(row["actor_id"]),
            actor_role=str(row["actor_role"]),
            actor_name=row.get("actor_name"),
            action=str(row["action"]),
            target_type=str(row["target_type"]),
            target_id=None if row["target_id"] is None else int(row["target_id"]),
            details=orjson.loads(raw) if isinstance(raw, str) and raw else {},
            created_at=row["created_at"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "actor": {"id": self.actor_id, "role": self.actor_role, "name": self.actor_name},
            "action": self.action,
            "target": {"type": self.target_type, "id": self.target_id},
            "details": self.details,
            "created_at": iso(self.created_at),
        }


def actor_role(actor: User | None) -> str:
    """The role an entry records: the staff role, ``visitor`` for contacts, ``system`` for None."""
    if actor is None:
        return "system"
    return actor.team_role or "visitor"


async def audit(
    conn: Connection,
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record ``action`` in the caller's transaction; ``actor`` None is the system (a sweep)."""
    role = actor_role(actor)
    await conn.execute(
        "INSERT INTO audit_log (actor_id, actor_role, action, target_type, target_id, details, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        None if actor is None else actor.id,
        role,
        action,
        target_type,
        target_id,
        orjson.dumps(details or {}).decode(),
        utcnow(),
    )


async def audit_page(conn: Connection, before: int | None, limit: int) -> tuple[list[AuditEntry], int | None]:
    """Entries newest first, those with id < ``before`` when given; and the next page's ``before``."""
    where = "WHERE l.id < ? " if before is not None else ""
    args: list[Any] = [before] if before is not None else []
    rows = await conn.fetch_all(
        "SELECT l.*, u.name AS actor_name FROM audit_log l LEFT JOIN users u ON u.id = l.actor_id "
        f"{where}ORDER BY l.id DESC LIMIT ?",
        *args,
        limit + 1,
    )
    entries = [AuditEntry.from_row(r) for r in rows[:limit]]
    return entries, (entries[-1].id if len(rows) > limit else None)
