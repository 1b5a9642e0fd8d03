"""Scaling over Redis: the connection that the bus and the cluster state share.

:class:`RedisBackend` is a :class:`~pyreverb.backends.redis_bus.RedisBus` and a
:class:`~pyreverb.backends.redis_state.RedisState` on one connection pool. It
connects, subscribes, has the state rewrite this node's share (resync), then
runs the listener, the sender and the heartbeat until one of them fails; then
it reports DEGRADED, backs off and connects again. While Redis is unreachable
the node serves its own sockets alone. See docs/scaling.md and docs/backends.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from pyreverb.backends.base import Backend
from pyreverb.backends.presence_view import PresenceViews
from pyreverb.backends.redis_bus import RedisBus
from pyreverb.backends.redis_state import RedisState
from pyreverb.config import ClusterTiming, ConfigError, Settings

# ClusterTiming lives in the settings; named here too for code that builds a backend by hand.
__all__ = ["RedisBackend", "ClusterTiming", "redacted"]

log = logging.getLogger("pyreverb.scaling")

# What a lost or refused Redis connection raises through redis-py.
REDIS_DOWN = (RedisError, OSError, asyncio.TimeoutError)
# A burst of subscriptions waits for one of these instead of opening a connection each.
MAX_REDIS_CONNECTIONS = 32


def redacted(url: str) -> str:
    """The Redis URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RedisBackend(Backend):
    bus: RedisBus
    state: RedisState

    def __init__(self, settings: Settings, timing: ClusterTiming | None = None) -> None:
        self.url = settings.redis_url
        self.timing = timing or settings.cluster
        views = PresenceViews()  # shared: the bus filters by it, the state repairs it
        redis_bus = RedisBus(settings.node_id or None, settings.scaling_channel, views, self.timing.query_timeout)
        state = RedisState(settings.scaling_channel, self.timing, redis_bus, views)
        state.lost = self._lost
        super().__init__(redis_bus, state)
        self._redis: Redis | None = None
        self._broken = asyncio.Event()
        self._first_attempt = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False
        self._offline_since: float | None = None
        self._dropped_before_outage = 0

    @property
    def bus_lag_seconds(self) -> float:
        """Age of the last message from another node when it arrived."""
        return self.bus.bus_lag_seconds

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
        self._redis = self.bus.redis = Redis.from_pool(pool)
        self.state.attach(self._redis)
        self._runner = asyncio.create_task(self._run(), name="pyreverb-redis")
        # A node that starts while Redis is up is ready at once; if Redis is down it
        # starts anyway (DEGRADED) and keeps trying in the background.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_attempt.wait(), 2 * t + 1)

    async def stop(self) -> None:
        """Withdraw this node's share of the state, send what is queued, disconnect."""
        self._stopping = True
        if self.state.online:
            # The hub is empty by now; anything still listed for this node is withdrawn.
            try:
                await asyncio.wait_for(self.state.withdraw(), self.timing.redis_timeout)
            except Exception as exc:  # noqa: BLE001 - best effort on the way out
                log.warning("could not withdraw node %s from the cluster: %s", self.node_id, _why(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.bus.drain(), self.timing.redis_timeout)
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        if self._redis is not None:
            with contextlib.suppress(*REDIS_DOWN):
                await self._redis.aclose()

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
                self._first_attempt.set()
            if self._stopping:
                break
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, self.timing.backoff_max)

    async def _connect_and_serve(self) -> None:
        assert self._redis is not None
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.bus.channel)
            self._broken.clear()
            self.bus.open = True
            await self.state.resync()
            self._came_back()
            self._first_attempt.set()
            tasks = [
                asyncio.create_task(self.bus.listen(pubsub), name="pyreverb-redis-listen"),
                asyncio.create_task(self.bus.send_forever(), name="pyreverb-redis-send"),
                asyncio.create_task(self.state.heartbeat_forever(), name="pyreverb-redis-heartbeat"),
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
            self.state.online = self.bus.open = False
            with contextlib.suppress(*REDIS_DOWN, RuntimeError):
                await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # unannotated before redis-py 8.2
            # Fail commands still waiting on dead sockets so they fall back to local answers.
            with contextlib.suppress(*REDIS_DOWN):
                await self._redis.connection_pool.disconnect()

    def _went_offline(self, exc: BaseException, retry_in: float) -> None:
        lost = self.bus.shut()
        if self._offline_since is None:
            self._offline_since = time.monotonic()
            self._dropped_before_outage = self.bus.dropped - lost
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
            self.bus.dropped - self._dropped_before_outage,
        )

    def _lost(self, exc: BaseException) -> None:
        """A command failed: answer locally from now on and let the runner reconnect."""
        if not isinstance(exc, REDIS_DOWN):
            # redis-py can surface a connection torn down mid-command as other errors
            log.warning("Redis command failed unexpectedly", exc_info=exc)
        self.state.online = False
        self.bus.open = False
        self._broken.set()


def _why(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
