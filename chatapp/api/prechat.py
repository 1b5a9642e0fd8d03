"""The pre-chat form: the owner and admins set it, the widget shows it and sends the answers."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from chatapp import repository as repo
from chatapp import shapes
from chatapp.api.access import caller
from chatapp.api.common import body_of, json_response, state
from chatapp.api.i18n import negotiated
from chatapp.prechat_store import SitePrechat

__all__ = ["show", "update", "visitor_form", "answer", "store"]


def store(request: Request) -> SitePrechat:
    chat = state(request)
    return SitePrechat(chat.db, chat.service.catalogues)


async def show(request: Request) -> Response:
    """The form as set (off with no fields until someone sets it)."""
    return json_response({"prechat": (await store(request).form()).to_json()})


async def update(request: Request) -> Response:
    """Replace the form: on or off, and its fields in order."""
    wanted = await body_of(request, shapes.SetPrechat)
    form = await store(request).set(caller(request), wanted.enabled, msgspec.to_builtins(wanted.fields))
    return json_response({"prechat": form.to_json()})


async def visitor_form(request: Request) -> Response:
    """The fields still to ask me, in my language (what my account knows is not asked)."""
    prechat = store(request)
    return json_response(await prechat.for_visitor(caller(request), negotiated(request, prechat.catalogues)))


async def answer(request: Request) -> Response:
    """My answers: kept on my contact; 422 names every field at fault ('fields', 'problems')."""
    wanted = await body_of(request, shapes.PrechatAnswers)
    prechat = store(request)
    user = caller(request)
    await prechat.submit(user, wanted.answers)
    fresh = await repo.get_user(prechat.db, user.id) or user  # the name and e-mail just kept
    return json_response(await prechat.for_visitor(fresh, negotiated(request, prechat.catalogues)))
