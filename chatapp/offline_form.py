"""The offline form: name, e-mail and message from a visitor who found nobody there.

It becomes a normal chat (the same store, broadcast and routing as any first message, so it
waits in the inbox and queue), marked ``left_offline_at`` for the panel's badge. The address
is kept on the visitor's account, unverified, unless they have a verified one already: mail
replies (:mod:`chatapp.mail`) go to the account's address, so the answer reaches a visitor
who has long closed the tab.
"""

from __future__ import annotations

from chatapp.auth import EMAIL_RE
from chatapp.db import utcnow
from chatapp.errors import BadRequest
from chatapp.models import User
from chatapp.services import ChatService, Sent
from chatapp.validation import has_forbidden_chars

__all__ = ["leave_message", "MAX_NAME"]

MAX_NAME = 100


def _problems(name: str, email: str, message: str, max_message: int) -> dict[str, str]:
    """Every field at fault, with what is wrong (all at once, so a form can mark each)."""
    problems = {}
    if not name.strip() or len(name.strip()) > MAX_NAME or has_forbidden_chars(name):
        problems["name"] = f"1 to {MAX_NAME} characters"
    if not EMAIL_RE.match(email.strip()) or has_forbidden_chars(email):
        problems["email"] = "an e-mail address"
    if not message.strip() or len(message) > max_message or has_forbidden_chars(message):
        problems["message"] = f"1 to {max_message} characters"
    return problems


async def leave_message(service: ChatService, user: User, name: str, email: str, message: str) -> Sent:
    """Store the form as the visitor's message (rate-limited as messages are); 422 naming every bad field."""
    problems = _problems(name, email, message, service.settings.max_message_length)
    if problems:
        listed = "; ".join(f"'{field}' must be {rule}" for field, rule in problems.items())
        raise BadRequest(listed, field=next(iter(problems)), fields=list(problems))
    sent = await service.send(user, room_id=None, body=message, prechat_exempt=True)
    async with service.db.transaction() as conn:
        await conn.execute(
            "UPDATE users SET name = ?, email = CASE WHEN email_verified_at IS NULL THEN ? ELSE email END "
            "WHERE id = ?",
            name.strip(), email.strip().lower(), user.id,
        )
        await conn.execute(
            "UPDATE support_chat_rooms SET left_offline_at = COALESCE(left_offline_at, ?) WHERE id = ?",
            utcnow(), sent.room.id,
        )
        room = await service.room_for(user, sent.room.id, conn)
        await service.events.room_updated(conn, room)  # the panel shows the badge and the name
    return Sent(sent.message, room, sent.created)
