"""E-mail verification: a link mailed to an account's address proves that the address is theirs.

Anyone can sign up with any address, so an unverified address is only a claim. A verified one
is unique among accounts, is tried first at sign-in (:mod:`chatapp.sign_in`), and may receive
support's replies by mail (:mod:`chatapp.mail.service`).

The link carries a random token mailed once and stored only as its SHA-256, valid
:data:`TOKEN_TTL`, for one address of one account. Verifying compares that address with the
account's address at that moment (a changed address voids every earlier token) and marks the
token used with a compare-and-set, so a link works once even when clicked twice at once. The
row and its mail are written in the caller's transaction (the mail outbox sends it).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from chatapp import repository as repo
from chatapp.db import Connection, Database, IntegrityError, utcnow
from chatapp.errors import ChatError, Conflict, NotFound
from chatapp.events import Events
from chatapp.mail import Mailer
from chatapp.mail.render import render
from chatapp.models import User

__all__ = ["TOKEN_TTL", "Gone", "Verified", "verify_link", "queue_verification", "verify", "token_locale"]

TOKEN_TTL = timedelta(hours=48)
ANNOUNCED_ROOMS = 20  # the account's newest rooms whose panel view drops the "unverified" mark at once


class Gone(ChatError):  # noqa: N818 (named after its HTTP status, as chatapp.errors does)
    """410: the link was good once (used, expired)."""

    status = 410
    code = "gone"


@dataclass(frozen=True)
class Verified:
    user_id: int
    email: str
    locale: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def verify_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/api/auth/email/verify?token={token}"


async def queue_verification(conn: Connection, mailer: Mailer, user: User, locale: str, base_url: str) -> None:
    """A new token for ``user``'s current address and its mail, in ``locale``, in this transaction."""
    assert user.email is not None
    token = secrets.token_urlsafe(32)
    now = utcnow()
    # the account's dead links go (an address kept nowhere it is not needed); a used one answers 404 from then on
    await conn.execute("DELETE FROM email_verifications WHERE user_id = ? AND expires_at <= ?", user.id, now)
    await conn.execute(
        "INSERT INTO email_verifications (user_id, email, token_hash, locale, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        user.id, user.email, _hash(token), locale, now, now + TOKEN_TTL,
    )
    text = mailer.catalogues.text
    rendered = render(
        mailer.catalogues, locale,
        subject=text(locale, "mail.verify.subject"),
        intro=text(locale, "mail.verify.intro", {"name": user.name, "email": user.email}),
        lines=[], link=verify_link(mailer.settings.public_url or base_url, token),
        link_label=text(locale, "mail.verify.link"),
        hint=text(locale, "mail.verify.hint"),  # says TOKEN_TTL
        footer=text(locale, "mail.verify.footer"),
    )
    await mailer.enqueue(conn, kind="verify", room_id=None, recipient_id=user.id, recipient=user.email,
                         locale=locale, rendered=rendered, reply_to=None)


async def token_locale(db: Database, token: str) -> str | None:
    """The language of the account a token is for (its own, else its mail's); None for an unknown token."""
    row = await db.fetch_one(
        "SELECT u.locale AS chosen, v.locale FROM email_verifications v JOIN users u ON u.id = v.user_id "
        "WHERE v.token_hash = ?", _hash(token[:200]))
    return None if row is None else str(row["chosen"] or row["locale"])


async def verify(db: Database, events: Events, token: str) -> Verified:
    """Mark the token's address verified; 404 unknown, 410 used or expired, 409 changed or taken."""
    row = await db.fetch_one("SELECT * FROM email_verifications WHERE token_hash = ?", _hash(token[:200]))
    if row is None:
        raise NotFound("This verification link is not valid", code="token_unknown")
    if row["used_at"] is not None:
        raise Gone("This verification link was used already", code="token_used")
    now = utcnow()
    if row["expires_at"] <= now:
        raise Gone("This verification link has expired; ask for a new one", code="token_expired")
    try:
        async with db.transaction() as conn:
            used = await conn.execute(
                "UPDATE email_verifications SET used_at = ? WHERE id = ? AND used_at IS NULL", now, row["id"])
            if not used:
                raise Gone("This verification link was used already", code="token_used")
            changed = await conn.execute(
                "UPDATE users SET email_verified_at = ? WHERE id = ? AND email = ? AND email_verified_at IS NULL",
                now, row["user_id"], row["email"],
            )
            if not changed:
                user = await repo.get_user(conn, int(row["user_id"]))
                if user is None or user.email != row["email"]:
                    raise Conflict("The account's e-mail address has changed since this link was sent",
                                   code="email_changed")
            else:
                await _announce(conn, events, int(row["user_id"]))
    except IntegrityError:  # another account has this address verified already
        raise Conflict("Another account has verified this e-mail address", code="email_taken") from None
    return Verified(int(row["user_id"]), row["email"], row["locale"])


async def _announce(conn: Connection, events: Events, user_id: int) -> None:
    """The panel shows the address verified at once (room.updated of the account's newest rooms)."""
    rows = await conn.fetch_all(
        f"SELECT id FROM support_chat_rooms WHERE user_id = ? ORDER BY id DESC LIMIT {ANNOUNCED_ROOMS}", user_id)
    for r in rows:
        room = await repo.get_room(conn, int(r["id"]))
        if room is not None:
            await events.room_updated(conn, room)
