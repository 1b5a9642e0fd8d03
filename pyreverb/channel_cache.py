"""The last event of each cache channel, replayed to new subscribers.

In-process by default; in Redis when scaling is on, so every node replays the
same last event. ``put`` never blocks the caller.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from pyreverb.config import Settings

if TYPE_CHECKING:  # redis is imported only when scaling is on
    from redis.asyncio import Redis

__all__ = ["ChannelCache", "MemoryChannelCache", "RedisChannelCache", "create_channel_cache"]

log = logging.getLogger("pyreverb.cache")


class ChannelCache:
    def put(self, app_id: str, channel: str, payload: bytes, ttl: float) -> None:
        raise NotImplementedError

    async def get(self, app_id: str, channel: str) -> bytes | None:
        raise NotImplementedError

    async def close(self) -> None:
        """Release connections."""


class MemoryChannelCache(ChannelCache):
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[float, bytes]] = {}

    def put(self, app_id: str, channel: str, payload: bytes, ttl: float) -> None:
        self._entries[(app_id, channel)] = (time.monotonic() + ttl, payload)
        if len(self._entries) > 10_000:
            self._evict_expired()

    async def get(self, app_id: str, channel: str) -> bytes | None:
        entry = self._entries.get((app_id, channel))
        if entry is None:
            return None
        expires, payload = entry
        if expires < time.monotonic():
            del self._entries[(app_id, channel)]
            return None
        return payload

    def _evict_expired(self) -> None:
        now = time.monotonic()
        for key in [k for k, (exp, _) in self._entries.items() if exp < now]:
            del self._entries[key]


class RedisChannelCache(ChannelCache):
    """Shared cache: ``SET key payload PX ttl`` / ``GET``."""

    def __init__(self, url: str, namespace: str) -> None:
        import redis.asyncio as aioredis

        self._redis: Redis = aioredis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._namespace = namespace
        self._pending: set[asyncio.Task[None]] = set()

    def _key(self, app_id: str, channel: str) -> str:
        return f"{self._namespace}:cache:{app_id}:{channel}"

    def put(self, app_id: str, channel: str, payload: bytes, ttl: float) -> None:
        task = asyncio.get_running_loop().create_task(self._put(self._key(app_id, channel), payload, ttl))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _put(self, key: str, payload: bytes, ttl: float) -> None:
        try:
            await self._redis.set(key, payload, px=max(1, int(ttl * 1000)))
        except Exception as exc:  # noqa: BLE001 - Redis down must not break triggers
            log.warning("cache channel write failed: %s", exc)

    async def get(self, app_id: str, channel: str) -> bytes | None:
        try:
            value = await self._redis.get(self._key(app_id, channel))
        except Exception as exc:  # noqa: BLE001 - Redis down reads as a cache miss
            log.warning("cache channel read failed: %s", exc)
            return None
        if value is None:
            return None
        return value if isinstance(value, bytes) else value.encode()  # bytes unless decode_responses is set

    async def close(self) -> None:
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=1)
        await self._redis.aclose()


def create_channel_cache(settings: Settings) -> ChannelCache:
    if settings.scaling_enabled:
        return RedisChannelCache(settings.redis_url, settings.scaling_channel)
    return MemoryChannelCache()
