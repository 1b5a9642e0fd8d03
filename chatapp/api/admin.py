"""Support's side, ``/api/admin/chat/*``: the room list, one room, replies, state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from chatapp import repository as repo
from chatapp import shapes
from chatapp.api.access import caller
from chatapp.api.chat import history, page_json, send_from_request
from chatapp.api.common import (
    body_of,
    json_response,
    page_meta,
    paging,
    path_id,
    socket_of,
    state,
)
from chatapp.inbox_queries import with_labels
from chatapp.page_context import context_of
from chatapp.prechat_store import SitePrechat
from chatapp.validation import MAX_ID, idempotency_key, int_param

__all__ = [
    "rooms",
    "room",
    "messages",
    "reply",
    "note",
    "assign",
    "unassign",
    "priority",
    "resolve",
    "close",
    "reopen",
    "mark_read",
    "typing",
    "stats",
    "admins",
    "lockouts",
]


async def rooms(request: Request) -> Response:
    """Filter: all, open, assigned, unassigned, urgent, unread, mine, resolved, closed; ``q`` searches;
    ``before`` (the previous page's ``meta.next_cursor``) continues the list where it ended; ``label``
    keeps one label's chats."""
    user = caller(request)
    page, per_page = paging(request)
    q = request.query_params
    search = q.get("q", "")[:200]
    label = int_param(q.get("label"), "label", default=None, minimum=1, maximum=MAX_ID)
    found = await state(request).service.admin_rooms(
        user, filter_name=q.get("filter", "all"), search=search, page=page, per_page=per_page,
        before=q.get("before") or None, label_id=label,
    )
    meta = {**page_meta(page, per_page, found.total), "next_cursor": found.next_cursor}
    return json_response({"data": [r.to_json(for_admin=True) for r in found.rooms], "meta": meta})


async def room(request: Request) -> Response:
    """One room with its newest messages and who is typing (the ``/admin/chat/{id}`` page)."""
    user = caller(request)
    service = state(request).service
    found = (await with_labels(service.db, [await service.room_for(user, path_id(request))]))[0]
    page = await service.history(user, found.id, before=None, after=None, limit=50)
    return json_response(
        {
            "room": found.to_json(for_admin=True),
            "messages": page_json(request, page),
            "typing": await service.typing_now(found),
            "earlier": await repo.earlier_rooms(service.db, found.user_id, found.id),
            "prechat": await SitePrechat(service.db, service.catalogues).answers(
                found.user_id, service.catalogues.negotiate([user.locale or ""])),
            "context": await context_of(service.db, found),
        }
    )


async def messages(request: Request) -> Response:
    user = caller(request)
    return json_response(page_json(request, await history(request, user, path_id(request))))


async def reply(request: Request) -> Response:
    user = caller(request)
    sent = await send_from_request(request, user, path_id(request))
    url = state(request).settings.public_url
    doc = {"message": sent.message.to_json(url), "room": sent.room.to_json(for_admin=True), "created": sent.created}
    return json_response(doc, 201 if sent.created else 200)


async def note(request: Request) -> Response:
    """A private note in the conversation, for support only; ``mentions`` names admins to notify."""
    user = caller(request)
    chat = state(request)
    written = await body_of(request, shapes.Note)
    sent = await chat.service.write_note(
        user,
        path_id(request),
        body=written.body or "",
        mentions=written.mentions,
        idempotency_key=idempotency_key(written.idempotency_key or request.headers.get("idempotency-key")),
    )
    doc = {"message": sent.message.to_json(chat.settings.public_url), "created": sent.created}
    return json_response(doc, 201 if sent.created else 200)


async def assign(request: Request) -> Response:
    """Assign to ``admin_id`` (default: myself) if the assignee is still ``expected_admin_id``
    (absent or null: nobody); otherwise 409 ``already_assigned`` with ``assigned_to``."""
    user = caller(request)
    wanted = await body_of(request, shapes.Assign)
    found = await state(request).service.assign(user, path_id(request), wanted.admin_id, wanted.expected_admin_id)
    return json_response({"room": found.to_json(for_admin=True)})


def _room_action(name: str, doc: str) -> Callable[[Request], Awaitable[Response]]:
    """A handler that applies one state change (``service.<name>``) and returns the room."""

    async def handler(request: Request) -> Response:
        user = caller(request)
        found = await getattr(state(request).service, name)(user, path_id(request))
        return json_response({"room": found.to_json(for_admin=True)})

    handler.__name__ = handler.__qualname__ = name
    handler.__doc__ = doc
    return handler


unassign = _room_action("unassign", "Remove the assignee; the chat is open again.")
resolve = _room_action("resolve", "Mark solved; the visitor writing again reopens it.")
close = _room_action("close", "Close for good; the visitor's next message starts a new chat.")
reopen = _room_action("reopen", "Reopen a resolved or closed chat.")


async def priority(request: Request) -> Response:
    user = caller(request)
    wanted = await body_of(request, shapes.Priority)
    found = await state(request).service.set_priority(user, path_id(request), wanted.priority)
    return json_response({"room": found.to_json(for_admin=True)})


async def mark_read(request: Request) -> Response:
    user = caller(request)
    return json_response(await state(request).service.mark_read(user, path_id(request), socket_of(request)))


async def typing(request: Request) -> Response:
    user = caller(request)
    is_typing = (await body_of(request, shapes.Typing)).is_typing
    await state(request).service.typing(user, path_id(request), is_typing, socket_of(request))
    return json_response({"ok": True, "is_typing": is_typing})


async def stats(request: Request) -> Response:
    """Open, assigned, unassigned, urgent chats and unread messages (the brief's panel)."""
    user = caller(request)
    return json_response({"stats": await state(request).service.stats(user)})


async def admins(request: Request) -> Response:
    """Support staff, with who is online (on ``presence-admins``), for assigning."""
    user = caller(request)
    chat = state(request)
    online = await chat.broadcaster.presence_user_ids("presence-admins")
    return json_response(
        {
            "data": [
                {**a.public(), "online": None if online is None else str(a.id) in online}
                for a in await chat.service.admins(user)
            ]
        }
    )


async def lockouts(request: Request) -> Response:
    """Sign-in lockouts and back-offs of the last window (this process's view), newest first."""
    return json_response({"data": [lk.to_json() for lk in state(request).login_throttle.recent()]})
