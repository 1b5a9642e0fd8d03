"""Per-actor sliding-window rate limits, shared by every instance when Redis is configured.

The counting is an exact sliding log: in Redis (``CHATAPP_REDIS_URL``) through the ``limits``
library's moving window, so that three instances behind a load balancer enforce one limit, not
three; without Redis in this process's memory (:class:`LocalLog`). Every call is async because
a Redis round trip may sit behind it.

When Redis cannot be reached the limiter lets the action through and logs it: a limit is a
flood guard, and an outage of the guard must not become an outage of the chat.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Hashable

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from chatapp.config import RateLimit
from chatapp.errors import TooManyRequests

__all__ = ["RateLimiter", "LimitWindow", "LocalLog", "limit_storage"]

log = logging.getLogger("chatapp.ratelimit")


def limit_storage(redis_url: str = "", prefix: str = "chatapp") -> Storage | None:
    """Redis storage when ``redis_url`` is set (shared by all instances); None: this process's memory."""
    if redis_url:
        return RedisStorage(_limits_uri(redis_url), wrap_exceptions=True, implementation="redispy",
                            key_prefix=f"{prefix}:limits")
    return None


def _limits_uri(redis_url: str) -> str:
    """``limits`` names its async backends ``async+redis://`` / ``async+rediss://``."""
    return redis_url if redis_url.startswith("async+") else f"async+{redis_url}"


def _item(limit: RateLimit) -> RateLimitItem:
    # ``limits`` counts whole seconds; a fractional window is rounded up (never looser).
    return RateLimitItemPerSecond(limit.count, max(1, math.ceil(limit.seconds)))


def _identifiers(key: Hashable) -> tuple[str, ...]:
    parts = key if isinstance(key, tuple) else (key,)
    return tuple(str(part) for part in parts)


def _seconds(limit: RateLimit) -> int:
    return max(1, math.ceil(limit.seconds))  # whole seconds, as ``limits`` counts them


class LocalLog:
    """This process's sliding log: the times of the actions in each window, oldest first.

    In place of ``limits``' async memory storage, which sweeps expired entries with one
    ``asyncio.to_thread`` call per key and starts a sweep again after nearly every hit: with
    400 visitors writing, that was 18 % of chatapp's CPU per message. Here a key's old entries
    go when the key is next used, and keys left idle are dropped by a sweep at most once every
    :data:`SWEEP_EVERY` seconds.
    """

    SWEEP_EVERY = 60.0

    def __init__(self) -> None:
        self._logs: dict[tuple[tuple[str, ...], int, int], deque[float]] = {}  # (key, count, seconds)
        self._next_sweep = time.monotonic() + self.SWEEP_EVERY

    def add(self, key: Hashable, limit: RateLimit) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._sweep(now)
        name = self._name(key, limit)
        log = self._logs.get(name)
        if log is None:
            log = self._logs[name] = deque()
        self._trim(log, _seconds(limit), now)
        log.append(now)

    def used(self, key: Hashable, limit: RateLimit) -> tuple[int, float]:
        log = self._logs.get(self._name(key, limit))
        if not log:
            return 0, 0.0
        now, seconds = time.monotonic(), _seconds(limit)
        self._trim(log, seconds, now)
        return len(log), max(0.0, log[0] + seconds - now) if log else 0.0

    def clear(self, key: Hashable, limit: RateLimit) -> None:
        self._logs.pop(self._name(key, limit), None)

    def __len__(self) -> int:
        """Keys held (for tests: idle ones are swept)."""
        return len(self._logs)

    @staticmethod
    def _name(key: Hashable, limit: RateLimit) -> tuple[tuple[str, ...], int, int]:
        return _identifiers(key), limit.count, _seconds(limit)

    @staticmethod
    def _trim(log: deque[float], seconds: int, now: float) -> None:
        while log and log[0] <= now - seconds:
            log.popleft()

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self.SWEEP_EVERY
        idle = [name for name, log in self._logs.items() if not log or log[-1] <= now - name[2]]
        for name in idle:
            del self._logs[name]


class LimitWindow:
    """The sliding-window primitives both :class:`RateLimiter` and the sign-in throttle use:
    in ``storage`` (Redis, through ``limits``) when given, else in this process (:class:`LocalLog`)."""

    def __init__(self, storage: Storage | None = None) -> None:
        self.storage = storage
        self._local = LocalLog() if storage is None else None
        self._window = MovingWindowRateLimiter(storage) if storage is not None else None

    async def add(self, key: Hashable, limit: RateLimit) -> None:
        """Count one action now, whatever the count already is."""
        if self._local is not None:
            self._local.add(key, limit)
            return
        assert self._window is not None
        try:
            await self._window.hit(_item(limit), *_identifiers(key))
        except StorageError as exc:
            log.warning("rate limit store unavailable, action not counted: %s", exc)

    async def used(self, key: Hashable, limit: RateLimit) -> tuple[int, float]:
        """(actions in the window, seconds until the oldest of them leaves it)."""
        if self._local is not None:
            return self._local.used(key, limit)
        assert self._window is not None
        item = _item(limit)
        try:
            stats = await self._window.get_window_stats(item, *_identifiers(key))
        except StorageError as exc:
            log.warning("rate limit store unavailable, limit not checked: %s", exc)
            return 0, 0.0
        count = item.amount - stats.remaining
        return count, max(0.0, stats.reset_time - time.time()) if count else 0.0

    async def close(self) -> None:
        """Close the Redis connections (``limits`` has no close of its own; memory needs none)."""
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        if client is not None and hasattr(client, "aclose"):
            await client.aclose()

    async def clear(self, key: Hashable, limit: RateLimit) -> None:
        if self._local is not None:
            self._local.clear(key, limit)
            return
        assert self._window is not None
        try:
            await self._window.clear(_item(limit), *_identifiers(key))
        except StorageError as exc:
            log.warning("rate limit store unavailable, window not cleared: %s", exc)


class RateLimiter:
    """``hit`` counts and refuses past the limit; ``check`` refuses without counting."""

    def __init__(self, storage: Storage | None = None) -> None:
        self.window = LimitWindow(storage)

    async def hit(self, key: Hashable, limit: RateLimit, what: str) -> None:
        """Count one action; raise :class:`TooManyRequests` past the limit."""
        await self.check(key, limit, what)
        await self.window.add(key, limit)

    async def check(self, key: Hashable, limit: RateLimit, what: str) -> None:
        """Raise :class:`TooManyRequests` when ``key`` is at its limit, without counting an action.

        With :meth:`hit` after the fact it counts only some outcomes (failed sign-ins).
        """
        count, retry = await self.window.used(key, limit)
        if count >= limit.count:
            raise TooManyRequests(
                f"Too many {what}: at most {limit.count} per {limit.seconds:g} seconds; "
                f"retry in {max(1, round(retry))}s",
                retry_after=retry,
            )

    async def forget(self, key: Hashable, limit: RateLimit) -> None:
        await self.window.clear(key, limit)
