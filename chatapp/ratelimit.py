"""Per-actor sliding-window rate limits, kept in memory.

Each chatapp process counts on its own; behind a load balancer that pins a
client to one instance (or with few instances) that is what one wants from a
flood guard: it stops a runaway client, it is not a quota.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable

from chatapp.config import RateLimit
from chatapp.errors import TooManyRequests

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._hits: dict[Hashable, deque[float]] = {}
        self._max_keys = max_keys

    def hit(self, key: Hashable, limit: RateLimit, what: str) -> None:
        """Count one action; raise :class:`TooManyRequests` past the limit."""
        self.check(key, limit, what)
        self._hits[key].append(self._clock())

    def check(self, key: Hashable, limit: RateLimit, what: str) -> None:
        """Raise :class:`TooManyRequests` when ``key`` is at its limit, without counting an action.

        With :meth:`hit` after the fact it counts only some outcomes (failed sign-ins).
        """
        now = self._clock()
        window = self._hits.get(key)
        if window is None:
            if len(self._hits) >= self._max_keys:
                self._evict(now)
            window = self._hits[key] = deque()
        while window and window[0] <= now - limit.seconds:
            window.popleft()
        if len(window) >= limit.count:
            retry = window[0] + limit.seconds - now
            raise TooManyRequests(
                f"Too many {what}: at most {limit.count} per {limit.seconds:g} seconds; retry in {max(1, round(retry))}s",
                retry_after=retry,
            )

    def forget(self, key: Hashable) -> None:
        self._hits.pop(key, None)

    def _evict(self, now: float) -> None:
        """Drop idle keys (a window whose last hit is over an hour old), else the oldest."""
        idle = [k for k, w in self._hits.items() if not w or w[-1] < now - 3600]
        for key in idle or list(self._hits)[: len(self._hits) // 10 + 1]:
            del self._hits[key]
