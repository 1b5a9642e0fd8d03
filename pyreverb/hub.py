"""Local subscriptions of this node: who is in which channel, and fan-out.

Pure bookkeeping (no I/O, no asyncio): the transport's connections are held
behind the small :class:`Subscriber` protocol, so the hub is testable alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pyreverb.framing import text_frame
from pyreverb.protocol.channels import ChannelKind, PresenceMember

__all__ = ["Subscriber", "Hub", "AnyHub", "LocalChannel", "LocalJoin", "LocalLeave"]


class Subscriber(Protocol):
    socket_id: str
    app_id: str
    user_id: str | None

    def write_frame(self, frame: bytes) -> None:
        """Queue an already-encoded WebSocket frame; must not block."""

    def close(self, code: int, reason: str = "") -> None: ...


# The hub hands back whatever the server put in, so the server reads its own attributes.
S = TypeVar("S", bound=Subscriber)


@dataclass(slots=True)
class LocalChannel(Generic[S]):
    name: str
    kind: ChannelKind
    subscribers: dict[str, S] = field(default_factory=dict)
    # presence: user id -> local socket ids, and the member info last given
    user_sockets: dict[str, set[str]] = field(default_factory=dict)
    members: dict[str, PresenceMember] = field(default_factory=dict)
    # user id -> user_info, kept with ``members``: a join reads it twice (the member limit,
    # the list in subscription_succeeded) and rebuilding it per join is O(members) in Python
    member_info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LocalJoin:
    already_subscribed: bool
    channel_created: bool
    first_local_socket_of_user: bool


@dataclass(frozen=True, slots=True)
class LocalLeave:
    was_subscribed: bool
    channel_vacated: bool
    # the member whose last local socket left (presence only)
    member_gone: PresenceMember | None


class Hub(Generic[S]):
    """Channels and connections per app, on this node only."""

    def __init__(self) -> None:
        self._channels: dict[str, dict[str, LocalChannel[S]]] = {}
        self._connections: dict[str, dict[str, S]] = {}
        self.frames_out = 0  # frames written by fan-out (for metrics)

    # -- connections -----------------------------------------------------------
    def add_connection(self, sub: S) -> None:
        self._connections.setdefault(sub.app_id, {})[sub.socket_id] = sub

    def remove_connection(self, sub: S) -> None:
        conns = self._connections.get(sub.app_id)
        if conns is not None:
            conns.pop(sub.socket_id, None)

    def connection_count(self, app_id: str) -> int:
        return len(self._connections.get(app_id, ()))

    def all_connections(self) -> Iterator[S]:
        for conns in list(self._connections.values()):
            yield from list(conns.values())

    def connections_of_user(self, app_id: str, user_id: str) -> list[S]:
        """Signed-in sockets of the user, plus sockets in presence as that user."""
        found: dict[str, S] = {}
        for sub in self._connections.get(app_id, {}).values():
            if sub.user_id == user_id:
                found[sub.socket_id] = sub
        for ch in self._channels.get(app_id, {}).values():
            for sid in ch.user_sockets.get(user_id, ()):
                member_sub = ch.subscribers.get(sid)
                if member_sub is not None:
                    found[sid] = member_sub
        return list(found.values())

    # -- channels --------------------------------------------------------------
    def join(self, sub: S, name: str, kind: ChannelKind, member: PresenceMember | None) -> LocalJoin:
        channels = self._channels.setdefault(sub.app_id, {})
        channel = channels.get(name)
        created = channel is None
        if channel is None:
            channel = channels[name] = LocalChannel(name=name, kind=kind)
        already = sub.socket_id in channel.subscribers
        channel.subscribers[sub.socket_id] = sub
        first_of_user = False
        if member is not None and not already:
            sockets = channel.user_sockets.setdefault(member.user_id, set())
            first_of_user = not sockets
            sockets.add(sub.socket_id)
            channel.members[member.user_id] = member
            channel.member_info[member.user_id] = member.user_info
        return LocalJoin(already_subscribed=already, channel_created=created, first_local_socket_of_user=first_of_user)

    def leave(self, sub: S, name: str, member: PresenceMember | None) -> LocalLeave:
        channels = self._channels.get(sub.app_id, {})
        channel = channels.get(name)
        if channel is None or channel.subscribers.pop(sub.socket_id, None) is None:
            return LocalLeave(False, False, None)
        gone: PresenceMember | None = None
        if member is not None:
            sockets = channel.user_sockets.get(member.user_id)
            if sockets is not None:
                sockets.discard(sub.socket_id)
                if not sockets:
                    del channel.user_sockets[member.user_id]
                    gone = channel.members.pop(member.user_id, member)
                    channel.member_info.pop(member.user_id, None)
        vacated = not channel.subscribers
        if vacated:
            del channels[name]
        return LocalLeave(True, vacated, gone)

    def channel(self, app_id: str, name: str) -> LocalChannel[S] | None:
        return self._channels.get(app_id, {}).get(name)

    def channels(self, app_id: str) -> dict[str, LocalChannel[S]]:
        return self._channels.get(app_id, {})

    def app_ids(self) -> list[str]:
        return list(self._connections)

    # -- fan-out ---------------------------------------------------------------
    def deliver(self, app_id: str, channel: str, payload: bytes, except_socket_id: str | None = None) -> int:
        """Write ``payload`` (a JSON frame) to every local subscriber but one."""
        ch = self._channels.get(app_id, {}).get(channel)
        if ch is None:
            return 0
        frame = text_frame(payload)
        subscribers = ch.subscribers
        # Writers never mutate the table synchronously (closing is deferred), so no copy.
        if except_socket_id is None or except_socket_id not in subscribers:
            for sub in subscribers.values():
                sub.write_frame(frame)
            sent = len(subscribers)
        else:
            for socket_id, sub in subscribers.items():
                if socket_id != except_socket_id:
                    sub.write_frame(frame)
            sent = len(subscribers) - 1
        self.frames_out += sent
        return sent


# What the backends see: they read channels and deliver frames, whatever the subscriber type.
AnyHub = Hub[Any]
