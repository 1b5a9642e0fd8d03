"""E-mail verification endpoints: the link from the mail, a new link, a new address (chatapp.verification).

The link opens ``GET /api/auth/email/verify?token=``: a small page in the account's language
(server-rendered, no script, nothing inline) for a browser, JSON for any other caller; ``POST``
with ``{"token"}`` is the API form. Asking for a mail (a new link, a new address) is limited
per account, and answers the same whether or not another account uses the address.
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import Response

from chatapp import repository as repo
from chatapp import shapes
from chatapp.api.access import caller
from chatapp.api.account import prove_password
from chatapp.api.common import body_of, json_response, state
from chatapp.auth import validate_email
from chatapp.config import RateLimit
from chatapp.db import Connection
from chatapp.errors import BadRequest, ChatError, Conflict, Forbidden
from chatapp.mail import Mailer
from chatapp.models import User
from chatapp.pages import content_security_policy
from chatapp.state import ChatState
from chatapp.verification import Verified, queue_verification, token_locale, verify

__all__ = ["offer", "readdress", "verify_page", "verify_token", "resend", "change_email", "SEND_RATE"]

SEND_RATE = RateLimit(3, 3600)  # verification mails one account may ask for
PAGE_ERRORS = ("token_unknown", "token_used", "token_expired", "email_changed", "email_taken")


def _mailer(chat: ChatState) -> Mailer | None:
    return chat.mail if chat.mail is not None and chat.mail.enabled else None


def _locale(request: Request, user: User) -> str:
    """The account's language, else the browser's (as a transcript is written)."""
    prefer = [t.split(";")[0] for t in request.headers.get("accept-language", "").split(",")]
    return user.locale or state(request).service.catalogues.negotiate(prefer)


async def offer(conn: Connection, request: Request, user: User) -> str:
    """Queue the verification mail for ``user`` in this transaction: ``sent``, or ``unavailable`` without mail."""
    chat = state(request)
    mailer = _mailer(chat)
    if mailer is None or user.email is None:
        return "unavailable"
    base = chat.settings.public_url or str(request.base_url)
    await queue_verification(conn, mailer, user, _locale(request, user), base)
    return "sent"


def _token_of(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("'token' must be the token of the verification link", field="token")
    return value.strip()


def _result(done: Verified) -> dict[str, object]:
    return {"verified": True, "email": done.email, "user_id": done.user_id}


async def verify_token(request: Request) -> Response:
    """The API form of the link: ``{"token"}`` in, the verified address out."""
    chat = state(request)
    token = _token_of((await body_of(request, shapes.VerifyEmail)).token)
    return json_response(_result(await verify(chat.db, chat.service.events, token)))


async def verify_page(request: Request) -> Response:
    """The link from the mail: a page in the account's language for a browser (Accept: text/html), else JSON."""
    chat = state(request)
    token = _token_of(request.query_params.get("token"))
    if "text/html" not in request.headers.get("accept", ""):  # an API caller, not a browser
        return json_response(_result(await verify(chat.db, chat.service.events, token)))
    prefer = [t.split(";")[0] for t in request.headers.get("accept-language", "").split(",")]
    locale = await token_locale(chat.db, token) or chat.service.catalogues.negotiate(prefer)
    try:
        done = await verify(chat.db, chat.service.events, token)
    except ChatError as exc:
        if exc.code not in PAGE_ERRORS:
            raise
        return _page(request, locale, f"verify.{exc.code}", {}, exc.status)
    return _page(request, locale, "verify.ok", {"email": done.email}, 200)


def _page(request: Request, locale: str, key: str, params: dict[str, object], status: int) -> Response:
    chat = state(request)
    text = chat.service.catalogues.text
    title = html.escape(text(locale, "verify.title"))
    home = html.escape(chat.settings.public_url or "/", quote=True)
    result = 'role="status"' if status == 200 else 'role="alert" class="form-error"'
    body = (
        f'<!doctype html><html lang="{html.escape(locale, quote=True)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">'
        f'<title>{title}</title><link rel="stylesheet" href="/static/admin/admin.css"></head>'
        f'<body class="login-page"><main class="login-card"><h1>{title}</h1><p id="verify-result" {result}>'
        f"{html.escape(text(locale, key, params))}</p>"
        f'<p><a href="{home}">{html.escape(text(locale, "verify.back"))}</a></p></main></body></html>'
    )
    headers = {
        "Content-Security-Policy": content_security_policy(chat.settings),
        "Referrer-Policy": "no-referrer",  # the token is in this page's address
        "Cache-Control": "no-store",
        "Content-Language": locale,
    }
    return Response(body, status_code=status, media_type="text/html; charset=utf-8", headers=headers)


async def resend(request: Request) -> Response:
    """A new link to my address (3 an hour); 409 when there is nothing to verify or no mail here."""
    chat = state(request)
    user = caller(request)
    if not user.email:
        raise Conflict("Your account has no e-mail address to verify", code="no_email")
    if user.email_verified:
        raise Conflict("Your e-mail address is verified already", code="already_verified")
    if _mailer(chat) is None:
        raise Conflict("E-mail is not set up on this server, so addresses cannot be verified", code="mail_off")
    await chat.limiter.hit(("verification-mail", user.id), SEND_RATE, "verification e-mails")
    async with chat.db.transaction() as conn:
        await offer(conn, request, user)
    return json_response({"sent": True, "to": user.email}, 202)


async def change_email(request: Request) -> Response:
    """A new address for my account (my password proves it is me): unverified until its link is opened."""
    user = caller(request)
    doc = await body_of(request, shapes.ChangeEmail)
    email = validate_email(doc.email)
    if user.external_id is not None:
        raise Forbidden("Your address comes from the site you signed in on; change it there", code="email_managed")
    await prove_password(request, user, doc.current_password)
    if email == user.email and user.email_verified:
        return json_response({"user": user.to_json(), "email_verification": "verified"})
    return await readdress(request, user, email, over_verified=True)


async def readdress(request: Request, user: User, email: str, *, over_verified: bool) -> Response:
    """Put ``email`` on ``user``'s account, unverified, and mail its link in the same transaction (limited as
    resend is); ``over_verified`` False keeps a verified address as it is."""
    chat = state(request)
    if _mailer(chat) is not None:
        await chat.limiter.hit(("verification-mail", user.id), SEND_RATE, "verification e-mails")
    keep = "" if over_verified else " AND email_verified_at IS NULL"
    async with chat.db.transaction() as conn:
        await conn.execute(f"UPDATE users SET email = ?, email_verified_at = NULL WHERE id = ?{keep}", email, user.id)
        changed = await repo.get_user(conn, user.id)
        assert changed is not None
        sent = await offer(conn, request, changed) if not changed.email_verified else "verified"
    return json_response({"user": changed.to_json(), "email_verification": sent})
