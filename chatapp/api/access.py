"""Who may call a route: declared once in the route table, enforced before the handler runs.

Every :class:`chatapp.routes.Endpoint` names one :data:`Auth` rule; :func:`guard` wraps its
handler so the rule is checked first (401 without a valid token, 403 for the wrong role)
and the signed-in caller is handed over as ``request.state.user`` (read it with
:func:`caller`). Handlers therefore never decide who may call them; what remains to
them is the resource-level question (is this *their* room?), answered in
:mod:`chatapp.policy`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Literal, get_args

from starlette.requests import Request
from starlette.responses import Response

from chatapp.api.common import current_user
from chatapp.models import User
from chatapp.policy import ensure_admin, ensure_manager, ensure_visitor

__all__ = ["Auth", "AUTH_RULES", "Handler", "check_rule", "authorise", "guard", "caller"]

Handler = Callable[[Request], Awaitable[Response]]

Auth = Literal["none", "any", "visitor", "admin", "manager"]
"""``none``: public; ``any``: any signed-in account; ``visitor``: a guest or customer,
never support staff; ``admin``: support staff only (owner, admin or agent); ``manager``:
the team's owner and admins, who manage agents and settings (not agents)."""

AUTH_RULES: tuple[Auth, ...] = get_args(Auth)


def check_rule(rule: object) -> Auth:
    """``rule`` itself when it is one of :data:`AUTH_RULES`; a route table typo fails at import."""
    for known in AUTH_RULES:
        if rule == known:
            return known
    raise ValueError(f"unknown auth rule {rule!r}: use one of {', '.join(AUTH_RULES)}")


async def authorise(rule: Auth, request: Request) -> User | None:
    """The caller allowed by ``rule`` (None for public routes); raises 401/403 otherwise."""
    if rule == "none":
        return None
    user = await current_user(request)
    if rule == "visitor":
        ensure_visitor(user)
    elif rule == "admin":
        ensure_admin(user)
    elif rule == "manager":
        ensure_manager(user)
    return user


def guard(rule: Auth, handler: Handler) -> Handler:
    """``handler`` behind ``rule``: it runs only for an allowed caller, found in ``request.state.user``."""
    check_rule(rule)
    if rule == "none":
        return handler

    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        request.state.user = await authorise(rule, request)
        return await handler(request)

    return guarded


def caller(request: Request) -> User:
    """The signed-in caller that the route's rule let through."""
    user = getattr(request.state, "user", None)
    if not isinstance(user, User):
        raise RuntimeError(f"{request.url.path} is declared public (auth='none') but its handler needs a caller")
    return user
