"""The visitor's side, ``/api/chat/*``: my room, messages, typing, read, uploads.

Admins are support staff, not visitors: they use ``/api/admin/chat/*``, except
for sending files and downloading them, which both sides share.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from chatapp import shapes
from chatapp.api.access import caller
from chatapp.api.common import (
    body_of,
    json_response,
    page_meta,
    paging,
    path_id,
    socket_of,
    state,
)
from chatapp.errors import BadRequest, LengthRequired, PayloadTooLarge, UnsupportedMediaType
from chatapp.models import Room, User
from chatapp.services import Page, Sent
from chatapp.uploads import content_disposition
from chatapp.validation import idempotency_key, int_param, optional_id

__all__ = [
    "get_room",
    "open_room",
    "list_rooms",
    "show_room",
    "send_message",
    "messages",
    "typing",
    "mark_read",
    "close_room",
    "unread",
    "upload",
    "download",
]


def base_url(request: Request) -> str:
    return state(request).settings.public_url


def room_json(room: Room | None) -> dict[str, object] | None:
    return room.to_json() if room else None


def page_json(request: Request, page: Page) -> dict[str, object]:
    url = base_url(request)
    return {
        "data": [m.to_json(url) for m in page.messages],
        "has_more": page.has_more,
        "first_id": page.messages[0].id if page.messages else None,
        "last_id": page.messages[-1].id if page.messages else None,
    }


async def get_room(request: Request) -> Response:
    """My current room, and how many I have had (the widget offers the earlier ones when there are)."""
    user = caller(request)
    service = state(request).service
    current = await service.current_room(user)
    return json_response({"room": room_json(current), "rooms": await service.count_my_rooms(user)})


async def open_room(request: Request) -> Response:
    """The chat button: my current conversation, or a new one (201)."""
    user = caller(request)
    chat = state(request)
    subject = ((await body_of(request, shapes.OpenRoom)).subject or "").strip()
    room, created = await chat.service.open_room(user, subject)
    return json_response({"room": room.to_json(), "created": created}, 201 if created else 200)


async def list_rooms(request: Request) -> Response:
    """My rooms, newest first: ``before`` (keyset, the previous page's ``meta.next_before``) or ``page``."""
    user = caller(request)
    page, per_page = paging(request)
    q = request.query_params
    before = int_param(q.get("before"), "before", default=None, minimum=1, maximum=2**63 - 1)
    if before is not None and "page" in q:
        raise BadRequest("Use either 'before' (the previous page's meta.next_before) or 'page', not both",
                         field="before")
    rooms, total, more = await state(request).service.my_rooms(user, page, per_page, before)
    meta: dict[str, object] = {"per_page": per_page, "total": total}
    if before is None:
        meta.update(page_meta(page, per_page, total))
    meta["next_before"] = rooms[-1].id if more and rooms else None
    return json_response({"data": [r.to_json() for r in rooms], "meta": meta})


async def show_room(request: Request) -> Response:
    user = caller(request)
    room = await state(request).service.room_for(user, path_id(request))
    return json_response({"room": room.to_json()})


async def send_from_request(request: Request, user: User, room_id: int | None) -> Sent:
    """Read body, attachment and idempotency key (body field or header), then send."""
    sent: shapes.Reply
    if room_id is None:
        visitor_sent = await body_of(request, shapes.SendMessage)
        sent, room_id = visitor_sent, visitor_sent.room_id
    else:
        sent = await body_of(request, shapes.Reply)
    return await state(request).service.send(
        user,
        room_id=room_id,
        body=sent.body or "",
        attachment_id=sent.attachment_id,
        idempotency_key=idempotency_key(sent.idempotency_key or request.headers.get("idempotency-key")),
        socket_id=socket_of(request),
    )


async def send_message(request: Request) -> Response:
    """Store and broadcast a message; the first one creates the room (the brief's test 1)."""
    user = caller(request)
    sent = await send_from_request(request, user, None)
    doc = {"message": sent.message.to_json(base_url(request)), "room": sent.room.to_json(), "created": sent.created}
    return json_response(doc, 201 if sent.created else 200)


async def history(request: Request, user: User, room_id: int) -> Page:
    q = request.query_params
    before = int_param(q.get("before"), "before", default=None, minimum=1, maximum=2**63 - 1)
    after = int_param(q.get("after"), "after", default=None, minimum=0, maximum=2**63 - 1)
    if before is not None and after is not None:
        raise BadRequest("Use either 'before' (older pages) or 'after' (catch-up), not both", field="after")
    limit = int_param(q.get("limit"), "limit", default=50, minimum=1, maximum=100)
    assert limit is not None
    return await state(request).service.history(user, room_id, before=before, after=after, limit=limit)


async def messages(request: Request) -> Response:
    user = caller(request)
    return json_response(page_json(request, await history(request, user, path_id(request))))


async def typing(request: Request) -> Response:
    user = caller(request)
    is_typing = (await body_of(request, shapes.Typing)).is_typing
    await state(request).service.typing(user, path_id(request), is_typing, socket_of(request))
    return json_response({"ok": True, "is_typing": is_typing})


async def mark_read(request: Request) -> Response:
    user = caller(request)
    receipt = await state(request).service.mark_read(user, path_id(request), socket_of(request))
    return json_response(receipt)


async def close_room(request: Request) -> Response:
    user = caller(request)
    room = await state(request).service.close_by_user(user, path_id(request))
    return json_response({"room": room.to_json()})


async def unread(request: Request) -> Response:
    user = caller(request)
    return json_response({"unread_count": await state(request).service.unread(user)})


async def upload(request: Request) -> Response:
    """``multipart/form-data`` with ``file`` (and ``room_id``); answers the file's URL."""
    user = caller(request)
    chat = state(request)
    limit = chat.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        raise LengthRequired("Send the upload with a Content-Length header")
    if int(declared) > limit + 64 * 1024:  # the file plus generous multipart framing
        raise PayloadTooLarge(f"The upload is larger than the {limit}-byte limit", limit=limit)
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise UnsupportedMediaType("Send the file as multipart/form-data with a 'file' field")
    # Malformed multipart bodies surface as a 400 with Starlette's explanation.
    async with request.form(max_files=1, max_fields=10) as form:
        file = form.get("file")
        if file is None or isinstance(file, str):
            raise BadRequest("Attach the file in a form field named 'file'", field="file")
        raw_room = form.get("room_id")
        room_id = optional_id({"room_id": raw_room if isinstance(raw_room, str) and raw_room else None}, "room_id")
        # The parser has spooled the file (to disk past 1 MB); it is checked and streamed from there.
        attachment = await chat.service.upload(user, room_id, file.filename, file.file)
    doc = attachment.to_json(chat.settings.public_url or str(request.base_url).rstrip("/"))
    return json_response({"attachment": doc, "url": doc["url"]}, 201)


async def download(request: Request) -> Response:
    user = caller(request)
    chat = state(request)
    attachment, body = await chat.service.download(user, request.path_params["name"])
    disposition = "inline" if chat.uploads.inline(attachment.content_type) else "attachment"
    return StreamingResponse(
        body.chunks,
        media_type=attachment.content_type,
        headers={
            "Content-Length": str(body.size),
            "Content-Disposition": content_disposition(disposition, attachment.original_name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )
