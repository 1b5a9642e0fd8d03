"""Every presence and occupancy decision, event and webhook, in one place.

The hub says what a join or leave meant on this node, the cluster state what it
meant for the cluster; from those answers this module decides:

* whether a presence channel has room for one more member (the app's
  ``max_presence_members``);
* ``pusher_internal:member_added`` (to the channel's other sockets on every
  node) and the ``member_added`` webhook: the user's first socket in the
  channel anywhere;
* ``pusher_internal:member_removed`` and the ``member_removed`` webhook: the
  user's last socket anywhere left, or a dead node's member was reaped;
* the ``channel_occupied`` / ``channel_vacated`` webhooks: the channel's first
  subscriber anywhere came, or its last one left.

Members that appear or vanish without a local join or leave (a dead node
reaped, this node's share rewritten after an outage or withdrawn on shutdown,
this node's sockets repaired after an outage) come from
:attr:`ClusterState.on_members_changed`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from pyreverb.apps import AppRegistry
from pyreverb.backends.base import Backend, Cause, PresenceChange
from pyreverb.config import AppConfig
from pyreverb.hub import AnyHub, LocalJoin, LocalLeave
from pyreverb.protocol.channels import PresenceMember
from pyreverb.protocol.messages import encode_event
from pyreverb.webhooks import Webhooks

__all__ = ["Occupancy", "member_added", "member_removed"]

Spawn = Callable[[Coroutine[Any, Any, None]], None]


def member_added(channel: str, user_id: str, user_info: Any) -> bytes:
    return encode_event("pusher_internal:member_added", {"user_id": user_id, "user_info": user_info}, channel)


def member_removed(channel: str, user_id: str) -> bytes:
    return encode_event("pusher_internal:member_removed", {"user_id": user_id}, channel)


class Occupancy:
    def __init__(self, hub: AnyHub, backend: Backend, apps: AppRegistry, webhooks: Webhooks, spawn: Spawn) -> None:
        self.hub = hub
        self.bus = backend.bus
        self.state = backend.state
        self.apps = apps
        self.webhooks = webhooks
        self._spawn = spawn
        backend.state.on_members_changed = self.members_changed

    async def has_room(self, app: AppConfig, channel: str, member: PresenceMember) -> bool:
        """Whether ``member`` may join: already there, or fewer members than the app allows."""
        present = await self.state.presence_members(app.app_id, channel)
        return member.user_id in present or len(present) < app.max_presence_members

    async def joined(
        self, app: AppConfig, channel: str, socket_id: str, member: PresenceMember | None, local: LocalJoin
    ) -> dict[str, Any] | None:
        """A local socket joined ``channel``; returns the members to list in its
        ``subscription_succeeded`` (None for a channel without presence)."""
        app_id = app.app_id
        if member is None:
            occupied = await self.state.subscribed(app_id, channel, socket_id, local)
            members = None
        else:
            joined = await self.state.presence_join(app_id, channel, socket_id, member, local)
            occupied, members = joined.channel_occupied, joined.members
            if joined.first_socket_of_user and not local.already_subscribed:
                self.bus.publish(app_id, channel, member_added(channel, member.user_id, member.user_info), socket_id)
                self._hook(app, "member_added", channel, user_id=member.user_id)
        if occupied and not local.already_subscribed:
            self._hook(app, "channel_occupied", channel)
        return members

    async def left(
        self, app: AppConfig, channel: str, socket_id: str, member: PresenceMember | None, local: LocalLeave
    ) -> None:
        """A local socket left ``channel`` (the hub already forgot it)."""
        app_id = app.app_id
        if member is None:
            vacated = await self.state.unsubscribed(app_id, channel, socket_id, local)
        else:
            leave = await self.state.presence_leave(app_id, channel, socket_id, member, local)
            if leave.last_socket_of_user:
                self.bus.publish(app_id, channel, member_removed(channel, member.user_id), socket_id)
                self._hook(app, "member_removed", channel, user_id=member.user_id)
            vacated = leave.channel_vacated
        if vacated:
            self._hook(app, "channel_vacated", channel)

    def members_changed(self, changes: Sequence[PresenceChange], cause: Cause) -> None:
        """Members changed in the shared state under this node: tell the sockets.

        A repair goes to this node's sockets alone (they missed it while the node
        was away); the rest to every node's. Only a reaped node's members get
        webhooks: the others were reported when they joined or left through this
        node, or through the node that owns them.
        """
        for change in changes:
            if change.joined:
                frame = member_added(change.channel, change.user_id, change.user_info)
            else:
                frame = member_removed(change.channel, change.user_id)
            if cause is Cause.REPAIR:
                self.hub.deliver(change.app_id, change.channel, frame)
                continue
            self.bus.publish(change.app_id, change.channel, frame)
            app = self.apps.find_by_id(change.app_id)
            if cause is Cause.REAPED and app is not None:
                self._hook(app, "member_removed", change.channel, user_id=change.user_id)
                if self.webhooks.wants(app, "channel_vacated"):
                    self._spawn(self._vacated_if_empty(app, change.channel))

    async def _vacated_if_empty(self, app: AppConfig, channel: str) -> None:
        # A reap names the members it removed, not the channels it emptied: ask.
        stats = await self.state.channel_stats(app.app_id, channel)
        if not stats.subscription_count:
            self._hook(app, "channel_vacated", channel)

    def _hook(self, app: AppConfig, name: str, channel: str, **extra: Any) -> None:
        if self.webhooks.wants(app, name):
            self.webhooks.emit(app, {"name": name, "channel": channel, **extra})
