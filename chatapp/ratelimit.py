"""Per-actor sliding-window rate limits, shared by every instance when Redis is configured.

The counting is the ``limits`` library's moving window (an exact sliding log): kept in this
process's memory by default, or in Redis (``CHATAPP_REDIS_URL``) so that three instances
behind a load balancer enforce one limit, not three. Every call is async because a Redis
round trip may sit behind it.

When Redis cannot be reached the limiter lets the action through and logs it: a limit is a
flood guard, and an outage of the guard must not become an outage of the chat.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Hashable

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from chatapp.config import RateLimit
from chatapp.errors import TooManyRequests

__all__ = ["RateLimiter", "LimitWindow", "limit_storage"]

log = logging.getLogger("chatapp.ratelimit")


def limit_storage(redis_url: str = "", prefix: str = "chatapp") -> Storage:
    """Redis storage when ``redis_url`` is set (shared by all instances), else this process's memory."""
    if redis_url:
        return RedisStorage(_limits_uri(redis_url), wrap_exceptions=True, implementation="redispy",
                            key_prefix=f"{prefix}:limits")
    return MemoryStorage()


def _limits_uri(redis_url: str) -> str:
    """``limits`` names its async backends ``async+redis://`` / ``async+rediss://``."""
    return redis_url if redis_url.startswith("async+") else f"async+{redis_url}"


def _item(limit: RateLimit) -> RateLimitItem:
    # ``limits`` counts whole seconds; a fractional window is rounded up (never looser).
    return RateLimitItemPerSecond(limit.count, max(1, math.ceil(limit.seconds)))


def _identifiers(key: Hashable) -> tuple[str, ...]:
    parts = key if isinstance(key, tuple) else (key,)
    return tuple(str(part) for part in parts)


class LimitWindow:
    """The sliding-window primitives both :class:`RateLimiter` and the sign-in throttle use."""

    def __init__(self, storage: Storage | None = None) -> None:
        self.storage = storage if storage is not None else MemoryStorage()
        self._window = MovingWindowRateLimiter(self.storage)

    async def add(self, key: Hashable, limit: RateLimit) -> None:
        """Count one action now, whatever the count already is."""
        try:
            await self._window.hit(_item(limit), *_identifiers(key))
        except StorageError as exc:
            log.warning("rate limit store unavailable, action not counted: %s", exc)

    async def used(self, key: Hashable, limit: RateLimit) -> tuple[int, float]:
        """(actions in the window, seconds until the oldest of them leaves it)."""
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
