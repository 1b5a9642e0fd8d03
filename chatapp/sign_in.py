"""Which account an e-mail and password sign in to, now that an address can have several.

Sign-up does not tell whether an address already has an account (that would let anyone
probe for customers), so it always creates one, *unverified* until the address is proven.
Only verified addresses (support admins, host-site identities) are unique. A password is
therefore checked against the verified account first, then against the unverified
accounts with that address, oldest first, at most :data:`UNVERIFIED_CANDIDATES` of them.

Oldest first because the first to register an address is most likely its owner: later
sign-ups with it (someone probing, or squatting) cannot push the owner's account out of
the candidates. An unknown address still costs one argon2 verification, so the answer
takes as long as for a known one with a wrong password.
"""

from __future__ import annotations

from chatapp import repository as repo
from chatapp.auth import Passwords
from chatapp.db import Connection
from chatapp.models import User

__all__ = ["account_for", "UNVERIFIED_CANDIDATES"]

UNVERIFIED_CANDIDATES = 3


async def account_for(conn: Connection, passwords: Passwords, email: str, password: str) -> User | None:
    """The account ``email`` and ``password`` open, or None."""
    candidates = await repo.login_candidates(conn, email, 1 + UNVERIFIED_CANDIDATES)
    if not candidates:
        await passwords.verify(None, password)  # the same work as for a known address
        return None
    verified = [c for c in candidates if c[0].email_verified]
    unverified = [c for c in candidates if not c[0].email_verified][:UNVERIFIED_CANDIDATES]
    for user, password_hash in verified + unverified:
        if await passwords.verify(password_hash, password):
            return user
    return None
