"""Pub/sub backends: one contract, an in-process one and a Redis one."""

from __future__ import annotations

from pyreverb.backends.base import Backend, ChannelStats, PresenceJoin
from pyreverb.config import Settings

__all__ = ["Backend", "ChannelStats", "PresenceJoin", "create_backend"]


def create_backend(settings: Settings) -> Backend:
    """Pick the backend the settings ask for (Reverb's REVERB_SCALING_ENABLED)."""
    if settings.scaling_enabled:
        from pyreverb.backends.redis import RedisBackend

        return RedisBackend(settings)
    from pyreverb.backends.memory import MemoryBackend

    return MemoryBackend()
