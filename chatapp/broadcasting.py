"""Publishing through pyreverb's Pusher HTTP API: the one place that speaks it.

``deliver()`` posts one ``batch_events`` request and says whether a failure is
worth retrying; the outbox relay (chatapp.outbox) calls it for every durable event.

``publish()`` is for hints only (typing, stats, unread counters): it enqueues in
memory and returns at once; one worker drains the queue in order, retries
connection errors and 5xx answers with backoff, and drops a hint with a log line
once it has failed every try or outlived its short deadline. The next hint, or a
client's resync, replaces a lost one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import httpx
import orjson

from chatapp.config import Settings
from chatapp.reverb_http import Response, ReverbHTTP
from pyreverb.signing import signed_query, signin_auth, subscription_auth

__all__ = [
    "Broadcaster",
    "Event",
    "DeliveryError",
    "batches",
    "channel_auth",
    "user_auth",
    "fit_text",
    "MAX_BATCH",
    "MAX_EVENT_BYTES",
]

log = logging.getLogger("chatapp.broadcasting")
MAX_BATCH = 10
MAX_BATCH_BYTES = 90_000
MAX_EVENT_BYTES = 10_000  # Pusher's (and pyreverb's default) limit on one event's data
TERMINATE_DEADLINE = 30.0  # seconds a connection-ending call keeps retrying
_JSON = {"Content-Type": "application/json"}


@dataclass
class Event:
    channel: str
    name: str
    data: str
    socket_id: str | None
    deadline: float = 0.0  # monotonic; in-memory hints only

    @property
    def cost(self) -> int:
        """Bytes this event adds to a batch request (its data is JSON-escaped once more)."""
        return len(self.data) * 2 + 200


class DeliveryError(Exception):
    """pyreverb did not take a batch; ``permanent`` when sending the same request again cannot help."""

    def __init__(self, problem: str, *, permanent: bool) -> None:
        super().__init__(problem)
        self.problem = problem
        self.permanent = permanent


def batches(events: list[Event]) -> list[list[Event]]:
    """``events`` in order, cut into requests of at most MAX_BATCH events and MAX_BATCH_BYTES."""
    out: list[list[Event]] = []
    size = 0
    for event in events:
        if not out or len(out[-1]) >= MAX_BATCH or size + event.cost > MAX_BATCH_BYTES:
            out.append([])
            size = 0
        out[-1].append(event)
        size += event.cost
    return out


def batch_body(batch: list[Event]) -> bytes:
    """The JSON body of one ``batch_events`` request."""
    return orjson.dumps(
        {
            "batch": [
                {"channel": e.channel, "name": e.name, "data": e.data}
                | ({"socket_id": e.socket_id} if e.socket_id else {})
                for e in batch
            ]
        }
    )


def channel_auth(settings: Settings, socket_id: str, channel: str, channel_data: str | None = None) -> str:
    """The ``auth`` value of a subscription answer: ``key:hmac``."""
    return subscription_auth(settings.reverb_key, settings.reverb_secret, socket_id, channel, channel_data)


def user_auth(settings: Settings, socket_id: str, user_data: str) -> str:
    """The ``auth`` value of a ``pusher:signin``: ``key:hmac``."""
    return signin_auth(settings.reverb_key, settings.reverb_secret, socket_id, user_data)


def fit_text(text: str, budget: int) -> tuple[str, bool]:
    """``text`` cut so its JSON encoding takes at most ``budget`` bytes; (text, was_cut)."""
    if len(orjson.dumps(text)) <= budget:
        return text, False
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if len(orjson.dumps(text[:mid])) <= budget:
            low = mid
        else:
            high = mid - 1
    return text[:low], True


class Broadcaster:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._queue: deque[Event] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._client: ReverbHTTP | None = None
        self._base_path = httpx.URL(settings.reverb_base_url).path.rstrip("/")  # signed with each request
        self._worker: asyncio.Task[None] | None = None
        self._terminations: set[asyncio.Task[None]] = set()
        # presence_user_ids(..., max_age=...): channel -> (monotonic time asked, answer), and the
        # question in flight, which concurrent callers share instead of asking again.
        self._presence: dict[str, tuple[float, set[str]]] = {}
        self._presence_asking: dict[str, asyncio.Future[set[str] | None]] = {}
        self.sent = 0
        self.dropped = 0
        self.terminated = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._client = ReverbHTTP(self.settings.reverb_base_url, self.settings.broadcast_timeout)
        self._worker = asyncio.create_task(self._run(), name="chatapp-broadcaster")

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Deliver what is queued and end pending connections (bounded by ``drain_timeout``), then close."""
        if self._queue:
            try:
                await asyncio.wait_for(self._idle.wait(), drain_timeout)
            except TimeoutError:
                log.warning("shutting down with %d undelivered events", len(self._queue))
        if self._terminations:
            await asyncio.wait(set(self._terminations), timeout=drain_timeout)
            for task in set(self._terminations):
                task.cancel()
        if self._worker:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        if self._client:
            await self._client.aclose()

    # -------------------------------------------------------------------- publish

    def publish(
        self, channels: list[str], name: str, data: dict[str, Any], *, socket_id: str | None = None, ttl: float = 60.0
    ) -> None:
        """Queue ``name`` with ``data`` for every channel; returns at once."""
        if not self.settings.reverb_configured:
            return
        encoded = orjson.dumps(data).decode()
        deadline = time.monotonic() + ttl
        for channel in channels:
            if len(self._queue) >= self.settings.broadcast_queue_size:
                old = self._queue.popleft()
                self.dropped += 1
                log.warning("broadcast queue full: dropped %s on %s", old.name, old.channel)
            self._queue.append(Event(channel, name, encoded, socket_id, deadline))
        self._idle.clear()
        self._wake.set()

    async def wait_idle(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = self._take_batch()
                await self._deliver(batch)
            self._idle.set()

    def _take_batch(self) -> list[Event]:
        batch: list[Event] = []
        size = 0
        now = time.monotonic()
        while self._queue and len(batch) < MAX_BATCH:
            event = self._queue[0]
            if event.deadline < now:
                self._queue.popleft()
                self.dropped += 1
                log.warning("broadcast dropped (too old): %s on %s", event.name, event.channel)
                continue
            if batch and size + event.cost > MAX_BATCH_BYTES:
                break
            batch.append(self._queue.popleft())
            size += event.cost
        return batch

    async def _deliver(self, batch: list[Event]) -> None:
        if not batch:
            return
        path = f"/apps/{self.settings.reverb_app_id}/batch_events"
        problem = await self._post_with_retries(path, batch_body(batch), min(e.deadline for e in batch), "broadcast")
        if problem is None:
            self.sent += len(batch)
            return
        self.dropped += len(batch)
        names = ", ".join(sorted({f"{e.name}@{e.channel}" for e in batch}))
        log.warning("broadcast dropped after failure (%s): %s", problem, names)

    async def _post_with_retries(self, path: str, body: bytes, deadline: float, what: str) -> str | None:
        """POST to pyreverb, retrying connection errors and 5xx until ``deadline``; None or the last problem."""
        delay = 0.2
        attempts = 1 + max(0, self.settings.broadcast_retries)
        problem = "not attempted"
        for attempt in range(1, attempts + 1):
            try:
                response = await self._request("POST", path, body)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 300:
                    return None
                problem = f"HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code < 500:
                    break  # our request is wrong; retrying will not help
            if attempt < attempts and deadline > time.monotonic() + delay:
                log.info("%s attempt %d/%d failed (%s); retrying", what, attempt, attempts, problem)
                await asyncio.sleep(delay)
                delay *= 2
                continue
            break
        return problem

    async def deliver(self, batch: list[Event]) -> None:
        """POST ``batch`` (at most MAX_BATCH events) to ``batch_events`` once; raise DeliveryError."""
        try:
            response = await self._request("POST", f"/apps/{self.settings.reverb_app_id}/batch_events",
                                           batch_body(batch))
        except Exception as exc:  # noqa: BLE001 - any transport failure is worth a retry
            raise DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False) from None
        if response.status_code >= 300:
            # 4xx: our request is wrong and the same bytes will be refused again; a 5xx may pass later.
            problem = f"HTTP {response.status_code}: {response.text[:300]}"
            raise DeliveryError(problem, permanent=response.status_code < 500)

    # ------------------------------------------------------------- terminate

    def terminate_user(self, user_id: int) -> None:
        """Close every WebSocket of ``user_id`` (signed-in sockets and presence members); returns at once.

        Runs beside the event queue, not in it: a revocation must not wait behind a
        backlog of chat events. :meth:`stop` waits for the ones still running.
        """
        if not self.settings.reverb_configured:
            return
        task = asyncio.create_task(self._terminate(user_id), name=f"chatapp-terminate-{user_id}")
        self._terminations.add(task)
        task.add_done_callback(self._terminations.discard)

    async def _terminate(self, user_id: int) -> None:
        path = f"/apps/{self.settings.reverb_app_id}/users/{user_id}/terminate_connections"
        problem = await self._post_with_retries(path, b"{}", time.monotonic() + TERMINATE_DEADLINE, "terminate")
        if problem is None:
            self.terminated += 1
        else:
            log.warning("could not end the connections of user %s (%s)", user_id, problem)

    # ------------------------------------------------------------ HTTP API calls

    async def _request(
        self, method: str, path: str, body: bytes = b"", params: dict[str, str] | None = None
    ) -> Response:
        assert self._client is not None, "Broadcaster.start() was not called"
        full_path = self._base_path + unquote(path)
        query = signed_query(self.settings.reverb_key, self.settings.reverb_secret, method, full_path, body, params)
        headers = _JSON if body else None
        return await self._client.request(method, path, params=query, content=body or None, headers=headers)

    async def _query(self, path: str) -> dict[str, Any] | None:
        """GET one channel-query endpoint; None when pyreverb cannot answer."""
        if not self.settings.reverb_configured:
            return None
        try:
            response = await self._request("GET", f"/apps/{self.settings.reverb_app_id}{path}")
            doc = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None

    async def presence_user_ids(self, channel: str, max_age: float = 0.0) -> set[str] | None:
        """Who is on a presence channel; None when pyreverb cannot be asked.

        ``max_age`` > 0 accepts an answer asked for at most that many seconds ago, and callers
        arriving while the question is in flight share its answer: one request to pyreverb per
        ``max_age`` however many messages want it. An unanswered question is not kept.
        """
        if max_age <= 0:
            return await self._ask_presence(channel)
        now = time.monotonic()
        cached = self._presence.get(channel)
        if cached is not None and now - cached[0] <= max_age:
            return set(cached[1])
        asking = self._presence_asking.get(channel)
        if asking is None:
            asking = asyncio.get_running_loop().create_future()
            self._presence_asking[channel] = asking
            answer = None
            try:
                answer = await self._ask_presence(channel)
            finally:  # cancelled: those waiting hear "unknown", as when pyreverb cannot be asked
                del self._presence_asking[channel]
                asking.set_result(answer)
            if answer is not None:
                self._presence[channel] = (now, answer)
            return set(answer) if answer is not None else None
        answer = await asyncio.shield(asking)
        return set(answer) if answer is not None else None

    async def _ask_presence(self, channel: str) -> set[str] | None:
        doc = await self._query(f"/channels/{quote(channel, safe='')}/users")
        users = doc.get("users") if doc else None
        if not isinstance(users, list):
            return None
        return {str(u.get("id")) for u in users if isinstance(u, dict)}

    async def occupied(self, channel: str) -> bool | None:
        """Whether anyone is subscribed to ``channel``; None when unknown."""
        doc = await self._query(f"/channels/{quote(channel, safe='')}")
        return None if doc is None else bool(doc.get("occupied"))
