"""Scaling over Redis: one pub/sub channel for messages, atomic scripts for shared state.

Every node delivers to its own sockets at once and queues a bus message for the
others (``publish`` never waits on Redis). Presence and channel counts live in
Redis (:mod:`pyreverb.backends.cluster_state`), so "first socket anywhere" and
"last socket anywhere" are decided once for the cluster. Connection counts are
asked of every node over the bus. Each node refreshes a heartbeat key; a node
whose key expires is reaped by a survivor, which sends the member_removed
events for it. When Redis is unreachable the node serves its own sockets alone,
reports DEGRADED on ``/up``, reconnects with back-off and, once back, rewrites
its share of the shared state from its hub. See docs/scaling.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from pyreverb.backends import bus
from pyreverb.backends.base import Backend, ChannelStats, PresenceJoin
from pyreverb.backends.bus import Kind
from pyreverb.backends.cluster_state import ClusterState, PresenceChange, snapshot_of
from pyreverb.backends.gate import Gate
from pyreverb.backends.presence_view import PresenceViews
from pyreverb.config import ClusterTiming, ConfigError, Settings
from pyreverb.hub import LocalJoin, LocalLeave
from pyreverb.protocol.channels import PresenceMember
from pyreverb.protocol.messages import encode_event

# ClusterTiming lives in the settings; named here too for code that builds a backend by hand.
__all__ = ["RedisBackend", "ClusterTiming"]

log = logging.getLogger("pyreverb.scaling")

# What a lost or refused Redis connection raises through redis-py.
REDIS_DOWN = (RedisError, OSError, asyncio.TimeoutError)
T = TypeVar("T")
MAX_BATCH = 512
# A burst of subscriptions waits for one of these instead of opening a connection each.
MAX_REDIS_CONNECTIONS = 32
MAX_OUTBOX = 100_000


def redacted(url: str) -> str:
    """The Redis URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class _Answers:
    """Replies to one cluster query, complete once every other node answered."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.expected: int | None = None
        self.done = asyncio.Event()

    def add(self, body: bytes) -> None:
        self.bodies.append(body)
        self._check()

    def expect(self, count: int) -> None:
        self.expected = count
        self._check()

    def _check(self) -> None:
        if self.expected is not None and len(self.bodies) >= self.expected:
            self.done.set()


class RedisBackend(Backend):
    def __init__(self, settings: Settings, timing: ClusterTiming | None = None) -> None:
        super().__init__()
        if settings.node_id:
            self.node_id = settings.node_id
        self.url = settings.redis_url
        self.channel = settings.scaling_channel
        self.timing = timing or settings.cluster
        self.dropped = 0  # bus messages not sent because Redis was unreachable
        self.bus_lag_seconds = 0.0  # age of the last message from another node when it arrived
        self._redis: Redis | None = None
        self._state: ClusterState | None = None
        self._online = False  # shared state is usable (resynced since the last outage)
        self._bus_open = False  # the outbox accepts messages
        self._outbox: deque[bytes] = deque()
        self._sending = False
        self._wake = asyncio.Event()
        self._sent_all = asyncio.Event()
        self._broken = asyncio.Event()
        self._first_attempt = asyncio.Event()
        self._gate = Gate()
        self._views = PresenceViews()
        self._queries: dict[str, _Answers] = {}
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False
        self._offline_since: float | None = None
        self._dropped_before_outage = 0

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        t = self.timing.redis_timeout
        try:
            pool = BlockingConnectionPool.from_url(
                self.url,
                max_connections=MAX_REDIS_CONNECTIONS,
                timeout=t,
                socket_connect_timeout=t,
                socket_timeout=t,
                retry=Retry(NoBackoff(), 0),
                client_name=f"pyreverb-{self.node_id}",
            )
        except ValueError as exc:
            raise ConfigError(f"REDIS_URL {redacted(self.url)!r} is not usable: {exc}") from None
        self._redis = Redis.from_pool(pool)
        self._state = ClusterState(self._redis, self.channel, self.node_id)
        self._runner = asyncio.create_task(self._run(), name="pyreverb-redis")
        # A node that starts while Redis is up is ready at once; if Redis is down it
        # starts anyway (DEGRADED) and keeps trying in the background.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_attempt.wait(), 2 * t + 1)

    async def stop(self) -> None:
        """Send what is queued, withdraw this node's share of the state, disconnect."""
        self._stopping = True
        was_online = self._online
        if was_online:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drain(), self.timing.redis_timeout)
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        self._online = self._bus_open = False
        if was_online and self._state is not None and self._redis is not None:
            # The hub is empty by now; anything still listed for this node is withdrawn.
            try:
                left = await self._state.reap(self.node_id, only_if_dead=False)
                for change in left:
                    await self._redis.publish(self.channel, self._presence_bus_message(change, joined=False))
            except Exception as exc:  # noqa: BLE001 - best effort on the way out
                log.warning("could not withdraw node %s from the cluster: %s", self.node_id, _why(exc))
        if self._redis is not None:
            with contextlib.suppress(*REDIS_DOWN):
                await self._redis.aclose()

    @property
    def healthy(self) -> bool:
        return self._online

    async def _run(self) -> None:
        """Connect, serve until Redis is lost, back off, repeat."""
        backoff = self.timing.backoff_min
        while True:  # stop() sets _stopping, then cancels this task
            try:
                await self._connect_and_serve()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure means "reconnect"
                if self._offline_since is None:
                    backoff = self.timing.backoff_min
                self._went_offline(exc, backoff)
            finally:
                self._online = self._bus_open = False
                self._first_attempt.set()
            if self._stopping:
                break
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, self.timing.backoff_max)

    async def _connect_and_serve(self) -> None:
        assert self._redis is not None
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            self._broken.clear()
            self._bus_open = True
            await self._resync()
            self._came_back()
            self._first_attempt.set()
            tasks = [
                asyncio.create_task(self._listen(pubsub), name="pyreverb-redis-listen"),
                asyncio.create_task(self._send_forever(), name="pyreverb-redis-send"),
                asyncio.create_task(self._heartbeat_forever(), name="pyreverb-redis-heartbeat"),
                asyncio.create_task(self._broken.wait(), name="pyreverb-redis-broken"),
            ]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            for task in done:
                failure = None if task.cancelled() else task.exception()
                if failure is not None:
                    raise failure
            raise ConnectionError("a Redis command failed")
        finally:
            self._online = self._bus_open = False
            with contextlib.suppress(*REDIS_DOWN, RuntimeError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves PubSub.aclose unannotated
            # Fail commands still waiting on dead sockets so they fall back to local answers.
            with contextlib.suppress(*REDIS_DOWN):
                await self._redis.connection_pool.disconnect()

    def _went_offline(self, exc: BaseException, retry_in: float) -> None:
        lost = len(self._outbox)
        self._outbox.clear()
        self.dropped += lost
        if self._offline_since is None:
            self._offline_since = time.monotonic()
            self._dropped_before_outage = self.dropped - lost
            log.error(
                "Redis at %s unreachable (%s): cluster delivery paused, serving this node's "
                "clients only, /up reports DEGRADED; reconnecting with back-off",
                redacted(self.url),
                _why(exc),
            )
        else:
            log.warning(
                "Redis at %s still unreachable (%s); retrying in %.1fs", redacted(self.url), _why(exc), retry_in
            )

    def _came_back(self) -> None:
        if self._offline_since is None:
            log.info("node %s joined the cluster on Redis %s", self.node_id, redacted(self.url))
            return
        down = time.monotonic() - self._offline_since
        self._offline_since = None
        log.warning(
            "connected to Redis at %s as node %s after %.1fs; cluster delivery resumed "
            "(%d bus messages were not sent meanwhile)",
            redacted(self.url),
            self.node_id,
            down,
            self.dropped - self._dropped_before_outage,
        )

    def _lost(self, exc: BaseException) -> None:
        """A command failed: answer locally from now on and let the runner reconnect."""
        if not isinstance(exc, REDIS_DOWN):
            # redis-py can surface a connection torn down mid-command as other errors
            log.warning("Redis command failed unexpectedly", exc_info=exc)
        self._online = self._bus_open = False
        self._broken.set()

    # -- shared state ------------------------------------------------------------------
    async def _resync(self) -> None:
        """Make the shared state match the hub; bring local sockets and other nodes up to date.

        Local writes wait at the gate meanwhile, so none is counted twice or lost,
        and none interleaves with reconciling the local presence views.
        """
        assert self._state is not None
        async with self._gate.exclusive():
            snapshot = snapshot_of(self._hub)
            joined, left = await self._state.resync(snapshot, int(self.timing.node_ttl * 1000))
            channels = self._views.keys()
            for (app_id, channel), members in zip(channels, await self._state.members_of(channels), strict=True):
                for frame in self._views.reconcile(app_id, channel, members):
                    self._hub.deliver(app_id, channel, frame)
            self._online = True
        # Other nodes learn of the net changes; their views drop what they already showed.
        for change in joined:
            self._enqueue(self._presence_bus_message(change, joined=True))
        for change in left:
            self._enqueue(self._presence_bus_message(change, joined=False))

    def _presence_bus_message(self, change: PresenceChange, joined: bool) -> bytes:
        frame = _presence_frame(change, joined)
        return bus.encode(self.node_id, Kind.MESSAGE, change.app_id, change.channel, None, body=frame)

    async def _heartbeat_forever(self) -> None:
        assert self._state is not None
        ttl_ms = int(self.timing.node_ttl * 1000)
        while True:
            was_reaped, dead = await self._state.heartbeat(ttl_ms)
            if was_reaped:
                log.error(
                    "node %s missed its heartbeats for over %.1fs and the cluster expired its state; "
                    "re-announcing its clients",
                    self.node_id,
                    self.timing.node_ttl,
                )
                await self._resync()
            for node in dead:
                if node != self.node_id:
                    await self._reap(node)
            await asyncio.sleep(self.timing.heartbeat)

    async def _reap(self, node: str) -> None:
        assert self._state is not None
        left = await self._state.reap(node, only_if_dead=True)
        if left:
            log.warning(
                "node %s stopped heart-beating; removed its state and %d presence member(s)", node, len(left)
            )
        for change in left:
            self.publish(change.app_id, change.channel, _presence_frame(change, joined=False))
            self.member_gone(change.app_id, change.channel, change.user_id)

    def _may_use_shared(self) -> bool:
        """Online, or a resync is running (callers then wait for it at the gate)."""
        return self._online or self._gate.closed

    async def _write(self, change: Callable[[ClusterState], Awaitable[T]]) -> T | None:
        """Apply ``change`` to the shared state; None when Redis is unreachable (answer locally)."""
        if self._may_use_shared():
            try:
                async with self._gate.shared():
                    if self._online:
                        assert self._state is not None
                        return await change(self._state)
            except Exception as exc:  # noqa: BLE001 - never fail the caller: answer locally
                self._lost(exc)
        return None

    async def _read(self, query: Callable[[ClusterState], Awaitable[T]], local: Callable[[], T]) -> T:
        """The cluster's answer, or this node's own when Redis is unreachable."""
        if self._online:
            try:
                assert self._state is not None
                return await query(self._state)
            except Exception as exc:  # noqa: BLE001 - never fail the caller: answer locally
                self._lost(exc)
        return local()

    async def presence_join(
        self, app_id: str, channel: str, socket_id: str, member: PresenceMember, local: LocalJoin
    ) -> PresenceJoin:
        shared = await self._write(
            lambda state: state.join_presence(app_id, channel, socket_id, member.user_id, member.user_info)
        )
        if shared is None:
            first, members = local.first_local_socket_of_user, self.local_members(app_id, channel)
        else:
            first, _occupied, members = shared
        self._views.joined(app_id, channel, members)
        return PresenceJoin(first_socket_of_user=first, members=members)

    async def presence_leave(
        self, app_id: str, channel: str, socket_id: str, member: PresenceMember, local: LocalLeave
    ) -> bool:
        if local.channel_vacated:
            self._views.close(app_id, channel)
        shared = await self._write(lambda state: state.leave_presence(app_id, channel, socket_id))
        return local.member_gone is not None if shared is None else shared[0]

    async def subscribed(self, app_id: str, channel: str, socket_id: str, local: LocalJoin) -> bool:
        if local.already_subscribed:
            return False
        total = await self._write(lambda state: state.count_subscription(app_id, channel, +1))
        return local.channel_created if total is None else total == 1

    async def unsubscribed(self, app_id: str, channel: str, socket_id: str, local: LocalLeave) -> bool:
        total = await self._write(lambda state: state.count_subscription(app_id, channel, -1))
        return local.channel_vacated if total is None else total == 0

    async def presence_members(self, app_id: str, channel: str) -> dict[str, Any]:
        return await self._read(
            lambda state: state.members(app_id, channel), lambda: self.local_members(app_id, channel)
        )

    async def channel_stats(self, app_id: str, channel: str) -> ChannelStats:
        return await self._read(
            lambda state: state.channel_stats(app_id, channel), lambda: self.local_stats(app_id, channel)
        )

    async def channels(self, app_id: str) -> dict[str, ChannelStats]:
        return await self._read(lambda state: state.channels(app_id), lambda: self.local_channels(app_id))

    async def connection_count(self, app_id: str) -> int:
        local = self._hub.connection_count(app_id)
        if not self._online:
            return local
        try:
            answers = await self._ask_cluster("connections", app_id)
        except Exception as exc:  # noqa: BLE001 - never fail the caller: answer locally
            self._lost(exc)
            return local
        return local + sum(int(body) for body in answers if body.isdigit())

    async def _ask_cluster(self, question: str, app_id: str) -> list[bytes]:
        """Ask every other node; wait for all answers or the query timeout."""
        assert self._redis is not None
        request_id = uuid.uuid4().hex
        answers = self._queries[request_id] = _Answers()
        try:
            message = bus.encode(self.node_id, Kind.QUERY, request_id, question, app_id)
            receivers = int(await self._redis.publish(self.channel, message))
            answers.expect(max(0, receivers - 1))  # every subscriber but this node
            try:
                await asyncio.wait_for(answers.done.wait(), self.timing.query_timeout)
            except TimeoutError:
                log.warning(
                    "cluster query %r: %d of %s nodes answered within %.1fs",
                    question,
                    len(answers.bodies),
                    answers.expected,
                    self.timing.query_timeout,
                )
            return answers.bodies
        finally:
            del self._queries[request_id]

    def _answer(self, question: str | None, app_id: str | None) -> bytes | None:
        if question == "connections" and app_id is not None:
            return str(self._hub.connection_count(app_id)).encode()
        return None

    # -- messages ------------------------------------------------------------------------
    def publish(self, app_id: str, channel: str, payload: bytes, except_socket_id: str | None = None) -> None:
        self._deliver(app_id, channel, payload, except_socket_id)
        if self._bus_open:
            self._enqueue(bus.encode(self.node_id, Kind.MESSAGE, app_id, channel, except_socket_id, body=payload))
        else:
            self.dropped += 1

    async def terminate_user(self, app_id: str, user_id: str) -> None:
        self.terminate_local(app_id, user_id)
        self._enqueue(bus.encode(self.node_id, Kind.TERMINATE, app_id, user_id))

    def _deliver(self, app_id: str, channel: str, payload: bytes, except_socket_id: str | None) -> None:
        if not channel.startswith("presence-") or self._views.admit(app_id, channel, payload):
            self._hub.deliver(app_id, channel, payload, except_socket_id)

    def _enqueue(self, message: bytes) -> None:
        if not self._bus_open:
            self.dropped += 1
            return
        if len(self._outbox) >= MAX_OUTBOX:
            self.dropped += 1
            if self.dropped % 10_000 == 1:
                log.error("Redis is not keeping up: bus outbox full, %d messages dropped so far", self.dropped)
            return
        self._outbox.append(message)
        self._wake.set()

    async def _send_forever(self) -> None:
        """Publish queued messages; whatever queued up during one round trip goes as a batch."""
        assert self._redis is not None
        outbox = self._outbox
        while True:
            while not outbox:
                self._sent_all.set()
                self._wake.clear()
                await self._wake.wait()
            self._sent_all.clear()
            batch = [outbox.popleft() for _ in range(min(len(outbox), MAX_BATCH))]
            self._sending = True
            try:
                if len(batch) == 1:
                    await self._redis.publish(self.channel, batch[0])
                else:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for message in batch:
                            pipe.publish(self.channel, message)
                        await pipe.execute()
            except BaseException:
                self.dropped += len(batch)
                raise
            finally:
                self._sending = False

    async def _drain(self) -> None:
        while self._outbox or self._sending:
            self._sent_all.clear()
            self._wake.set()
            await self._sent_all.wait()

    async def _listen(self, pubsub: Any) -> None:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            if message is not None and message.get("type") == "message":
                self._receive(message["data"])

    def _receive(self, raw: bytes) -> None:
        try:
            msg = bus.decode(raw)
        except bus.BusDecodeError as exc:
            log.warning("ignoring a foreign message on Redis channel %r: %s", self.channel, exc)
            return
        if msg.node == self.node_id:
            return
        self.bus_lag_seconds = max(0.0, time.time() - msg.sent_at)
        try:
            self._dispatch(msg)
        except Exception:  # one bad message must not stop the listener (logged with its traceback)
            log.exception("failed to handle a %s message from node %s", msg.kind.name, msg.node)

    def _dispatch(self, msg: bus.BusMessage) -> None:
        args = msg.args
        if msg.kind is Kind.MESSAGE:
            self._deliver(str(args[0]), str(args[1]), msg.body, args[2])
        elif msg.kind is Kind.TERMINATE:
            self.terminate_local(str(args[0]), str(args[1]))
        elif msg.kind is Kind.QUERY:
            answer = self._answer(args[1], args[2])
            if answer is not None:
                self._enqueue(bus.encode(self.node_id, Kind.REPLY, args[0], msg.node, body=answer))
        elif msg.kind is Kind.REPLY and args[1] == self.node_id:
            pending = self._queries.get(str(args[0]))
            if pending is not None:
                pending.add(msg.body)


def _why(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _presence_frame(change: PresenceChange, joined: bool) -> bytes:
    if joined:
        data = {"user_id": change.user_id, "user_info": change.user_info}
        return encode_event("pusher_internal:member_added", data, change.channel)
    return encode_event("pusher_internal:member_removed", {"user_id": change.user_id}, change.channel)
