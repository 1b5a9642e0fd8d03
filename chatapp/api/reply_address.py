"""``POST /api/chat/me/email``: where support's replies go when the visitor has left.

The widget's fallback for browsers that cannot take Web Push (or pages that serve no service
worker): the visitor gives an address after writing. It follows the offline form's rule
(:mod:`chatapp.offline_form`): kept on the account, unverified, and never over a verified
one; and since replies are mailed only to verified addresses, the verification link is mailed
in the same transaction (:func:`chatapp.api.verify.offer`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from chatapp import repository as repo
from chatapp import shapes
from chatapp.api.access import caller
from chatapp.api.common import body_of, json_response, state
from chatapp.api.verify import SEND_RATE, offer
from chatapp.auth import validate_email
from chatapp.errors import Conflict

__all__ = ["set_reply_address"]


async def set_reply_address(request: Request) -> Response:
    """Keep ``email`` on my account (unless a verified address is there) and mail its verification link."""
    chat = state(request)
    user = caller(request)
    email = validate_email((await body_of(request, shapes.ReplyAddress)).email)
    if chat.mail is None or not chat.mail.enabled:
        raise Conflict("E-mail is not set up on this server, so replies cannot be mailed", code="mail_off")
    if user.email_verified:
        return json_response({"user": user.to_json(), "email_verification": "verified"})
    await chat.limiter.hit(("verification-mail", user.id), SEND_RATE, "verification e-mails")
    async with chat.db.transaction() as conn:
        await conn.execute("UPDATE users SET email = ? WHERE id = ? AND email_verified_at IS NULL", email, user.id)
        changed = await repo.get_user(conn, user.id)
        assert changed is not None
        sent = await offer(conn, request, changed)
    return json_response({"user": changed.to_json(), "email_verification": sent})
