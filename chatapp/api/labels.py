"""Labels, ``/api/admin/labels``, a chat's labels, and bulk actions on chats selected in the inbox."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from chatapp import shapes
from chatapp.api.access import caller
from chatapp.api.common import body_of, json_response, path_id, state
from chatapp.bulk import BulkActions
from chatapp.labels import Labels

__all__ = ["list_labels", "create_label", "update_label", "delete_label", "add_room_label", "remove_room_label", "bulk"]


def _labels(request: Request) -> Labels:
    return Labels(state(request).db, state(request).service.events)


async def list_labels(request: Request) -> Response:
    return json_response({"data": [x.to_json() for x in await _labels(request).all(caller(request))]})


async def create_label(request: Request) -> Response:
    fields = msgspec.to_builtins(await body_of(request, shapes.LabelCreate))
    return json_response({"label": (await _labels(request).create(caller(request), fields)).to_json()}, 201)


async def update_label(request: Request) -> Response:
    user = caller(request)
    fields = msgspec.to_builtins(await body_of(request, shapes.LabelUpdate))  # only the fields sent
    label = await _labels(request).update(user, path_id(request, "label_id"), fields)
    return json_response({"label": label.to_json()})


async def delete_label(request: Request) -> Response:
    return json_response({"removed": await _labels(request).delete(caller(request), path_id(request, "label_id"))})


async def add_room_label(request: Request) -> Response:
    user = caller(request)
    body = await body_of(request, shapes.RoomLabelAdd)
    room = await state(request).service.room_for(user, path_id(request))
    labels = await _labels(request).set_on_room(user, room, body.label_id, on=True)
    return json_response({"room_id": room.id, "labels": labels})


async def remove_room_label(request: Request) -> Response:
    user = caller(request)
    room = await state(request).service.room_for(user, path_id(request))
    labels = await _labels(request).set_on_room(user, room, path_id(request, "label_id"), on=False)
    return json_response({"room_id": room.id, "labels": labels})


async def bulk(request: Request) -> Response:
    """Assign, label or resolve each selected chat; one result per chat."""
    user = caller(request)
    body = await body_of(request, shapes.BulkAction)
    actions = BulkActions(state(request).service, _labels(request))
    results = await actions.run(user, list(body.room_ids), body.action, admin_id=body.admin_id, label_id=body.label_id)
    return json_response({"results": results})
