"""The support team: roles, invitations, deactivation (``/api/admin/team``).

Support staff are ``users.role = 'admin'``; ``staff_role`` says which part they play:

- **owner**: everything an admin does; nobody else changes their role or deactivates them.
  They hand the team over by making someone else owner (they become an admin);
- **admin**: answers chats and manages the team (invites, roles of agents, deactivating
  agents), the settings and the team's canned replies;
- **agent**: answers chats (and keeps personal canned replies).

Only the owner makes an owner or changes or deactivates an admin. Nobody changes their own
role or deactivates themselves (there is always someone left who can undo it).

An invitation is a one-time link ``/admin/invite#<token>`` valid for
:data:`INVITE_TTL`: the token is random, stored only as its SHA-256, and used once (the
accepting update is a compare-and-set on ``accepted_at IS NULL``). It is mailed when e-mail
is on, and always answered to the manager who made it, so it can be handed over otherwise.
Accepting creates the staff account (its address counts as verified: a manager vouched
for it) and signs the new member in.

Invitations, acceptances, role changes, deactivations and reactivations are written to the
audit log in the same transaction (:func:`chatapp.contact_data.audit`). Deactivation
revokes every session of the account and ends its live connections (their panel gets 401
and their presence ends at once); a deactivated account cannot sign in. The chats it held
are unassigned (as if the deactivating manager pressed "unassign": the conversation says so
and routing may give them to someone else).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chatapp import repository as repo
from chatapp.audit import audit
from chatapp.broadcasting import Broadcaster
from chatapp.db import Connection, Database, IntegrityError, utcnow
from chatapp.errors import Conflict, Forbidden, NotFound
from chatapp.events import Events
from chatapp.mail import Mailer
from chatapp.mail.render import render
from chatapp.models import STAFF_ROLES, User, iso

__all__ = ["INVITE_TTL", "Invite", "Team", "hash_token", "invite_link"]

INVITE_TTL = timedelta(days=7)
INVITE_ROLES = ("admin", "agent")

_MEMBER_COLUMNS = (
    "id, name, email, staff_role, availability, created_at, last_active_at, deactivated_at"
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_link(base_url: str, token: str) -> str:
    """The page that accepts it; the token in the fragment never reaches a server log or a Referer."""
    return f"{base_url.rstrip('/')}/admin/invite#{token}"


@dataclass(frozen=True)
class Invite:
    id: int
    email: str
    name: str
    role: str
    invited_by: int | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Invite:
        return cls(
            id=int(row["id"]), email=row["email"], name=row["name"], role=row["staff_role"],
            invited_by=row["invited_by"], created_at=row["created_at"], expires_at=row["expires_at"],
            accepted_at=row["accepted_at"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "invited_by": self.invited_by,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
        }


def member_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "name": row["name"],
        "email": row["email"],
        "role": row["staff_role"] or "admin",
        "availability": row.get("availability"),
        "created_at": iso(row["created_at"]),
        "last_active_at": iso(row["last_active_at"]),
        "deactivated_at": iso(row["deactivated_at"]),
        "active": row["deactivated_at"] is None,
    }


class Team:
    def __init__(self, db: Database, broadcaster: Broadcaster, events: Events | None = None,
                 mailer: Mailer | None = None) -> None:
        self.db = db
        self.broadcaster = broadcaster
        self.events = events
        self.mailer = mailer

    async def _announce(self, conn: Connection, user_id: int) -> dict[str, Any]:
        """The member as they are now, also sent to every panel (``team.updated`` on the admin feed)."""
        member = member_json(await self.member(conn, user_id))
        if self.events is not None:
            await self.events.team_updated(conn, member)
        return member

    # ----------------------------------------------------------------- reading

    async def members(self) -> list[dict[str, Any]]:
        """Every staff account: owner first, then admins, then agents, each by name."""
        rows = await self.db.fetch_all(
            f"SELECT {_MEMBER_COLUMNS} FROM users WHERE role = 'admin' ORDER BY "
            "CASE staff_role WHEN 'owner' THEN 0 WHEN 'agent' THEN 2 ELSE 1 END, name, id"
        )
        return [member_json(r) for r in rows]

    @staticmethod
    async def member(conn: Connection, user_id: int) -> dict[str, Any]:
        row = await conn.fetch_one(f"SELECT {_MEMBER_COLUMNS} FROM users WHERE id = ? AND role = 'admin'", user_id)
        if row is None:
            raise NotFound(f"No team member {user_id}", code="member_not_found")
        return row

    async def pending_invites(self) -> list[Invite]:
        rows = await self.db.fetch_all(
            "SELECT * FROM staff_invites WHERE accepted_at IS NULL AND expires_at > ? ORDER BY id DESC", utcnow()
        )
        return [Invite.from_row(r) for r in rows]

    # ------------------------------------------------------------- invitations

    async def invite(self, actor: User, *, email: str, name: str, role: str, base_url: str) -> tuple[Invite, str, bool]:
        """A new invitation; returns it, its link and whether it was mailed."""
        if role not in INVITE_ROLES:
            raise Forbidden("Invite an admin or an agent; ownership is handed over", code="invalid_role")
        if await repo.get_verified_user_by_email(self.db, email) is not None:
            raise Conflict("An account with this e-mail address exists already", code="email_taken", field="email")
        token = secrets.token_urlsafe(32)
        link = invite_link(base_url, token)
        now = utcnow()
        mailed = False
        async with self.db.transaction() as conn:
            row = await conn.fetch_one(
                "INSERT INTO staff_invites (token_hash, email, name, staff_role, invited_by, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
                hash_token(token), email, name, role, actor.id, now, now + INVITE_TTL,
            )
            assert row is not None
            invite = Invite.from_row(row)
            await audit(conn, actor, "team.invite", "invite", invite.id, {"role": role})
            if self.mailer is not None and self.mailer.enabled:
                await self._mail(conn, self.mailer, actor, invite, link)
                mailed = True
        return invite, link, mailed

    @staticmethod
    async def _mail(conn: Connection, mailer: Mailer, actor: User, invite: Invite, link: str) -> None:
        """The invitation in the inviter's language, through the mail outbox (sent by its relay)."""
        catalogues = mailer.catalogues
        assert mailer.sender is not None
        locale = catalogues.negotiate([actor.locale]) if actor.locale else "en"
        params = {"name": invite.name, "inviter": actor.name}
        rendered = render(
            catalogues, locale,
            subject=catalogues.text(locale, "mail.invite.subject", params),
            intro=catalogues.text(locale, "mail.invite.intro", params),
            lines=[], link=link, link_label=catalogues.text(locale, "mail.invite.link"),
            hint=catalogues.text(locale, "mail.invite.hint"),
        )
        now = utcnow()
        await conn.execute(
            "INSERT INTO mail_outbox (kind, room_id, recipient_id, recipient, locale, message_id, subject, "
            "body_text, body_html, reply_to, created_at, next_attempt_at) "
            "VALUES (?, NULL, NULL, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
            "invite", invite.email, locale, f"<{uuid.uuid4().hex}.invite@{mailer.sender.domain}>",
            rendered.subject, rendered.text, rendered.html, now, now,
        )
        conn.after_commit(mailer.relay.wake)

    async def revoke_invite(self, actor: User, invite_id: int) -> int:
        """Withdraw a pending invitation (its link answers 404 from now on)."""
        async with self.db.transaction() as conn:
            removed: int = await conn.execute(
                "DELETE FROM staff_invites WHERE id = ? AND accepted_at IS NULL", invite_id
            )
            if not removed:
                raise NotFound(f"No pending invitation {invite_id}", code="invite_not_found")
            await audit(conn, actor, "team.invite_revoked", "invite", invite_id)
        return removed

    async def _open_invite(self, conn: Connection, token: str) -> Invite:
        row = await conn.fetch_one("SELECT * FROM staff_invites WHERE token_hash = ?", hash_token(token))
        if row is None or row["accepted_at"] is not None:
            raise NotFound("This invitation does not exist or was used already", code="invite_not_found")
        invite = Invite.from_row(row)
        if invite.expires_at <= utcnow():
            raise NotFound("This invitation has expired; ask for a new one", code="invite_expired")
        return invite

    async def show_invite(self, token: str) -> Invite:
        return await self._open_invite(self.db, token)

    async def accept(self, token: str, *, name: str, password_hash: str) -> User:
        """The new staff account; the invitation is used up in the same transaction."""
        async with self.db.transaction() as conn:
            invite = await self._open_invite(conn, token)
            try:
                user = await repo.create_user(
                    conn, role="admin", staff_role=invite.role, name=name, email=invite.email,
                    password_hash=password_hash, email_verified=True,
                )
            except IntegrityError:
                raise Conflict("An account with this e-mail address exists already", code="email_taken") from None
            used = await conn.execute(
                "UPDATE staff_invites SET accepted_at = ?, accepted_by = ? WHERE id = ? AND accepted_at IS NULL",
                utcnow(), user.id, invite.id,
            )
            if used != 1:  # a concurrent acceptance won; this transaction's account goes with it
                raise NotFound("This invitation was used already", code="invite_not_found")
            await audit(conn, user, "team.join", "user", user.id, {"invite_id": invite.id, "role": invite.role})
            await self._announce(conn, user.id)
        return user

    # ---------------------------------------------------------- roles, access

    async def set_role(self, actor: User, user_id: int, role: str) -> dict[str, Any]:
        """Change a member's role; making someone owner hands ownership over (the caller becomes an admin)."""
        if role not in STAFF_ROLES:
            raise Forbidden(f"Unknown role {role!r}", code="invalid_role")
        async with self.db.transaction() as conn:
            target = await self.member(conn, user_id)
            current = target["staff_role"] or "admin"
            self._may_change(actor, user_id, current)
            if role == "owner" and not actor.is_owner:
                raise Forbidden("Only the owner hands ownership over", code="owner_only")
            if target["deactivated_at"] is not None and role == "owner":
                raise Conflict("Reactivate the account before making it the owner", code="member_deactivated")
            if current != role:
                await conn.execute("UPDATE users SET staff_role = ? WHERE id = ?", role, user_id)
                details: dict[str, Any] = {"from": current, "to": role}
                if role == "owner":
                    await conn.execute("UPDATE users SET staff_role = 'admin' WHERE id = ?", actor.id)
                    details["previous_owner"] = actor.id
                    await self._announce(conn, actor.id)
                await audit(conn, actor, "team.role", "user", user_id, details)
                return await self._announce(conn, user_id)
            return member_json(await self.member(conn, user_id))

    async def set_active(self, actor: User, user_id: int, active: bool) -> dict[str, Any]:
        """Deactivate (every session revoked, live connections ended) or reactivate a member."""
        async with self.db.transaction() as conn:
            target = await self.member(conn, user_id)
            self._may_change(actor, user_id, target["staff_role"] or "admin")
            changed = (target["deactivated_at"] is None) != active
            if changed:
                await repo.change_access(conn, user_id, deactivated=not active)
                await audit(conn, actor, "team.reactivate" if active else "team.deactivate", "user", user_id)
                doc = await self._announce(conn, user_id)
            else:
                doc = member_json(await self.member(conn, user_id))
        if changed and not active:
            self.broadcaster.terminate_user(user_id)
        return doc

    async def assigned_rooms(self, user_id: int) -> list[int]:
        """The chats a member holds (a deactivated member's go back to the queue)."""
        rows = await self.db.fetch_all(
            "SELECT id FROM support_chat_rooms WHERE status = 'assigned' AND assigned_admin_id = ? ORDER BY id",
            user_id,
        )
        return [int(r["id"]) for r in rows]

    @staticmethod
    def _may_change(actor: User, user_id: int, current: str) -> None:
        if user_id == actor.id:
            raise Forbidden("You cannot change your own role or access", code="own_account")
        if current == "owner":
            raise Forbidden("Nobody changes the owner; the owner hands ownership over", code="owner_protected")
        if current == "admin" and not actor.is_owner:
            raise Forbidden("Only the owner changes an admin", code="owner_only")
