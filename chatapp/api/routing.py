"""Availability, capacity, the automatic-assignment switch and the queue (chatapp.routing)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from chatapp import shapes
from chatapp.api.access import caller
from chatapp.api.common import body_of, json_response, path_id, state

__all__ = ["team", "set_availability", "set_capacity", "settings", "set_settings", "queue"]


async def team(request: Request) -> Response:
    """Every agent with availability (chosen), status (what counts: away without a panel open),
    load (active chats) and capacity."""
    router = state(request).service.router
    return json_response({"data": [a.to_json() for a in await router.team(caller(request))]})


async def set_availability(request: Request) -> Response:
    """My availability: online, away or busy. Online with a panel open takes waiting chats."""
    wanted = await body_of(request, shapes.SetAvailability)
    agent = await state(request).service.router.set_availability(caller(request), wanted.availability)
    return json_response({"agent": agent.to_json()})


async def set_capacity(request: Request) -> Response:
    """An agent's capacity: the active chats automatic assignment gives them at most."""
    wanted = await body_of(request, shapes.SetCapacity)
    router = state(request).service.router
    agent = await router.set_capacity(caller(request), path_id(request, "user_id"), wanted.capacity)
    return json_response({"agent": agent.to_json()})


async def settings(request: Request) -> Response:
    """Whether automatic assignment is on."""
    user = caller(request)
    router = state(request).service.router
    router_doc = {"auto_assign": await router.auto_assign()}
    me = next((a for a in await router.team(user) if a.id == user.id), None)
    return json_response({"routing": router_doc, "me": me.to_json() if me else None})


async def set_settings(request: Request) -> Response:
    """Switch automatic assignment on or off for the team."""
    wanted = await body_of(request, shapes.SetRouting)
    value = await state(request).service.router.set_auto_assign(caller(request), wanted.auto_assign)
    return json_response({"routing": {"auto_assign": value}})


async def queue(request: Request) -> Response:
    """The chats waiting for an agent, oldest first (the order they will be assigned in)."""
    user = caller(request)
    router = state(request).service.router
    await router.team(user)  # admins only
    rooms, total = await router.queue()
    return json_response({"data": [r.to_json(for_admin=True) for r in rooms], "meta": {"total": total}})
