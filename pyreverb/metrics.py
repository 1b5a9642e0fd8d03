"""Prometheus text exposition of the node's counters, without extra dependencies.

Off by default (``PYREVERB_METRICS_ENABLED``). Served at ``/metrics``: with a
bearer token (``PYREVERB_METRICS_TOKEN``) anyone presenting it may read; with
no token only loopback clients may.
"""

from __future__ import annotations

import hmac
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from pyreverb.server import PusherServer

__all__ = ["HttpStatusCounter", "render", "metrics_endpoint"]

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class HttpStatusCounter:
    """ASGI middleware counting HTTP API responses by status code."""

    def __init__(self, app: ASGIApp, counts: Counter[int] | None = None) -> None:
        self.app = app
        # shared with the HTTP transport, which answers triggers without this middleware
        self.counts: Counter[int] = Counter() if counts is None else counts

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counting_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.counts[message["status"]] += 1
            await send(message)

        await self.app(scope, receive, counting_send)


def _line(name: str, value: float, labels: dict[str, str] | None = None) -> str:
    if labels:
        inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
        return f"{name}{{{inner}}} {value}"
    return f"{name} {value}"


def render(server: PusherServer, http_counts: Counter[int]) -> str:
    out: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str] | None, float]]) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(_line(name, value, labels) for labels, value in samples)

    apps = [a.app_id for a in server.apps]
    hub = server.hub
    metric("pyreverb_connections", "gauge", "Open WebSocket connections on this node.",
           [({"app_id": a}, hub.connection_count(a)) for a in apps])
    metric("pyreverb_channels", "gauge", "Occupied channels on this node.",
           [({"app_id": a}, len(hub.channels(a))) for a in apps])
    metric("pyreverb_subscriptions", "gauge", "Channel subscriptions on this node.",
           [({"app_id": a}, sum(len(c.subscribers) for c in hub.channels(a).values())) for a in apps])
    stats = server.stats
    metric(
        "pyreverb_connections_opened_total",
        "counter",
        "Connections accepted since start.",
        [(None, stats.connections_total)],
    )
    metric("pyreverb_messages_received_total", "counter", "Client frames received.", [(None, stats.messages_in)])
    metric("pyreverb_messages_sent_total", "counter", "Frames written to clients by fan-out.", [(None, hub.frames_out)])
    metric("pyreverb_client_events_total", "counter", "Client events relayed.", [(None, stats.client_events)])
    metric(
        "pyreverb_api_messages_total",
        "counter",
        "Channel messages published through the HTTP API.",
        [(None, stats.api_messages)],
    )
    metric("pyreverb_http_requests_total", "counter", "HTTP responses by status code.",
           [({"status": str(code)}, n) for code, n in sorted(http_counts.items())] or [({"status": "200"}, 0)])
    hooks = server.webhooks
    metric("pyreverb_webhook_queue_depth", "gauge", "Webhook events waiting to be sent.", [(None, hooks.queue_depth)])
    metric("pyreverb_webhooks_sent_total", "counter", "Webhook events delivered.", [(None, hooks.sent)])
    metric("pyreverb_webhook_failures_total", "counter", "Webhook events given up after retries or dropped.",
           [({"reason": "retries_exhausted"}, hooks.failed), ({"reason": "queue_full"}, hooks.dropped)])
    metric(
        "pyreverb_bus_healthy",
        "gauge",
        "1 when the pub/sub backend is reachable.",
        [(None, 1 if server.backend.healthy else 0)],
    )
    lag = getattr(server.backend, "bus_lag_seconds", None)
    if isinstance(lag, (int, float)):
        metric(
            "pyreverb_bus_lag_seconds",
            "gauge",
            "Age of the last bus message when it was received.",
            [(None, float(lag))],
        )
    metric(
        "pyreverb_uptime_seconds",
        "gauge",
        "Seconds since the node started.",
        [(None, round(time.time() - stats.started_at, 3))],
    )
    return "\n".join(out) + "\n"


def metrics_endpoint(server: PusherServer, counter: HttpStatusCounter) -> Callable[[Request], Awaitable[Response]]:
    token = server.settings.metrics_token

    async def endpoint(request: Request) -> Response:
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return PlainTextResponse("metrics need 'Authorization: Bearer <PYREVERB_METRICS_TOKEN>'\n", 401)
        elif (request.client.host if request.client else "") not in ("127.0.0.1", "::1", "localhost"):
            return PlainTextResponse("metrics are only served to loopback clients unless a token is set\n", 403)
        return PlainTextResponse(render(server, counter.counts), media_type="text/plain; version=0.0.4")

    return endpoint
