"""The contract between the server and its pub/sub + cluster-state backend.

The server keeps local subscriptions in the :class:`~pyreverb.hub.Hub`; the
backend fans messages out to every node and answers questions that span the
cluster (presence members, channel counts, connection counts).
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyreverb.hub import AnyHub, LocalChannel, LocalJoin, LocalLeave
from pyreverb.protocol.channels import ChannelKind, PresenceMember, channel_kind

__all__ = ["Backend", "ChannelStats", "PresenceJoin"]


@dataclass(frozen=True, slots=True)
class ChannelStats:
    subscription_count: int
    user_count: int | None = None  # presence channels only


@dataclass(frozen=True, slots=True)
class PresenceJoin:
    first_socket_of_user: bool
    members: dict[str, Any]  # user id -> user_info, cluster-wide


class Backend(ABC):
    """One node's view of the cluster. Methods are called on the event loop."""

    def __init__(self) -> None:
        self.node_id = uuid.uuid4().hex[:12]
        self.hub: AnyHub | None = None

    def bind(self, hub: AnyHub) -> None:
        self.hub = hub

    # Set by the server: a presence member vanished without a local leave (a dead
    # node's members removed by this node), so webhooks can still report it.
    on_member_gone: Callable[[str, str, str], None] | None = None

    def member_gone(self, app_id: str, channel: str, user_id: str) -> None:
        if self.on_member_gone is not None:
            self.on_member_gone(app_id, channel, user_id)

    @property
    def _hub(self) -> AnyHub:
        assert self.hub is not None, "backend not bound to a hub"
        return self.hub

    async def start(self) -> None:  # noqa: B027 - an optional hook: the in-process backend has nothing to start
        """Connect and begin listening; must not raise when the bus is down."""

    async def stop(self) -> None:  # noqa: B027 - an optional hook, as start
        """Stop listening and forget this node's shared state."""

    @property
    def healthy(self) -> bool:
        return True

    # -- messages ----------------------------------------------------------------
    @abstractmethod
    def publish(self, app_id: str, channel: str, payload: bytes, except_socket_id: str | None = None) -> None:
        """Deliver ``payload`` to the channel's subscribers on every node; never blocks."""

    @abstractmethod
    async def terminate_user(self, app_id: str, user_id: str) -> None:
        """Close every connection of ``user_id`` on every node."""

    # -- cluster state ---------------------------------------------------------------
    async def subscribed(self, app_id: str, channel: str, socket_id: str, local: LocalJoin) -> bool:
        """A local socket joined a (non-presence) channel; True when it became occupied cluster-wide."""
        return local.channel_created

    async def unsubscribed(self, app_id: str, channel: str, socket_id: str, local: LocalLeave) -> bool:
        """A local socket left a (non-presence) channel; True when it became vacant cluster-wide."""
        return local.channel_vacated

    @abstractmethod
    async def presence_join(
        self, app_id: str, channel: str, socket_id: str, member: PresenceMember, local: LocalJoin
    ) -> PresenceJoin: ...

    @abstractmethod
    async def presence_leave(
        self, app_id: str, channel: str, socket_id: str, member: PresenceMember, local: LocalLeave
    ) -> bool:
        """Return True when the user's last socket anywhere left the channel."""

    @abstractmethod
    async def presence_members(self, app_id: str, channel: str) -> dict[str, Any]: ...

    @abstractmethod
    async def channel_stats(self, app_id: str, channel: str) -> ChannelStats: ...

    @abstractmethod
    async def channels(self, app_id: str) -> dict[str, ChannelStats]:
        """Every occupied channel of the app."""

    @abstractmethod
    async def connection_count(self, app_id: str) -> int: ...

    # -- this node's share, read from the hub (the whole answer on a single node) -----
    def local_members(self, app_id: str, channel: str) -> dict[str, Any]:
        ch = self._hub.channel(app_id, channel)
        if ch is None:
            return {}
        return {uid: m.user_info for uid, m in ch.members.items()}

    def local_stats(self, app_id: str, channel: str) -> ChannelStats:
        ch = self._hub.channel(app_id, channel)
        if ch is None:
            return ChannelStats(0, 0 if channel_kind(channel) is ChannelKind.PRESENCE else None)
        return _stats(ch)

    def local_channels(self, app_id: str) -> dict[str, ChannelStats]:
        return {name: _stats(ch) for name, ch in self._hub.channels(app_id).items()}

    def terminate_local(self, app_id: str, user_id: str) -> int:
        """Close the user's sockets on this node (4009, as Pusher does)."""
        subs = self._hub.connections_of_user(app_id, user_id)
        for sub in subs:
            sub.close(4009, "Connection terminated by the server")
        return len(subs)


def _stats(channel: LocalChannel[Any]) -> ChannelStats:
    users = len(channel.user_sockets) if channel.kind is ChannelKind.PRESENCE else None
    return ChannelStats(subscription_count=len(channel.subscribers), user_count=users)
