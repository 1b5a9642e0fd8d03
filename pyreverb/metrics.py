"""Prometheus metrics of the node, through a ``prometheus_client`` collector.

Off by default (``PYREVERB_METRICS_ENABLED``). Served at ``/metrics``: with a
bearer token (``PYREVERB_METRICS_TOKEN``) anyone presenting it may read; with
no token only loopback clients may.

The node already counts what it does in plain integers (``ServerStats``, the
hub, the webhook queue); :class:`NodeCollector` reads them when Prometheus
scrapes, so the message path pays nothing for metrics. prometheus_client
writes the exposition (label escaping, the Prometheus text format or
OpenMetrics as the scraper's ``Accept`` asks) and adds the process metrics.
"""

from __future__ import annotations

import hmac
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from pyreverb.server import PusherServer

__all__ = ["HttpStatusCounter", "NodeCollector", "node_registry", "render", "metrics_endpoint"]
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


class NodeCollector(Collector):
    """The node's own counters and gauges, read at scrape time."""

    def __init__(self, server: PusherServer, http_counts: Counter[int]) -> None:
        self.server = server
        self.http_counts = http_counts

    def collect(self) -> Iterator[Metric]:
        server, hub, stats, hooks = self.server, self.server.hub, self.server.stats, self.server.webhooks
        apps = [a.app_id for a in server.apps]

        def per_app(name: str, help_text: str, value: Callable[[str], float]) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, help_text, labels=["app_id"])
            for app_id in apps:
                family.add_metric([app_id], value(app_id))
            return family

        yield per_app("pyreverb_connections", "Open WebSocket connections on this node.", hub.connection_count)
        yield per_app("pyreverb_channels", "Occupied channels on this node.", lambda a: len(hub.channels(a)))
        yield per_app(
            "pyreverb_subscriptions",
            "Channel subscriptions on this node.",
            lambda a: sum(len(c.subscribers) for c in hub.channels(a).values()),
        )
        totals = (
            ("pyreverb_connections_opened_total", "Connections accepted since start.", stats.connections_total),
            ("pyreverb_messages_received_total", "Client frames received.", stats.messages_in),
            ("pyreverb_messages_sent_total", "Frames written to clients by fan-out.", hub.frames_out),
            ("pyreverb_client_events_total", "Client events relayed.", stats.client_events),
            ("pyreverb_api_messages_total", "Channel messages published through the HTTP API.", stats.api_messages),
        )
        for name, help_text, total in totals:
            yield CounterMetricFamily(name, help_text, value=total)
        requests = CounterMetricFamily(
            "pyreverb_http_requests_total", "HTTP responses by status code.", labels=["status"]
        )
        for code, count in sorted(self.http_counts.items()) or [(200, 0)]:
            requests.add_metric([str(code)], count)
        yield requests
        yield GaugeMetricFamily(
            "pyreverb_webhook_queue_depth", "Webhook events waiting to be sent.", value=hooks.queue_depth
        )
        yield CounterMetricFamily("pyreverb_webhooks_sent_total", "Webhook events delivered.", value=hooks.sent)
        failures = CounterMetricFamily(
            "pyreverb_webhook_failures_total", "Webhook events given up after retries or dropped.", labels=["reason"]
        )
        failures.add_metric(["retries_exhausted"], hooks.failed)
        failures.add_metric(["queue_full"], hooks.dropped)
        yield failures
        yield GaugeMetricFamily(
            "pyreverb_bus_healthy", "1 when the pub/sub backend is reachable.", value=1 if server.backend.healthy else 0
        )
        lag = getattr(server.backend, "bus_lag_seconds", None)
        if isinstance(lag, (int, float)):
            yield GaugeMetricFamily(
                "pyreverb_bus_lag_seconds", "Age of the last bus message when it was received.", value=float(lag)
            )
        yield GaugeMetricFamily(
            "pyreverb_uptime_seconds", "Seconds since the node started.", value=round(time.time() - stats.started_at, 3)
        )


def node_registry(server: PusherServer, http_counts: Counter[int]) -> CollectorRegistry:
    """A registry of this node alone (the node's metrics and its process), not the global one."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeCollector(server, http_counts))
    ProcessCollector(registry=registry)
    return registry


def render(registry: CollectorRegistry, accept: str = "") -> tuple[bytes, str]:
    """The exposition the ``Accept`` header asks for (OpenMetrics or Prometheus text) and its media type."""
    encode, media_type = choose_encoder(accept)
    return encode(registry), media_type


def metrics_endpoint(server: PusherServer, counter: HttpStatusCounter) -> Callable[[Request], Awaitable[Response]]:
    token = server.settings.metrics_token
    registry = node_registry(server, counter.counts)

    async def endpoint(request: Request) -> Response:
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return PlainTextResponse("metrics need 'Authorization: Bearer <PYREVERB_METRICS_TOKEN>'\n", 401)
        elif (request.client.host if request.client else "") not in ("127.0.0.1", "::1", "localhost"):
            return PlainTextResponse("metrics are only served to loopback clients unless a token is set\n", 403)
        body, media_type = render(registry, request.headers.get("accept", ""))
        return Response(body, headers={"content-type": media_type})

    return endpoint
