"""The default backend: one process, state read straight from the local hub."""

from __future__ import annotations

from typing import Any

from pyreverb.backends.base import Backend, ChannelStats, PresenceJoin
from pyreverb.hub import LocalJoin, LocalLeave
from pyreverb.protocol.channels import PresenceMember

__all__ = ["MemoryBackend"]


class MemoryBackend(Backend):
    def publish(self, app_id: str, channel: str, payload: bytes, except_socket_id: str | None = None) -> None:
        self._hub.deliver(app_id, channel, payload, except_socket_id)

    async def terminate_user(self, app_id: str, user_id: str) -> None:
        self.terminate_local(app_id, user_id)

    async def presence_join(
        self, app_id: str, channel: str, socket_id: str, member: PresenceMember, local: LocalJoin
    ) -> PresenceJoin:
        return PresenceJoin(
            first_socket_of_user=local.first_local_socket_of_user,
            members=self.local_members(app_id, channel),
        )

    async def presence_leave(
        self, app_id: str, channel: str, socket_id: str, member: PresenceMember, local: LocalLeave
    ) -> bool:
        return local.member_gone is not None

    async def presence_members(self, app_id: str, channel: str) -> dict[str, Any]:
        return self.local_members(app_id, channel)

    async def channel_stats(self, app_id: str, channel: str) -> ChannelStats:
        return self.local_stats(app_id, channel)

    async def channels(self, app_id: str) -> dict[str, ChannelStats]:
        return self.local_channels(app_id)

    async def connection_count(self, app_id: str) -> int:
        return self._hub.connection_count(app_id)
