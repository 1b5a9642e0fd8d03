"""`pyreverb restart`: ask every running node to drain and exit, as `reverb:restart` does.

The signal is a timestamp in a file (nodes on this machine) and, when scaling is
on, in a Redis key (nodes anywhere). A node that sees a timestamp newer than its
own start drains (clients get 4200) and exits 0, so its supervisor starts it again.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from pyreverb.config import Settings

if TYPE_CHECKING:  # redis is imported only when scaling is on
    from redis.asyncio import Redis

__all__ = ["request_restart", "RestartWatch", "RestartError"]

log = logging.getLogger("pyreverb.restart")


def _redis_key(settings: Settings) -> str:
    return f"{settings.scaling_channel}:restart"


def request_restart(settings: Settings) -> list[str]:
    """Record the restart request everywhere nodes look; return where it went."""
    now = f"{time.time():.6f}"
    path = settings.restart_file
    done = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(now)
        done.append(str(path))
    except OSError as exc:
        raise RestartError(f"cannot write the restart file {path}: {exc} (set PYREVERB_RESTART_FILE)") from exc
    if settings.scaling_enabled:
        import redis

        from pyreverb.backends.redis import redacted

        client = redis.Redis.from_url(settings.redis_url, socket_timeout=3)
        try:
            client.set(_redis_key(settings), now, ex=3600)
        except redis.RedisError as exc:
            raise RestartError(f"restart file written, but Redis is unreachable: {exc}") from exc
        finally:
            client.close()
        done.append(f"Redis key {_redis_key(settings)} at {redacted(settings.redis_url)}")
    return done


class RestartError(RuntimeError):
    """The restart request could not be recorded; the message says where."""


class RestartWatch:
    """Polled by the node's sweeper; True once a restart newer than start was asked."""

    def __init__(self, settings: Settings, started_at: float) -> None:
        self.settings = settings
        self.started_at = started_at
        self.path = settings.restart_file
        self._redis: Redis | None = None
        if settings.scaling_enabled:
            import redis.asyncio as aioredis

            self._redis = aioredis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)

    async def requested(self) -> bool:
        stamps = []
        try:
            stamps.append(float(self.path.read_text().strip() or 0))
        except (OSError, ValueError):
            pass
        if self._redis is not None:
            try:
                raw = await self._redis.get(_redis_key(self.settings))
                if raw:
                    stamps.append(float(raw))
            except Exception:  # noqa: BLE001 - Redis down: the file still works
                pass
        return any(stamp > self.started_at for stamp in stamps)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
