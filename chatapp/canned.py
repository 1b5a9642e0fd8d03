"""Canned replies: saved answers an agent inserts by typing ``/code`` in the composer. No HTTP here.

A reply is team-wide (every support agent may use it; the team's owner and admins manage
them, an agent is refused with 403 ``manager_only``) or personal (only its owner sees, uses and edits it; anyone
else is told it does not exist, so ids do not leak). A code is unique within its scope.

Bodies may hold the variables of :data:`VARIABLES`; the panel fills them in when it
inserts the reply, so a typo in a variable is refused here rather than sent to a visitor.
"""

from __future__ import annotations

import re
from typing import Any

from chatapp import repository as repo
from chatapp.audit import audit
from chatapp.db import Database, IntegrityError
from chatapp.errors import BadRequest, Conflict, NotFound
from chatapp.models import CannedReply, User
from chatapp.policy import ensure_admin, ensure_manager
from chatapp.validation import choice, text_field

__all__ = ["CannedReplies", "VARIABLES", "SCOPES", "MAX_BODY", "MAX_CODE"]

MAX_BODY = 2000
MAX_CODE = 32
MAX_QUERY = 200
SCOPES = ("team", "personal")
VARIABLES = ("visitor.name", "agent.name")
_CODE = re.compile(r"^[\w.-]+\Z")  # letters and digits of any script, _ . -
_VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def _code(doc: dict[str, Any]) -> str:
    code = text_field(doc, "code", max_length=100).strip().removeprefix("/").lower()
    if not code or len(code) > MAX_CODE or not _CODE.match(code):
        raise BadRequest(
            f"'code' must be 1 to {MAX_CODE} letters, digits, '-', '_' or '.' (e.g. refund)", field="code"
        )
    return code


def _body(doc: dict[str, Any]) -> str:
    body = text_field(doc, "body", max_length=MAX_BODY)
    if not body.strip():
        raise BadRequest("'body' must not be empty", field="body")
    unknown = sorted({name for name in _VARIABLE.findall(body) if name not in VARIABLES})
    if unknown:
        known = ", ".join("{{" + v + "}}" for v in VARIABLES)
        raise BadRequest(
            f"Unknown variable {{{{{unknown[0]}}}}}; the variables are {known}", field="body", variables=list(VARIABLES)
        )
    return body


def _owner(doc: dict[str, Any], user: User) -> int | None:
    if choice(doc.get("scope"), "scope", SCOPES) == "team":
        ensure_manager(user)
        return None
    return user.id


class CannedReplies:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def visible(self, user: User, query: str = "") -> list[CannedReply]:
        """The team's replies and ``user``'s own; ``query`` keeps those whose code or body contains it."""
        ensure_admin(user)
        needle = text_field({"q": query}, "q", max_length=MAX_QUERY).strip().removeprefix("/").casefold()
        replies = await repo.canned_replies_for(self.db, user.id)
        if not needle:
            return replies
        return [r for r in replies if needle in r.code or needle in r.body.casefold()]

    async def create(self, user: User, doc: dict[str, Any]) -> CannedReply:
        """``doc``: code, body and scope (``team``, the default, or ``personal``)."""
        ensure_admin(user)
        owner = _owner({"scope": "team", **doc}, user)
        code, body = _code(doc), _body(doc)
        try:
            return await repo.insert_canned_reply(self.db, owner_id=owner, code=code, body=body, created_by=user.id)
        except IntegrityError:
            raise _taken(code, owner) from None

    async def update(self, user: User, reply_id: int, doc: dict[str, Any]) -> CannedReply:
        """Change any of code, body and scope; what ``doc`` leaves out stays as it was."""
        reply = await self._mine(user, reply_id)
        current = {"code": reply.code, "body": reply.body, "scope": reply.scope}
        merged = {**current, **{k: v for k, v in doc.items() if k in current}}
        owner = reply.owner_id if merged["scope"] == reply.scope else _owner(merged, user)
        if reply.owner_id is None:  # changing a team reply (also making it personal) is the managers'
            ensure_manager(user)
        code, body = _code(merged), _body(merged)
        try:
            updated = await repo.update_canned_reply(self.db, reply.id, owner_id=owner, code=code, body=body)
        except IntegrityError:
            raise _taken(code, owner) from None
        if updated is None:
            raise _not_found(reply_id)
        return updated

    async def delete(self, user: User, reply_id: int) -> int:
        reply = await self._mine(user, reply_id)
        if reply.owner_id is not None:  # an agent's own: theirs to drop, not the team's record
            return await repo.delete_canned_reply(self.db, reply.id)
        ensure_manager(user)
        async with self.db.transaction() as conn:
            deleted = await repo.delete_canned_reply(conn, reply.id)
            if deleted:
                await audit(conn, user, "canned.delete", "canned_reply", reply.id, {})
        return deleted

    async def _mine(self, user: User, reply_id: int) -> CannedReply:
        """A reply ``user`` may see to change: a team one (managers only, checked by the caller) or their own;
        404 for another's."""
        ensure_admin(user)
        reply = await repo.get_canned_reply(self.db, reply_id)
        if reply is None or reply.owner_id not in (None, user.id):
            raise _not_found(reply_id)
        return reply


def _not_found(reply_id: int) -> NotFound:
    return NotFound(f"Canned reply {reply_id} not found", code="canned_reply_not_found")


def _taken(code: str, owner: int | None) -> Conflict:
    where = "the team's replies" if owner is None else "your personal replies"
    return Conflict(f"The code '{code}' is already used in {where}", code="canned_reply_exists", field="code")
