"""The ASGI application: HTTP API routes plus a lifespan that owns the node."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pyreverb.config import Settings
from pyreverb.http_api import json_response, routes
from pyreverb.metrics import HttpStatusCounter, metrics_endpoint
from pyreverb.server import PusherServer

__all__ = ["create_app"]

_REASONS = {404: "Not found", 405: "Method not allowed"}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    reason = _REASONS.get(exc.status_code, exc.detail)
    return json_response({"error": f"{reason}: {request.method} {request.url.path}"}, exc.status_code)


def create_app(settings: Settings, server: PusherServer | None = None) -> Any:
    """The ASGI app: the HTTP API wrapped in a status counter (for /metrics)."""
    node = server or PusherServer(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        await node.start()
        try:
            yield {"pyreverb": node}
        finally:
            await node.stop()

    app = Starlette(
        routes=routes(settings.prefix),
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error},
    )
    app.state.pyreverb = node
    counter = HttpStatusCounter(app, node.stats.http_responses)
    if settings.metrics_enabled:
        app.router.routes.insert(
            0, Route(f"{settings.prefix}/metrics", metrics_endpoint(node, counter), methods=["GET"])
        )
    return counter
