"""The default backend: one process, every answer read straight from the local hub.

:class:`MemoryState` is also what a scaled node answers with while its shared
state is unreachable: this node's share, which is then all it can know.
"""

from __future__ import annotations

from typing import Any

from pyreverb.backends.base import Backend, Bus, ChannelStats, ClusterState, PresenceJoin, PresenceLeave
from pyreverb.hub import LocalChannel, LocalJoin, LocalLeave
from pyreverb.protocol.channels import ChannelKind, PresenceMember, channel_kind

__all__ = ["MemoryBackend", "MemoryBus", "MemoryState"]


class MemoryBus(Bus):
    def publish(self, app_id: str, channel: str, payload: bytes, except_socket_id: str | None = None) -> None:
        self._hub.deliver(app_id, channel, payload, except_socket_id)

    async def terminate_user(self, app_id: str, user_id: str) -> None:
        self.terminate_local(app_id, user_id)


class MemoryState(ClusterState):
    """This node's share of the cluster state (the whole of it on a single node)."""

    async def subscribed(self, app_id: str, channel: str, socket_id: str, local: LocalJoin) -> bool:
        return local.channel_created

    async def unsubscribed(self, app_id: str, channel: str, socket_id: str, local: LocalLeave) -> bool:
        return local.channel_vacated

    async def presence_join(
        self, app_id: str, channel: str, socket_id: str, member: PresenceMember, local: LocalJoin
    ) -> PresenceJoin:
        return PresenceJoin(local.first_local_socket_of_user, local.channel_created, self.members(app_id, channel))

    async def presence_leave(
        self, app_id: str, channel: str, socket_id: str, member: PresenceMember, local: LocalLeave
    ) -> PresenceLeave:
        return PresenceLeave(local.member_gone is not None, local.channel_vacated)

    async def presence_members(self, app_id: str, channel: str) -> dict[str, Any]:
        return self.members(app_id, channel)

    async def channel_stats(self, app_id: str, channel: str) -> ChannelStats:
        return self.stats(app_id, channel)

    async def channels(self, app_id: str) -> dict[str, ChannelStats]:
        return self.all_stats(app_id)

    async def connection_count(self, app_id: str) -> int:
        return self._hub.connection_count(app_id)

    # -- the same answers without awaiting -------------------------------------------
    def members(self, app_id: str, channel: str) -> dict[str, Any]:
        ch = self._hub.channel(app_id, channel)
        if ch is None:
            return {}
        return dict(ch.member_info)  # a copy: callers may keep it across awaits

    def stats(self, app_id: str, channel: str) -> ChannelStats:
        ch = self._hub.channel(app_id, channel)
        if ch is None:
            return ChannelStats(0, 0 if channel_kind(channel) is ChannelKind.PRESENCE else None)
        return _stats(ch)

    def all_stats(self, app_id: str) -> dict[str, ChannelStats]:
        return {name: _stats(ch) for name, ch in self._hub.channels(app_id).items()}


class MemoryBackend(Backend):
    def __init__(self) -> None:
        super().__init__(MemoryBus(), MemoryState())


def _stats(channel: LocalChannel[Any]) -> ChannelStats:
    users = len(channel.user_sockets) if channel.kind is ChannelKind.PRESENCE else None
    return ChannelStats(subscription_count=len(channel.subscribers), user_count=users)
