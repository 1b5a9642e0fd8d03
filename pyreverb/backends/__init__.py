"""Pub/sub backends: one contract, an in-process one and a Redis one."""

from __future__ import annotations

from pyreverb.backends.base import Backend, ChannelStats, PresenceJoin

__all__ = ["Backend", "ChannelStats", "PresenceJoin", "create_backend"]


def create_backend(settings: object) -> Backend:
    """Pick the backend the settings ask for (Reverb's REVERB_SCALING_ENABLED)."""
    from pyreverb.config import Settings

    assert isinstance(settings, Settings)
    if settings.scaling_enabled:
        from pyreverb.backends.redis import RedisBackend

        return RedisBackend(settings)
    from pyreverb.backends.memory import MemoryBackend

    return MemoryBackend()
