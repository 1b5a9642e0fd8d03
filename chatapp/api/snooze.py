"""``/api/admin/chat/rooms/{room_id}/snooze`` and ``/unsnooze``: put a chat aside, bring it back."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from chatapp import shapes
from chatapp.api.access import caller
from chatapp.api.common import body_of, json_response, path_id, state

__all__ = ["snooze", "unsnooze"]


async def snooze(request: Request) -> Response:
    """Snooze until ``until`` (an absolute UTC time: the panel computes its presets in the agent's
    time zone), or until the visitor's next message with ``until`` null."""
    wanted = await body_of(request, shapes.Snooze)
    room = await state(request).service.snoozer.snooze(caller(request), path_id(request), wanted.until)
    return json_response({"room": room.to_json(for_admin=True)})


async def unsnooze(request: Request) -> Response:
    """Wake the snoozed chat now; it stays with its assignee."""
    room = await state(request).service.snoozer.unsnooze(caller(request), path_id(request))
    return json_response({"room": room.to_json(for_admin=True)})
