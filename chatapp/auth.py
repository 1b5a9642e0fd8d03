"""Accounts: argon2 password hashes and signed, opaque bearer tokens.

A token is an itsdangerous timed signature over a random key. It proves nothing by
itself: it names a server-side session (:mod:`chatapp.sessions`) by the SHA-256 of
the token, and that row decides whether it is still good. The signature only lets
garbage and old tokens be refused before the database is asked.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from chatapp.errors import BadRequest, Unauthorized

__all__ = ["Passwords", "Tokens", "TokenClaims", "validate_email", "validate_password", "validate_name"]

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$")


class Passwords:
    """argon2id hashing, run off the event loop (it is deliberately slow)."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher()

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        if not stored:
            # Spend the same time on unknown accounts so timing does not reveal them.
            await asyncio.to_thread(self._safe_verify, _DUMMY_HASH, password)
            return False
        return await asyncio.to_thread(self._safe_verify, stored, password)

    def _safe_verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False


# A hash of a password nobody has, made with PasswordHasher()'s parameters, for the unknown
# account's verify. Written out rather than computed at import: hashing takes 0.2 s of every
# process start (the server and each CLI command); a unit test keeps its parameters current.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$kUIK2NV7MT1I5oT4/ri0jg$N6Ae/lWgwOMUD22ttxfsEVGA3L+bt/vHgic9e1BxQC4"


@dataclass(frozen=True)
class TokenClaims:
    session_id: str  # the SHA-256 of the token: the key of its session row
    signed_at: datetime
    legacy_user_id: int | None = None  # tokens from before server-side sessions named the user


class Tokens:
    """Bearer tokens: ``issue()`` a new random one, ``verify(token)`` its signature and age."""

    # Tokens whose signature was checked, with their claims: a token comes with every request
    # of its holder, and checking it again (HMAC, base64, JSON, SHA-256) was about a tenth of
    # a chat message's CPU. Only good tokens are kept, their age is checked on every use, and
    # the oldest entry goes when the map is full.
    VERIFIED_KEPT = 8192

    def __init__(self, secret: str, max_ttl: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="chatapp.access")
        self._max_ttl = max_ttl
        self._max_age = timedelta(seconds=max_ttl)
        self._verified: dict[str, TokenClaims] = {}

    def issue(self) -> tuple[str, TokenClaims]:
        token = self._serializer.dumps({"s": secrets.token_urlsafe(32)})
        return token, TokenClaims(self.session_id(token), datetime.now(UTC))

    @staticmethod
    def session_id(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def verify(self, token: str) -> TokenClaims:
        """Who signed it and when; :class:`Unauthorized` for a forged, malformed or too old token."""
        known = self._verified.get(token)
        if known is not None:
            if datetime.now(UTC) - known.signed_at > self._max_age:
                del self._verified[token]
                raise Unauthorized("Token has expired; sign in again", code="token_expired")
            return known
        claims = self._check(token)
        if len(self._verified) >= self.VERIFIED_KEPT:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = claims
        return claims

    def _check(self, token: str) -> TokenClaims:
        if len(token) > 1024:
            raise Unauthorized("Token is malformed", code="invalid_token")
        try:
            payload, signed_at = self._serializer.loads(token, max_age=self._max_ttl, return_timestamp=True)
        except SignatureExpired:
            raise Unauthorized("Token has expired; sign in again", code="token_expired") from None
        except BadSignature:
            raise Unauthorized("Token is invalid", code="invalid_token") from None
        if isinstance(payload, dict) and isinstance(payload.get("s"), str):
            return TokenClaims(self.session_id(token), signed_at)
        user_id = payload.get("u") if isinstance(payload, dict) else None
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            raise Unauthorized("Token is invalid", code="invalid_token")
        return TokenClaims(self.session_id(token), signed_at, legacy_user_id=user_id)


def validate_email(value: object) -> str:
    if not isinstance(value, str) or not EMAIL_RE.match(value.strip()):
        raise BadRequest("'email' must be an e-mail address", field="email")
    return value.strip().lower()


def validate_password(value: object) -> str:
    if not isinstance(value, str) or not 8 <= len(value) <= 256:
        raise BadRequest("'password' must be 8 to 256 characters", field="password")
    return value


def validate_name(value: object, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 100:
        raise BadRequest("'name' must be 1 to 100 characters", field="name")
    return value.strip()
