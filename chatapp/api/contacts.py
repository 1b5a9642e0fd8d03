"""A contact's own data, ``/api/admin/contacts/*`` and ``/api/chat/me``: export, erase, the audit log."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from chatapp.api.access import caller
from chatapp.api.common import json_response, path_id, state
from chatapp.audit import audit_page
from chatapp.contact_data import ContactData
from chatapp.validation import int_param

__all__ = ["export_contact", "erase_contact", "erase_me", "audit_log"]


def _contacts(request: Request) -> ContactData:
    chat = state(request)
    service = chat.service
    return ContactData(chat.db, chat.uploads, service.events, chat.broadcaster, service.stats_feed)


async def export_contact(request: Request) -> Response:
    """A zip: ``contact.json`` (account, rooms, messages without private notes, push endpoints,
    sessions' metadata) and every attachment; recorded in the audit log."""
    contacts = _contacts(request)
    export = await contacts.export(caller(request), path_id(request, "user_id"))
    return StreamingResponse(
        contacts.archive(export),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="contact-{export.user_id}.zip"',
            "Cache-Control": "no-store",
        },
    )


async def erase_contact(request: Request) -> Response:
    """Remove the contact and everything of theirs (support admin accounts: 409); audited."""
    erased = await _contacts(request).erase(caller(request), path_id(request, "user_id"))
    return json_response({"erased": erased})


async def erase_me(request: Request) -> Response:
    """The visitor's own "delete my data": as an erase by support, and this token is signed out with it."""
    user = caller(request)
    erased = await _contacts(request).erase(user, user.id)
    return json_response({"erased": erased})


async def audit_log(request: Request) -> Response:
    """The audit log, newest first; ``before`` (the previous page's ``meta.next_before``) continues it."""
    q = request.query_params
    before = int_param(q.get("before"), "before", default=None, minimum=1, maximum=2**63 - 1)
    limit = int_param(q.get("limit"), "limit", default=50, minimum=1, maximum=200)
    assert limit is not None
    entries, next_before = await audit_page(state(request).db, before, limit)
    return json_response({"data": [e.to_json() for e in entries], "meta": {"next_before": next_before}})
