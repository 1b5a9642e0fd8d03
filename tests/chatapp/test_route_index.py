"""The indexed router picks the route Starlette's scan of every route would, for every route chatapp has."""

from __future__ import annotations

import re

import pytest
from starlette.routing import BaseRoute, Match, Route, Router

from chatapp.app import create_app
from chatapp.config import Settings
from chatapp.route_index import IndexedRouter, path_head, route_head


def _scope(method: str, path: str) -> dict[str, object]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def _scanned(routes: list[BaseRoute], method: str, path: str) -> BaseRoute | None:
    """Starlette's rule: the first route that matches fully."""
    return next((r for r in routes if r.matches(_scope(method, path))[0] is Match.FULL), None)


def _indexed(router: IndexedRouter, method: str, path: str) -> BaseRoute | None:
    return next((r for r in router.candidates(path) if r.matches(_scope(method, path))[0] is Match.FULL), None)


def _samples(route: BaseRoute) -> list[str]:
    path_format: str = getattr(route, "path_format", "/")
    return [re.sub(r"{[^}]+}", value, path_format) for value in ("7", "x", "a/b", "")]


def test_every_route_of_the_app_is_found_as_starlette_finds_it() -> None:
    router = create_app(Settings.from_env({"DATABASE_URL": "sqlite:///:memory:"})).router
    assert isinstance(router, IndexedRouter)
    routes = router.routes
    assert len(routes) > 100
    paths = {p for r in routes for p in _samples(r)} | {"/", "/nope", "/api/nope", "/api/chat/", "/admin/chat/x/y"}
    checked = found = 0
    for path in sorted(paths):
        for method in ("GET", "POST", "DELETE"):
            want = _scanned(routes, method, path)
            assert _indexed(router, method, path) is want, (method, path)
            checked += 1
            found += want is not None
    assert found > len(routes) and checked > found  # every route found (some by several methods), misses too


def test_heads() -> None:
    assert [path_head(p, 2) for p in ("/api/chat/messages", "/up", "/", "/a/")] == ["/api/chat", "/up", "/", "/a/"]
    assert path_head("/api/admin/chat/rooms/5") == "/api/admin/chat"

    def head(path: str) -> str | None:
        return route_head(Route(path, lambda request: None))

    assert head("/api/chat/rooms/{room_id}") == "/api/chat/rooms"
    assert head("/api/chat/{room_id}") == "/api/chat"
    assert head("/api/chat/messages") == "/api/chat/messages"
    assert head("/a/b/{rest:path}") == "/a/b"
    assert head("/widget/{file}") is None  # one whole segment only: tried for every path
    assert head("/api/ch{x}") is None
    assert head("/{page}") is None


@pytest.mark.parametrize("path", ["/api/chat/rooms/5", "/api/chat/rooms", "/api/chat/x/y", "/widget/app.js", "/api/x"])
def test_a_short_fixed_start_is_tried_everywhere_in_order(path: str) -> None:
    def endpoint(request: object) -> None:
        return None

    routes: list[BaseRoute] = [
        Route("/{anything:path}", endpoint, methods=["PUT"]),
        Route("/api/chat/rooms/{room_id}", endpoint),
        Route("/api/chat/{name}", endpoint),
        Route("/widget/{file}", endpoint),
        Route("/{anything:path}", endpoint),
    ]
    indexed = IndexedRouter(routes)
    for method in ("GET", "PUT"):
        assert _indexed(indexed, method, path) is _scanned(Router(routes).routes, method, path)
