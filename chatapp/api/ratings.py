"""``POST /api/chat/rooms/{room_id}/rating``: the visitor's satisfaction rating of their chat."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from chatapp import shapes
from chatapp.api.access import caller
from chatapp.api.common import body_of, json_response, path_id, state
from chatapp.ratings import Ratings

__all__ = ["rate"]


async def rate(request: Request) -> Response:
    """Rate my resolved or closed chat 1-5 with an optional comment; once (409 already_rated)."""
    body = await body_of(request, shapes.RateChat)
    chat = state(request)
    room = await Ratings(chat.db, chat.service.events).rate(caller(request), path_id(request), body.score,
                                                            body.comment)
    return json_response({"room": room.to_json()}, 201)
