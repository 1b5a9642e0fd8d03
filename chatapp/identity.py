"""Identity from the host site: an HS256 JWT signed with a shared secret.

The site's backend (Laravel in the brief) already knows who is logged in. It
signs ``{"sub": user id, "name": ..., "email": ..., "exp": ...}`` (and optionally
``"attributes"``, custom fields for support: chatapp.site_attributes) with
``CHATAPP_IDENTITY_SECRET``; the widget hands the token to
``POST /api/auth/identity`` and the site's user becomes the chat user without a
second login. ``docs/identity.md`` shows the PHP and Python that sign it.

PyJWT checks the token: HS256 only, ``exp`` required, ``nbf`` and ``iat`` honoured
with :data:`LEEWAY_SECONDS` of clock skew, ``aud`` and ``iss`` when configured. What
it cannot know stays here: how long a token may live, and what the claims must hold.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import jwt

from chatapp.site_attributes import Attributes, clean_attributes

__all__ = ["SiteIdentity", "IdentityError", "verify_identity_token", "sign_identity_token", "LEEWAY_SECONDS"]

MAX_TOKEN_LENGTH = 4096
ALGORITHM = "HS256"
LEEWAY_SECONDS = 30  # clock skew between the site's servers and ours


class IdentityError(ValueError):
    """The identity token is malformed, forged, expired or meant for someone else; ``str()`` says which."""


@dataclass(frozen=True)
class SiteIdentity:
    subject: str
    name: str
    email: str | None
    attributes: Attributes | None = None  # the site's custom fields (chatapp.site_attributes); None: no claim


@contextmanager
def _any_key_length() -> Iterator[None]:
    """The secret's minimum length is the settings' decision (``CHATAPP_IDENTITY_SECRET``), not a warning per token."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        yield


def sign_identity_token(secret: str, claims: dict[str, object]) -> str:
    """What the host site does; used by tests and by ``chatapp identity-token``."""
    with _any_key_length():
        return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_identity_token(
    token: str, secret: str, max_age: int, *, audience: str | None = None, issuer: str | None = None
) -> SiteIdentity:
    """Check signature, algorithm, lifetime and (when given) audience and issuer; return who the site says this is."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise IdentityError("identity must be a JWT (header.payload.signature)")
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError:
        raise IdentityError("token header is not base64url JSON") from None
    if algorithm != ALGORITHM:
        raise IdentityError(f"token must be signed with {ALGORITHM}, not {str(algorithm)[:20]!r}")
    required = ["exp"] + (["aud"] if audience else []) + (["iss"] if issuer else [])
    try:
        with _any_key_length():
            claims = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                audience=audience or None,
                issuer=issuer or None,
                leeway=LEEWAY_SECONDS,
                options={"require": required, "verify_aud": bool(audience), "verify_sub": False,
                         "verify_jti": False},
            )
    except jwt.PyJWTError as exc:
        raise IdentityError(_reason(exc, audience, issuer)) from None
    if not isinstance(claims, dict):
        raise IdentityError("token payload must be a JSON object")
    if int(claims["exp"]) - time.time() > max_age:
        raise IdentityError(f"token lives longer than the allowed {max_age} seconds")
    return _identity(claims)


def _reason(exc: jwt.PyJWTError, audience: str | None, issuer: str | None) -> str:
    """One plain sentence per way a token fails."""
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "token has expired"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "token is not yet valid (its 'nbf' or 'iat' is in the future; check the site's clock)"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"token needs a '{exc.claim}' claim"
    if isinstance(exc, jwt.InvalidAudienceError):
        return f"token is for another audience ('aud' must be {audience!r})"
    if isinstance(exc, jwt.InvalidIssuerError):
        return f"token is from another issuer ('iss' must be {issuer!r})"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "token signature does not match the shared secret"
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return f"token must be signed with {ALGORITHM}"
    return f"token is malformed: {exc}"


def _identity(claims: dict[str, object]) -> SiteIdentity:
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
    return SiteIdentity(subject=subject.strip(), name=(name or "").strip() or f"User {subject}", email=email,
                        attributes=clean_attributes(claims.get("attributes")))
