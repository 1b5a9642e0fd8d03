"""E-mail endpoints: a visitor's transcript by mail, and replies by mail coming back (chatapp.mail)."""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import Response

from chatapp import repository as repo
from chatapp.api.access import caller
from chatapp.api.common import json_response, path_id, read_limited, state
from chatapp.config import RateLimit
from chatapp.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from chatapp.mail import Mailer
from chatapp.mail.inbound import parse_inbound, reply_tokens
from chatapp.mail.service import VISITOR_KINDS
from chatapp.state import ChatState

__all__ = ["transcript", "inbound"]

MAX_INBOUND_BYTES = 10 * 1024 * 1024
TRANSCRIPT_RATE = RateLimit(3, 600)  # transcripts one visitor may ask for
FORM_FIELDS = ("email", "body-mime", "message", "mime")  # SendGrid, Mailgun, and plain names


def _mailer(chat: ChatState) -> Mailer:
    mail = chat.mail
    if mail is None or not mail.enabled:
        raise Conflict("E-mail is not set up on this server", code="mail_off")
    return mail


async def transcript(request: Request) -> Response:
    """Mail the visitor this conversation (in their language: account, else the browser's)."""
    chat = state(request)
    user = caller(request)
    room = await chat.service.room_for(user, path_id(request))
    mail = _mailer(chat)
    if not user.email:
        raise Conflict("Your account has no e-mail address to send the transcript to", code="no_email")
    await chat.limiter.hit(("transcript", user.id), TRANSCRIPT_RATE, "transcripts")
    prefer = [t.split(";")[0] for t in request.headers.get("accept-language", "").split(",")]
    locale = user.locale or chat.service.catalogues.negotiate(prefer)
    visitor = {"id": user.id, "name": user.name, "email": user.email, "locale": locale}
    async with chat.db.transaction() as conn:
        mail_id = await mail.queue_transcript(conn, room.id, visitor)
    return json_response({"queued": True, "mail_id": mail_id, "to": user.email}, 202)


async def _raw_message(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        async with request.form(max_files=4, max_fields=100, max_part_size=MAX_INBOUND_BYTES) as form:
            for name in FORM_FIELDS:
                value = form.get(name)
                if isinstance(value, str):
                    return value.encode("utf-8")
                if value is not None:
                    return await value.read()
        raise BadRequest(f"No raw message in the form (one of the fields {', '.join(FORM_FIELDS)})",
                         code="no_message")
    return await read_limited(request, MAX_INBOUND_BYTES)


async def inbound(request: Request) -> Response:
    """A reply by e-mail (raw RFC 822, as a mail service's inbound hook posts it) into its conversation."""
    chat = state(request)
    secret = chat.settings.inbound_mail_secret
    if chat.mail is None or not secret:
        raise NotFound("Inbound mail is not set up on this server", code="inbound_mail_off")
    given = request.headers.get("x-inbound-secret") or request.query_params.get("secret") or ""
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise Unauthorized("Wrong or missing inbound mail secret (X-Inbound-Secret header or ?secret=)",
                           code="invalid_secret")
    raw = await _raw_message(request)
    if not raw.strip():
        raise BadRequest("The request carries no message", code="no_message")
    mail = parse_inbound(raw)
    if mail.auto_reply:
        return json_response({"ignored": "auto_reply"}, 202)
    room_id = await _room_of(chat, mail.recipients, mail.references, mail.sender)
    room = await repo.get_room(chat.db, room_id)
    visitor = await repo.get_user(chat.db, room.user_id) if room else None
    if room is None or visitor is None:
        raise NotFound("The conversation this reply belongs to no longer exists", code="conversation_not_found")
    if await chat.db.fetch_val("SELECT deactivated_at FROM users WHERE id = ?", visitor.id) is not None:
        raise Forbidden("The visitor's account is deactivated", code="account_deactivated")
    if not mail.text.strip():
        raise BadRequest("The reply has no text once the quoted history is removed", code="empty_reply")
    body = mail.text[: chat.settings.max_message_length]
    key = "mail:" + hashlib.sha256((mail.message_id or mail.text).encode()).hexdigest()[:40]
    sent = await chat.service.send(visitor, room_id=room.id, body=body, idempotency_key=key)
    return json_response(
        {"room_id": sent.room.id, "message_id": sent.message.id, "created": sent.created},
        201 if sent.created else 200,
    )


async def _room_of(chat: ChatState, recipients: list[str], references: list[str], sender: str) -> int:
    mail = chat.mail
    assert mail is not None
    tokens = reply_tokens(recipients)
    for token in tokens:
        room_id = mail.room_of_token(token)
        if room_id is not None:
            return room_id
    if tokens:
        raise NotFound("The reply address names no conversation of ours", code="conversation_not_found")
    for ref in references[:20]:
        row = await chat.db.fetch_one(
            "SELECT o.room_id, u.email FROM mail_outbox o JOIN users u ON u.id = o.recipient_id "
            f"WHERE o.message_id = ? AND o.kind IN ('{VISITOR_KINDS[0]}', '{VISITOR_KINDS[1]}')", ref,
        )
        if row is not None and row["room_id"] is not None and (row["email"] or "").lower() == sender:
            return int(row["room_id"])
    raise BadRequest(
        "The message is not a reply to a conversation: no reply+<token> address and no known In-Reply-To",
        code="not_a_reply",
    )
