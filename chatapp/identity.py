"""Identity from the host site: an HS256 JWT signed with a shared secret.

The site's backend (Laravel in the brief) already knows who is logged in. It
signs ``{"sub": user id, "name": ..., "email": ..., "exp": ...}`` with
``CHATAPP_IDENTITY_SECRET``; the widget hands the token to
``POST /api/auth/identity`` and the site's user becomes the chat user without a
second login. ``docs/identity.md`` shows the PHP and Python that sign it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass

import orjson

__all__ = ["SiteIdentity", "IdentityError", "verify_identity_token", "sign_identity_token"]

MAX_TOKEN_LENGTH = 4096


class IdentityError(ValueError):
    """The identity token is malformed, forged or expired; ``str()`` says which."""


@dataclass(frozen=True)
class SiteIdentity:
    subject: str
    name: str
    email: str | None


def _b64decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise IdentityError("token is not base64url") from None


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sign_identity_token(secret: str, claims: dict[str, object]) -> str:
    """What the host site does; used by tests and by ``chatapp identity-token``."""
    header = _b64encode(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
    payload = _b64encode(orjson.dumps(claims))
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64encode(signature)}"


def verify_identity_token(token: str, secret: str, max_age: int, now: float | None = None) -> SiteIdentity:
    """Check signature, algorithm and lifetime; return who the site says this is."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise IdentityError("identity must be a JWT (header.payload.signature)")
    header_b64, payload_b64, signature_b64 = token.split(".")
    try:
        header = orjson.loads(_b64decode(header_b64))
        claims = orjson.loads(_b64decode(payload_b64))
    except orjson.JSONDecodeError:
        raise IdentityError("token header or payload is not JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise IdentityError("token must be signed with HS256")
    expected = hmac.new(secret.encode(), f"{header_b64}.{payload_b64}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _b64decode(signature_b64)):
        raise IdentityError("token signature does not match the shared secret")
    if not isinstance(claims, dict):
        raise IdentityError("token payload must be a JSON object")
    now = time.time() if now is None else now
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        raise IdentityError("token needs a numeric 'exp' claim")
    if exp < now:
        raise IdentityError("token has expired")
    iat = claims.get("iat")
    if isinstance(iat, (int, float)) and not isinstance(iat, bool) and iat > now + 60:
        raise IdentityError("token is issued in the future; check the site's clock")
    if exp - now > max_age:
        raise IdentityError(f"token lives longer than the allowed {max_age} seconds")
    subject = claims.get("sub")
    if isinstance(subject, int) and not isinstance(subject, bool):
        subject = str(subject)
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 191:
        raise IdentityError("token needs a 'sub' claim (the site's user id, at most 191 characters)")
    name = claims.get("name")
    email = claims.get("email")
    if name is not None and (not isinstance(name, str) or len(name) > 100):
        raise IdentityError("'name' must be a string of at most 100 characters")
    if email is not None and (not isinstance(email, str) or len(email) > 254 or "@" not in email):
        raise IdentityError("'email' must be an e-mail address")
    return SiteIdentity(subject=subject.strip(), name=(name or "").strip() or f"User {subject}", email=email)
