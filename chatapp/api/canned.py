"""Canned replies, ``/api/admin/canned-replies``: the team's and my own saved answers."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from chatapp import shapes
from chatapp.api.access import caller
from chatapp.api.common import body_of, json_response, path_id, state
from chatapp.canned import CannedReplies

__all__ = ["list_replies", "create_reply", "update_reply", "delete_reply"]


def _replies(request: Request) -> CannedReplies:
    return CannedReplies(state(request).db)


async def list_replies(request: Request) -> Response:
    """The team's replies and mine, by code; ``q`` keeps those whose code or body contains it."""
    found = await _replies(request).visible(caller(request), request.query_params.get("q", ""))
    return json_response({"data": [r.to_json() for r in found]})


async def create_reply(request: Request) -> Response:
    fields = msgspec.to_builtins(await body_of(request, shapes.CannedReplyCreate))
    reply = await _replies(request).create(caller(request), fields)
    return json_response({"reply": reply.to_json()}, 201)


async def update_reply(request: Request) -> Response:
    user = caller(request)
    fields = msgspec.to_builtins(await body_of(request, shapes.CannedReplyUpdate))  # only the fields sent
    reply = await _replies(request).update(user, path_id(request, "reply_id"), fields)
    return json_response({"reply": reply.to_json()})


async def delete_reply(request: Request) -> Response:
    removed = await _replies(request).delete(caller(request), path_id(request, "reply_id"))
    return json_response({"removed": removed})
