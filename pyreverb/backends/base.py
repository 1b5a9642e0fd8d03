"""The backend contract: a bus between the nodes, and the state only the cluster knows.

The server keeps local subscriptions in the :class:`~pyreverb.hub.Hub`. A
:class:`Backend` is two small parts started and stopped together:

* a :class:`Bus` carries already-encoded frames (and user terminations) to
  every node, this one included;
* a :class:`ClusterState` answers what spans the cluster: whether a channel
  just became occupied or vacant, whether a presence user's first or last
  socket anywhere joined or left, members, counts.

The state answers facts; what follows from them (``member_added``,
``channel_occupied`` and the rest, events and webhooks) is decided in
:mod:`pyreverb.occupancy`. See docs/backends.md.
"""

from __future__ import annotations

import enum
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pyreverb.hub import AnyHub, LocalJoin, LocalLeave
from pyreverb.protocol.channels import PresenceMember

__all__ = [
    "Backend",
    "Bus",
    "ClusterState",
    "ChannelStats",
    "PresenceJoin",
    "PresenceLeave",
    "PresenceChange",
    "Cause",
    "OnMembersChanged",
]


@dataclass(frozen=True, slots=True)
class ChannelStats:
    subscription_count: int
    user_count: int | None = None  # presence channels only


@dataclass(frozen=True, slots=True)
class PresenceJoin:
    first_socket_of_user: bool  # the user's first socket in the channel anywhere
    channel_occupied: bool  # the channel's first subscriber anywhere
    members: dict[str, Any]  # user id -> user_info, cluster-wide, the joiner included


@dataclass(frozen=True, slots=True)
class PresenceLeave:
    last_socket_of_user: bool  # the user's last socket in the channel anywhere left
    channel_vacated: bool  # the channel's last subscriber anywhere left


@dataclass(frozen=True, slots=True)
class PresenceChange:
    """A presence member who appeared or vanished cluster-wide without a local join or leave."""

    app_id: str
    channel: str
    user_id: str
    user_info: Any = None
    joined: bool = False


class Cause(enum.Enum):
    """Why the shared state changed under this node (see :class:`ClusterState`)."""

    REAPED = "reaped"  # a dead node's share was removed by this node: events and webhooks
    RESYNC = "resync"  # this node rewrote its share after an outage: events only
    WITHDRAWN = "withdrawn"  # this node withdrew its share on shutdown: events only
    REPAIR = "repair"  # this node's sockets missed these while it was away: events to them only


OnMembersChanged = Callable[[Sequence[PresenceChange], Cause], None]


class _OnHub:
    """A part that reads this node's hub (bound once, by the server)."""

    def __init__(self) -> None:
        self.hub: AnyHub | None = None

    def bind(self, hub: AnyHub) -> None:
        self.hub = hub

    @property
    def _hub(self) -> AnyHub:
        assert self.hub is not None, f"{type(self).__name__} not bound to a hub"
        return self.hub


class Bus(_OnHub, ABC):
    """Carries frames to every node. Methods are called on the event loop and never block."""

    def __init__(self, node_id: str | None = None) -> None:
        super().__init__()
        self.node_id = node_id or uuid.uuid4().hex[:12]

    @property
    def healthy(self) -> bool:
        """True while messages from other nodes can arrive."""
        return True

    @abstractmethod
    def publish(self, app_id: str, channel: str, payload: bytes, except_socket_id: str | None = None) -> None:
        """Deliver ``payload`` to the channel's subscribers on every node but one socket; never blocks."""

    @abstractmethod
    async def terminate_user(self, app_id: str, user_id: str) -> None:
        """Close every connection of ``user_id`` on every node."""

    def terminate_local(self, app_id: str, user_id: str) -> int:
        """Close the user's sockets on this node (4009, as Pusher does)."""
        subs = self._hub.connections_of_user(app_id, user_id)
        for sub in subs:
            sub.close(4009, "Connection terminated by the server")
        return len(subs)


class ClusterState(_OnHub, ABC):
    """What only the whole cluster knows. Called on the event loop after the hub changed."""

    # Set by the server: members that appeared or vanished without a local join or
    # leave (a dead node reaped, this node's share rewritten or withdrawn).
    on_members_changed: OnMembersChanged | None = None

    @property
    def healthy(self) -> bool:
        """True while the answers are the cluster's (not this node's alone)."""
        return True

    def members_changed(self, changes: Sequence[PresenceChange], cause: Cause) -> None:
        if changes and self.on_members_changed is not None:
            self.on_members_changed(changes, cause)

    @abstractmethod
    async def subscribed(self, app_id: str, channel: str, socket_id: str, local: LocalJoin) -> bool:
        """A local socket joined a public or private channel; True when it became occupied cluster-wide."""

    @abstractmethod
    async def unsubscribed(self, app_id: str, channel: str, socket_id: str, local: LocalLeave) -> bool:
        """A local socket left a public or private channel; True when it became vacant cluster-wide."""

    @abstractmethod
    async def presence_join(
        self, app_id: str, channel: str, socket_id: str, member: PresenceMember, local: LocalJoin
    ) -> PresenceJoin: ...

    @abstractmethod
    async def presence_leave(
        self, app_id: str, channel: str, socket_id: str, member: PresenceMember, local: LocalLeave
    ) -> PresenceLeave: ...

    @abstractmethod
    async def presence_members(self, app_id: str, channel: str) -> dict[str, Any]: ...

    @abstractmethod
    async def channel_stats(self, app_id: str, channel: str) -> ChannelStats: ...

    @abstractmethod
    async def channels(self, app_id: str) -> dict[str, ChannelStats]:
        """Every occupied channel of the app."""

    @abstractmethod
    async def connection_count(self, app_id: str) -> int: ...


class Backend:
    """One bus and one cluster state, bound, started and stopped together."""

    def __init__(self, bus: Bus, state: ClusterState) -> None:
        self.bus = bus
        self.state = state

    @property
    def node_id(self) -> str:
        return self.bus.node_id

    def bind(self, hub: AnyHub) -> None:
        self.bus.bind(hub)
        self.state.bind(hub)

    async def start(self) -> None:
        """Connect and begin listening; must not raise when the transport is down."""

    async def stop(self) -> None:
        """Stop listening and withdraw this node's share of the shared state."""

    @property
    def healthy(self) -> bool:
        return self.bus.healthy and self.state.healthy

    # The calls the HTTP API and the tests make, passed straight on.
    def publish(self, app_id: str, channel: str, payload: bytes, except_socket_id: str | None = None) -> None:
        self.bus.publish(app_id, channel, payload, except_socket_id)

    async def terminate_user(self, app_id: str, user_id: str) -> None:
        await self.bus.terminate_user(app_id, user_id)

    async def presence_members(self, app_id: str, channel: str) -> dict[str, Any]:
        return await self.state.presence_members(app_id, channel)

    async def channel_stats(self, app_id: str, channel: str) -> ChannelStats:
        return await self.state.channel_stats(app_id, channel)

    async def channels(self, app_id: str) -> dict[str, ChannelStats]:
        return await self.state.channels(app_id)

    async def connection_count(self, app_id: str) -> int:
        return await self.state.connection_count(app_id)
