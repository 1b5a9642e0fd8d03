"""The caller's own sessions: a token for a new one, sign out here or everywhere, a new password.

``POST /api/auth/password`` answers a wrong current password with 400, not 401: a
401 means "this token is no longer good", and the admin panel leaves for the login
page on it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from chatapp import repository as repo
from chatapp import shapes
from chatapp.api.common import body_of, client_ip, current_session, json_response, state
from chatapp.auth import validate_password
from chatapp.errors import BadRequest, ChatError, Conflict
from chatapp.models import User

__all__ = ["token_document", "logout", "logout_all", "change_password", "prove_password"]


async def token_document(request: Request, user: User) -> dict[str, Any]:
    """A new session for ``user`` on the calling device, as the token endpoints answer it."""
    issued = await state(request).sessions.open(
        user, user_agent=request.headers.get("user-agent", ""), ip=client_ip(request)
    )
    return {"token": issued.token, "token_type": "Bearer", "expires_in": issued.expires_in, "user": user.to_json()}


async def logout(request: Request) -> Response:
    """Sign out this device: its token answers 401 ``token_revoked`` from now on."""
    session = await current_session(request)
    await state(request).sessions.close(session)
    return json_response({"revoked": 1})


async def logout_all(request: Request) -> Response:
    """Sign out everywhere: every token of the caller, and their live WebSocket connections."""
    session = await current_session(request)
    revoked = await state(request).sessions.revoke_all(session.user.id)
    return json_response({"revoked": revoked})


async def change_password(request: Request) -> Response:
    """Set a new password (the current one proves it is the owner); every other device is signed out."""
    session = await current_session(request)
    chat = state(request)
    user = session.user
    doc = await body_of(request, shapes.ChangePassword)
    current = doc.current_password
    try:
        new = validate_password(doc.new_password)
    except BadRequest as exc:
        raise BadRequest(exc.message.replace("'password'", "'new_password'"), field="new_password") from None
    await prove_password(request, user, current)
    await chat.sessions.revoke_all(user.id, password_hash=await chat.passwords.hash(new))
    return json_response(await token_document(request, user))


async def prove_password(request: Request, user: User, current: str) -> None:
    """Check the caller's current password (before a change of password or address); wrong ones are limited."""
    chat = state(request)
    stored = await repo.get_password_hash(chat.db, user.id)
    if stored is None:
        raise Conflict("This account signs in without a password here", code="no_password")
    failures = ("password-change-failures", user.id)
    await chat.limiter.check(failures, chat.settings.rate_login_failures, "wrong current passwords")
    if not await chat.passwords.verify(stored, current[:256]):
        await chat.limiter.hit(failures, chat.settings.rate_login_failures, "wrong current passwords")
        raise ChatError("The current password is wrong", code="wrong_password", field="current_password")
    await chat.limiter.forget(failures, chat.settings.rate_login_failures)
