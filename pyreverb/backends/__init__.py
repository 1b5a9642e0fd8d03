"""Backends: a bus and a cluster state; an in-process pair and a Redis pair."""

from __future__ import annotations

from pyreverb.backends.base import Backend, Bus, ChannelStats, ClusterState, PresenceJoin, PresenceLeave
from pyreverb.config import Settings

__all__ = ["Backend", "Bus", "ClusterState", "ChannelStats", "PresenceJoin", "PresenceLeave", "create_backend"]


def create_backend(settings: Settings) -> Backend:
    """Pick the backend the settings ask for (Reverb's REVERB_SCALING_ENABLED)."""
    if settings.scaling_enabled:
        from pyreverb.backends.redis import RedisBackend

        return RedisBackend(settings)
    from pyreverb.backends.memory import MemoryBackend

    return MemoryBackend()
