"""Webhooks: channel and member lifecycle events POSTed to the app's endpoints.

Pusher's format: ``{"time_ms": ..., "events": [...]}`` with ``X-Pusher-Key`` and
``X-Pusher-Signature`` (HMAC-SHA256 of the body with the app secret). Each
endpoint has a bounded queue and one worker: ``emit`` never blocks the event
loop; when a queue is full the event is dropped and counted. Failed deliveries
are retried with exponential back-off.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from pyreverb.config import AppConfig
from pyreverb.webhook_endpoint import EVENT_TYPES, WebhookEndpoint

__all__ = ["WebhookEndpoint", "Webhooks", "EVENT_TYPES", "sign_body"]

log = logging.getLogger("pyreverb.webhooks")


def sign_body(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class _Sender:
    app: AppConfig
    endpoint: WebhookEndpoint
    queue: asyncio.Queue[dict[str, Any]] = field(init=False)
    task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.endpoint.queue_size)


class Webhooks:
    """Every app's webhook endpoints, with their queues and workers."""

    def __init__(self, apps: list[AppConfig]) -> None:
        self._senders: dict[str, list[_Sender]] = {}
        self._apps = apps
        self._client: httpx.AsyncClient | None = None
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    def wants(self, app: AppConfig, event_type: str) -> bool:
        """Cheap check so the server skips work for events nobody subscribed to."""
        return any(event_type in s.endpoint.event_types for s in self._senders.get(app.app_id, ()))

    @property
    def queue_depth(self) -> int:
        return sum(s.queue.qsize() for senders in self._senders.values() for s in senders)

    async def start(self) -> None:
        for app in self._apps:
            senders = [_Sender(app, endpoint) for endpoint in app.webhooks]
            if senders:
                self._senders[app.app_id] = senders
        if self._senders:
            self._client = httpx.AsyncClient()
            for senders in self._senders.values():
                for sender in senders:
                    sender.task = asyncio.create_task(self._run(sender), name=f"webhooks-{sender.endpoint.url}")

    async def stop(self, flush_seconds: float = 2.0) -> None:
        deadline = time.monotonic() + flush_seconds
        while self.queue_depth and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for senders in self._senders.values():
            for sender in senders:
                if sender.task is not None:
                    sender.task.cancel()
        if self._client is not None:
            await self._client.aclose()

    def emit(self, app: AppConfig, event: dict[str, Any]) -> None:
        """Queue one event for every endpoint that wants its type; never blocks."""
        for sender in self._senders.get(app.app_id, ()):
            if event["name"] not in sender.endpoint.event_types:
                continue
            try:
                sender.queue.put_nowait(event)
            except asyncio.QueueFull:
                self.dropped += 1
                log.error("webhook queue for %s is full; dropped a %s event", sender.endpoint.url, event["name"])

    async def _run(self, sender: _Sender) -> None:
        endpoint = sender.endpoint
        while True:
            batch = [await sender.queue.get()]
            if endpoint.batch_ms > 0:
                deadline = time.monotonic() + endpoint.batch_ms / 1000
                while len(batch) < endpoint.max_batch:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    try:
                        batch.append(await asyncio.wait_for(sender.queue.get(), remaining))
                    except TimeoutError:
                        break
            else:
                while len(batch) < endpoint.max_batch and not sender.queue.empty():
                    batch.append(sender.queue.get_nowait())
            await self._deliver(sender, batch)

    async def _deliver(self, sender: _Sender, events: list[dict[str, Any]]) -> None:
        assert self._client is not None
        body = orjson.dumps({"time_ms": int(time.time() * 1000), "events": events})
        headers = {
            "Content-Type": "application/json",
            "X-Pusher-Key": sender.app.key,
            "X-Pusher-Signature": sign_body(sender.app.secret, body),
        }
        endpoint = sender.endpoint
        for attempt in range(1, endpoint.max_attempts + 1):
            try:
                response = await self._client.post(
                    endpoint.url, content=body, headers=headers, timeout=endpoint.timeout_seconds
                )
                if 200 <= response.status_code < 300:
                    self.sent += len(events)
                    return
                reason = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if attempt == endpoint.max_attempts:
                break
            delay = endpoint.backoff_seconds * (2 ** (attempt - 1))
            log.warning("webhook to %s failed (%s); retry %d in %.1fs", endpoint.url, reason, attempt, delay)
            await asyncio.sleep(delay)
        self.failed += len(events)
        log.error(
            "webhook to %s gave up after %d attempts; %d event(s) lost",
            endpoint.url,
            endpoint.max_attempts,
            len(events),
        )
