"""Business hours: the widget's public status line, the schedule the owner and admins set, and the
offline form a visitor fills in while nobody can answer."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from chatapp import shapes
from chatapp.api.access import caller
from chatapp.api.chat import base_url
from chatapp.api.common import body_of, json_response, state
from chatapp.api.i18n import negotiated
from chatapp.offline_form import leave_message as leave
from chatapp.site_hours import STATUS_MAX_AGE

__all__ = ["status", "show", "update", "clear", "leave_message"]


async def status(request: Request) -> Response:
    """Online or away, in the visitor's language; the same for everyone, so caches may keep it briefly."""
    chat = state(request)
    locale = negotiated(request, chat.service.catalogues)
    doc = (await chat.hours.availability()).to_json(chat.service.catalogues, locale)
    return json_response(doc, headers={"Cache-Control": f"public, max-age={int(STATUS_MAX_AGE)}"})


async def show(request: Request) -> Response:
    """The schedule (null when none is set) and what the widget says now (in my language)."""
    schedule = await state(request).hours.schedule()
    return await _with_status(request, schedule.to_json() if schedule else None)


async def update(request: Request) -> Response:
    """Replace the schedule: time zone, intervals per weekday, holidays."""
    wanted = await body_of(request, shapes.SetBusinessHours)
    chat = state(request)
    schedule = await chat.hours.set(caller(request), wanted.time_zone, wanted.week, wanted.holidays)
    return await _with_status(request, schedule.to_json())


async def clear(request: Request) -> Response:
    """Remove the schedule: within hours at all times, online whenever an agent is there."""
    await state(request).hours.clear(caller(request))
    return await _with_status(request, None)


async def _with_status(request: Request, hours: object) -> Response:
    chat = state(request)
    locale = chat.service.catalogues.negotiate([caller(request).locale or ""])
    now = (await chat.hours.availability()).to_json(chat.service.catalogues, locale)
    return json_response({"hours": hours, "status": now})


async def leave_message(request: Request) -> Response:
    """The offline form: a new chat in the inbox (or a message in my open one), marked left offline."""
    form = await body_of(request, shapes.OfflineMessage)
    sent = await leave(state(request).service, caller(request), form.name, form.email, form.message)
    doc = {"message": sent.message.to_json(base_url(request)), "room": sent.room.to_json(), "created": sent.created}
    return json_response(doc, 201)
