"""Sign-up, sign-in, guest visitors and host-site identity; all return a bearer token.

A guest who signs in (or whose site login arrives) keeps their conversation: when
the request also carries the guest's token, the guest's rooms move to the account.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from chatapp import repository as repo
from chatapp import shapes
from chatapp.api.access import caller
from chatapp.api.account import token_document
from chatapp.api.common import body_of, client_ip, json_response, optional_user, state
from chatapp.api.verify import offer
from chatapp.audit import audit
from chatapp.auth import validate_email, validate_name, validate_password
from chatapp.db import IntegrityError
from chatapp.errors import Forbidden, Unauthorized
from chatapp.identity import IdentityError, verify_identity_token
from chatapp.models import User
from chatapp.sign_in import account_for
from chatapp.site_attributes import store_attributes

__all__ = ["register", "login", "guest", "identity", "me"]


async def _token_response(request: Request, user: User, status: int = 200, **extra: Any) -> Response:
    return json_response({**await token_document(request, user), **extra}, status)


async def _limit(request: Request, what: str) -> None:
    chat = state(request)
    await chat.limiter.hit(("auth", client_ip(request)), chat.settings.rate_auth, what)


async def _adopt_guest(request: Request, account: User) -> int:
    """Move the calling guest's rooms (if the request carries a guest token) to ``account``."""
    try:
        caller = await optional_user(request)
    except Unauthorized:
        return 0
    if caller is None or not caller.is_guest or caller.id == account.id:
        return 0
    chat = state(request)
    async with chat.db.transaction() as conn:
        moved = await repo.move_rooms(conn, caller.id, account.id)
        await repo.keep_newest_push_subscriptions(conn, account.id, chat.settings.push_max_subscriptions)
        return moved


async def register(request: Request) -> Response:
    chat = state(request)
    if not chat.settings.allow_registration:
        raise Forbidden("Registration is disabled here", code="registration_disabled")
    await _limit(request, "sign-up attempts")
    doc = await body_of(request, shapes.Register)
    email = validate_email(doc.email)
    password = validate_password(doc.password)
    name = validate_name(doc.name, default=email.split("@")[0])
    password_hash = await chat.passwords.hash(password)
    # Always a new, unverified account: whether the address is known stays unsaid (chatapp.sign_in).
    # Its verification mail is written with it (chatapp.verification), so none is lost.
    async with chat.db.transaction() as conn:
        user = await repo.create_user(conn, role="user", name=name, email=email, password_hash=password_hash)
        verification = await offer(conn, request, user)
    moved = await _adopt_guest(request, user)
    return await _token_response(request, user, 201, moved_rooms=moved, email_verification=verification)


async def login(request: Request) -> Response:
    chat = state(request)
    await _limit(request, "sign-in attempts")
    doc = await body_of(request, shapes.Login)
    password = doc.password
    account = doc.email.strip().lower()[:320]
    address = client_ip(request)
    await chat.login_throttle.check(account, address)
    found = await account_for(chat.db, chat.passwords, account, password[:256])
    if found is None:
        await chat.login_throttle.failed(account, address)
        raise Unauthorized("E-mail or password is wrong", code="invalid_credentials")
    await chat.login_throttle.succeeded(account, address)
    moved = await _adopt_guest(request, found)
    response = await _token_response(request, found, moved_rooms=moved)
    if found.is_admin:  # support staff's sign-ins are in the audit log
        await audit(chat.db, found, "auth.sign_in", "user", found.id, {"ip": address})
    return response


async def guest(request: Request) -> Response:
    """An anonymous visitor: the widget keeps this token (e.g. in localStorage)."""
    chat = state(request)
    if not chat.settings.allow_guests:
        raise Forbidden("Guest chats are disabled here; sign in first", code="guests_disabled")
    await _limit(request, "guest sessions")
    name = validate_name((await body_of(request, shapes.Guest)).name, default="Visitor")
    user = await repo.create_user(chat.db, role="guest", name=name)
    return await _token_response(request, user, 201)


async def identity(request: Request) -> Response:
    """Exchange the host site's signed identity (HS256 JWT) for a chat token."""
    chat = state(request)
    if not chat.settings.identity_secret:
        raise Forbidden("Host-site identity is not configured (CHATAPP_IDENTITY_SECRET)", code="identity_disabled")
    await _limit(request, "identity exchanges")
    token = (await body_of(request, shapes.Identity)).identity
    try:
        s = chat.settings
        who = verify_identity_token(token, s.identity_secret, s.identity_max_age, audience=s.identity_audience,
                                    issuer=s.identity_issuer)
    except IdentityError as exc:
        raise Unauthorized(f"Identity rejected: {exc}", code="invalid_identity") from None
    external_id = f"site:{who.subject}"
    user = await repo.get_user_by_external_id(chat.db, external_id)
    if user is None:
        try:
            user = await repo.create_user(chat.db, role="user", name=who.name, external_id=external_id)
        except IntegrityError:  # a concurrent first sign-in created it
            user = await repo.get_user_by_external_id(chat.db, external_id)
    assert user is not None
    email = who.email.lower() if who.email else user.email
    if user.name != who.name or email != user.email:
        try:
            await repo.update_verified_profile(chat.db, user.id, who.name, email)
        except IntegrityError:  # another verified account (an admin, another site user) has it: keep ours
            await repo.update_verified_profile(chat.db, user.id, who.name, user.email)
    if who.attributes is not None:
        await store_attributes(chat.db, user.id, who.attributes)
    user = await repo.get_user(chat.db, user.id)
    assert user is not None
    moved = await _adopt_guest(request, user)
    return await _token_response(request, user, moved_rooms=moved)


async def me(request: Request) -> Response:
    user = caller(request)
    return json_response({"user": user.to_json()})
