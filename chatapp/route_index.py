"""Finding a request's route without trying every route.

Starlette's router tries each route's regular expression in order until one matches.
chatapp has about two hundred routes, so a request far down the list (a reply in a
conversation, a 404) paid 100-190 µs for the search alone. :class:`IndexedRouter`
buckets the routes by the first two segments of their fixed start (``/api/chat`` for
``/api/chat/rooms/{room_id}``) and tries, in the original order, only the routes of
the request's bucket and those whose fixed start is shorter than two segments. A route
outside those cannot match the path at all, so the first full match is Starlette's.
Anything else (405, redirects, 404) goes to Starlette's own scan, which decides it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Router
from starlette.types import Lifespan, Receive, Scope, Send

__all__ = ["IndexedRouter", "path_head", "route_head"]


DEPTH = 3  # segments a head has at most


def path_head(path: str, depth: int = DEPTH) -> str:
    """The first ``depth`` segments of a path: ``/api/chat`` of ``/api/chat/messages`` at depth 2."""
    return "/".join(path.split("/", depth + 1)[: depth + 1])


def route_head(route: BaseRoute) -> str | None:
    """The longest head (up to :data:`DEPTH` segments, at least two) every path this route
    matches starts with, or None when its fixed start is shorter."""
    path_format: str | None = getattr(route, "path_format", None)
    if path_format is None:
        return None
    if "{" in path_format:
        fixed = path_format[: path_format.index("{")]
        path_format = fixed[: fixed.rfind("/")]  # a parameter may continue the last segment
        if path_format.count("/") < 2:
            return None
    return path_head(path_format)


class IndexedRouter(Router):
    """Starlette's router with routes looked up by their head; see the module docstring."""

    def __init__(self, routes: Sequence[BaseRoute], *, lifespan: Lifespan[Any] | None = None) -> None:
        super().__init__(routes, lifespan=lifespan)
        heads = [route_head(route) for route in self.routes]

        def fitting(head: str) -> list[BaseRoute]:
            """The routes a path with this head may match: those of a head it starts with, and those
            of no head, in order."""
            return [r for r, own in zip(self.routes, heads, strict=True)
                    if own is None or own == path_head(head, own.count("/"))]

        known = {h for h in heads if h is not None}
        # A path is looked up by its head at each depth, deepest first; a head that ends at that
        # depth has a list, one that does not falls to the next depth.
        self._by_head = {head: fitting(head) for head in known | {path_head(h, 2) for h in known}}
        self._anywhere = [r for r, own in zip(self.routes, heads, strict=True) if own is None]

    def candidates(self, path: str) -> list[BaseRoute]:
        """The routes that may match ``path``, in their original order."""
        for depth in range(DEPTH, 1, -1):
            found = self._by_head.get(path_head(path, depth))
            if found is not None:
                return found
        return self._anywhere

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            for route in self.candidates(get_route_path(scope)):
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self)
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)
