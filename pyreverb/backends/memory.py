"""The default backend: one process, state read straight from the local hub."""

from __future__ import annotations

from typing import Any

from pyreverb.backends.base import Backend, ChannelStats, PresenceJoin
from pyreverb.hub import Hub, LocalChannel, LocalJoin, LocalLeave
from pyreverb.protocol.channels import ChannelKind, PresenceMember

__all__ = ["MemoryBackend"]


def _stats(channel: LocalChannel) -> ChannelStats:
    users = len(channel.user_sockets) if channel.kind is ChannelKind.PRESENCE else None
    return ChannelStats(subscription_count=len(channel.subscribers), user_count=users)


class MemoryBackend(Backend):
    @property
    def _hub(self) -> Hub:
        assert self.hub is not None, "backend not bound to a hub"
        return self.hub

    def publish(self, app_id: str, channel: str, payload: bytes, except_socket_id: str | None = None) -> None:
        self._hub.deliver(app_id, channel, payload, except_socket_id)

    async def terminate_user(self, app_id: str, user_id: str) -> None:
        for sub in self._hub.connections_of_user(app_id, user_id):
            sub.close(4009, "Connection terminated by the server")

    async def presence_join(
        self, app_id: str, channel: str, socket_id: str, member: PresenceMember, local: LocalJoin
    ) -> PresenceJoin:
        return PresenceJoin(
            first_socket_of_user=local.first_local_socket_of_user,
            members=await self.presence_members(app_id, channel),
        )

    async def presence_leave(
        self, app_id: str, channel: str, socket_id: str, member: PresenceMember, local: LocalLeave
    ) -> bool:
        return local.member_gone is not None

    async def presence_members(self, app_id: str, channel: str) -> dict[str, Any]:
        ch = self._hub.channel(app_id, channel)
        if ch is None:
            return {}
        return {uid: m.user_info for uid, m in ch.members.items()}

    async def channel_stats(self, app_id: str, channel: str) -> ChannelStats:
        ch = self._hub.channel(app_id, channel)
        if ch is None:
            return ChannelStats(0, 0 if channel.startswith("presence-") else None)
        return _stats(ch)

    async def channels(self, app_id: str) -> dict[str, ChannelStats]:
        return {name: _stats(ch) for name, ch in self._hub.channels(app_id).items()}

    async def connection_count(self, app_id: str) -> int:
        return self._hub.connection_count(app_id)
