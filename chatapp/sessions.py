"""Server-side sign-in sessions: every bearer token names one row, so it can be revoked.

A token is checked on every API call with one primary-key lookup that also returns
the account (the same cost as reading the user was before). ``last_seen_at`` is
written at most once a minute per session (more often only under a shorter idle
timeout), so the idle timeout costs no write per request. Revoking everything a user
holds (sign out everywhere, a new password, a role change, deactivation) also ends
their live WebSocket connections through pyreverb, so a revoked admin panel stops
receiving the admin feed at once. Support staff's ``users.last_active_at`` (the team
page's "last active") is written with the session's touch, and only when it is a minute
old, so it too costs at most one write a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta

from chatapp import repository as repo
from chatapp.auth import TokenClaims, Tokens
from chatapp.broadcasting import Broadcaster
from chatapp.config import Settings
from chatapp.db import Database, IntegrityError, utcnow
from chatapp.errors import Forbidden, Unauthorized
from chatapp.models import AuthSession, User

__all__ = ["Sessions", "IssuedToken", "revoke_all", "TOUCH_EVERY"]

TOUCH_EVERY = timedelta(seconds=60)
MESSAGES = {
    "revoked": "This session was signed out; sign in again",
    "gone": "This session no longer exists; sign in again",
    "expired": "Your session has expired; sign in again",
    "idle": "Signed out after a period without use; sign in again",
    "deactivated": "This account is deactivated",
}


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


class Sessions:
    def __init__(self, settings: Settings, db: Database, tokens: Tokens, broadcaster: Broadcaster) -> None:
        self.settings = settings
        self.db = db
        self.tokens = tokens
        self.broadcaster = broadcaster

    def lifetime(self, user: User) -> int:
        return self.settings.guest_token_ttl if user.is_guest else self.settings.token_ttl

    def idle_limit(self, user: User) -> timedelta | None:
        seconds = self.settings.admin_idle_timeout if user.is_admin else 0
        return timedelta(seconds=seconds) if seconds else None

    async def open(self, user: User, *, user_agent: str = "", ip: str = "") -> IssuedToken:
        """A new session (one device) for ``user``; 403 when the account is deactivated."""
        token, claims = self.tokens.issue()
        ttl = self.lifetime(user)
        created = await repo.create_session(
            self.db,
            session_id=claims.session_id,
            user_id=user.id,
            expires_at=claims.signed_at + timedelta(seconds=ttl),
            user_agent=user_agent[:300],
            ip=ip[:64],
            created_at=claims.signed_at,
        )
        if not created:
            raise Forbidden(MESSAGES["deactivated"], code="account_deactivated")
        if user.is_admin:  # signing in is activity
            await repo.touch_user_activity(self.db, user.id, claims.signed_at, TOUCH_EVERY)
        return IssuedToken(token, ttl)

    async def check(self, token: str) -> AuthSession:
        """The live session ``token`` names; 401 with the reason (``token_revoked``, ...) otherwise."""
        claims = self.tokens.verify(token)
        session = await repo.get_session(self.db, claims.session_id)
        if session is None and claims.legacy_user_id is not None:
            session = await self._adopt_legacy(claims)
        if session is None:
            raise Unauthorized(MESSAGES["gone"], code="token_revoked")
        if session.revoked_at is not None:
            raise Unauthorized(MESSAGES["revoked"], code="token_revoked")
        if session.deactivated_at is not None:
            raise Unauthorized(MESSAGES["deactivated"], code="account_deactivated")
        now = utcnow()
        if session.expires_at <= now:
            raise Unauthorized(MESSAGES["expired"], code="token_expired")
        idle = self.idle_limit(session.user)
        if idle is not None and now - session.last_seen_at > idle:
            raise Unauthorized(MESSAGES["idle"], code="token_expired")
        if now - session.last_seen_at > (min(TOUCH_EVERY, idle / 4) if idle else TOUCH_EVERY):
            await repo.touch_session(self.db, session.id, now)
            if session.user.is_admin:  # the team's "last active": at most one write a minute per account
                await repo.touch_user_activity(self.db, session.user.id, now, TOUCH_EVERY)
        return session

    async def _adopt_legacy(self, claims: TokenClaims) -> AuthSession | None:
        """A guest's token from before sessions existed gets a session row, so the visitor keeps the chat.

        Only guests (an account signs in again instead) and only while the guest has
        no session yet: once revocation has happened, an old token is never let back in.
        """
        assert claims.legacy_user_id is not None
        user = await repo.get_user(self.db, claims.legacy_user_id)
        if user is None or not user.is_guest:
            raise Unauthorized(MESSAGES["expired"], code="token_expired")
        if await repo.count_sessions(self.db, user.id):
            # Honoured only if that session is this token's, made a moment ago by a concurrent request.
            return await repo.get_session(self.db, claims.session_id)
        signed_at = claims.signed_at.astimezone(UTC)
        try:
            await repo.create_session(
                self.db,
                session_id=claims.session_id,
                user_id=user.id,
                expires_at=signed_at + timedelta(seconds=self.lifetime(user)),
                user_agent="",
                ip="",
                created_at=signed_at,
            )
        except IntegrityError:  # a concurrent request with the same token made the row first
            pass
        return await repo.get_session(self.db, claims.session_id)

    async def close(self, session: AuthSession) -> None:
        """Sign out this device only (its sockets close as the page leaves)."""
        await repo.revoke_session(self.db, session.id)

    async def revoke_all(
        self,
        user_id: int,
        *,
        role: str | None = None,
        password_hash: str | None = None,
        deactivated: bool | None = None,
    ) -> int:
        return await revoke_all(
            self.db, self.broadcaster, user_id, role=role, password_hash=password_hash, deactivated=deactivated
        )


async def revoke_all(
    db: Database,
    broadcaster: Broadcaster,
    user_id: int,
    *,
    role: str | None = None,
    password_hash: str | None = None,
    deactivated: bool | None = None,
) -> int:
    """Apply the access change (if any), revoke every session of the user, end their sockets.

    The server and the CLI (``create-admin`` on an existing account) both come here.
    """
    async with db.transaction() as conn:
        revoked = await repo.change_access(conn, user_id, role=role, password_hash=password_hash,
                                           deactivated=deactivated)
    broadcaster.terminate_user(user_id)
    return revoked
