"""The cluster state in Redis: counts and presence shared by every node, liveness, repair.

Every change is one Lua script (:mod:`pyreverb.backends.cluster_state`), so
"occupied", "vacated", "first socket of a user anywhere" and "last socket
anywhere" are each answered once for the cluster even when nodes race. Each
node refreshes a heartbeat key; a node whose key expired is reaped by a
survivor. While Redis is unreachable every answer is this node's own
(:class:`~pyreverb.backends.memory.MemoryState`); once it is back the node
rewrites its share from its hub (a resync). Members that appear or vanish
that way are reported through ``on_members_changed``; :mod:`pyreverb.occupancy`
decides what to send for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis

from pyreverb.backends.base import Cause, ChannelStats, ClusterState, PresenceJoin, PresenceLeave
from pyreverb.backends.cluster_state import RedisScripts, snapshot_of
from pyreverb.backends.gate import Gate
from pyreverb.backends.memory import MemoryState
from pyreverb.backends.presence_view import PresenceViews
from pyreverb.backends.redis_bus import RedisBus
from pyreverb.config import ClusterTiming
from pyreverb.hub import AnyHub, LocalJoin, LocalLeave
from pyreverb.protocol.channels import PresenceMember

__all__ = ["RedisState"]

log = logging.getLogger("pyreverb.scaling")
T = TypeVar("T")


class RedisState(ClusterState):
    def __init__(self, prefix: str, timing: ClusterTiming, bus: RedisBus, views: PresenceViews) -> None:
        super().__init__()
        self.prefix = prefix
        self.timing = timing
        self.bus = bus  # connection counts are asked of every node over the bus
        self.views = views  # what this node's sockets were told, repaired after a resync
        self.local = MemoryState()  # the answers while Redis is unreachable
        self.scripts: RedisScripts | None = None
        self.online = False  # usable: resynced since the last outage
        self.withdrawn = False  # this node's share is gone for good (shutting down)
        self._gate = Gate()
        # Set by the backend: a command failed, so the connection must be re-made.
        self.lost: Callable[[BaseException], None] = lambda exc: None
        bus.answers["connections"] = lambda app_id: str(self._hub.connection_count(app_id)).encode()

    def bind(self, hub: AnyHub) -> None:
        super().bind(hub)
        self.local.bind(hub)

    def attach(self, redis: Redis) -> None:
        self.scripts = RedisScripts(redis, self.prefix, self.bus.node_id)

    @property
    def healthy(self) -> bool:
        return self.online

    @property
    def node_id(self) -> str:
        return self.bus.node_id

    # -- this node's share -------------------------------------------------------------------
    async def resync(self) -> None:
        """Make the shared state match the hub; bring local sockets and other nodes up to date.

        Local writes wait at the gate meanwhile, so none is counted twice or lost,
        and none interleaves with reconciling the local presence views.
        """
        assert self.scripts is not None
        async with self._gate.exclusive():
            snapshot = snapshot_of(self._hub)
            joined, left = await self.scripts.resync(snapshot, int(self.timing.node_ttl * 1000))
            channels = self.views.keys()
            for (app_id, channel), members in zip(channels, await self.scripts.members_of(channels), strict=True):
                self.members_changed(self.views.reconcile(app_id, channel, members), Cause.REPAIR)
            self.online = True
        # Other nodes learn of the net changes; their views drop what they already showed.
        self.members_changed(joined + left, Cause.RESYNC)

    async def heartbeat_forever(self) -> None:
        ttl_ms = int(self.timing.node_ttl * 1000)
        while True:
            if not self.withdrawn:  # once withdrawn, a heartbeat would register the node again
                await self._beat(ttl_ms)
            await asyncio.sleep(self.timing.heartbeat)

    async def _beat(self, ttl_ms: int) -> None:
        assert self.scripts is not None
        was_reaped, dead = await self.scripts.heartbeat(ttl_ms)
        if was_reaped:
            log.error(
                "node %s missed its heartbeats for over %.1fs and the cluster expired its state; "
                "re-announcing its clients",
                self.node_id,
                self.timing.node_ttl,
            )
            await self.resync()
        for node in dead:
            if node != self.node_id:
                await self._reap(node)

    async def _reap(self, node: str) -> None:
        assert self.scripts is not None
        left = await self.scripts.reap(node, only_if_dead=True)
        if left:
            log.warning(
                "node %s stopped heart-beating; removed its state and %d presence member(s)", node, len(left)
            )
        self.members_changed(left, Cause.REAPED)

    async def withdraw(self) -> None:
        """Remove this node's share at once (shutdown), so no other node waits for it to expire."""
        self.withdrawn = True
        if not self.online or self.scripts is None:
            return
        left = await self.scripts.reap(self.node_id, only_if_dead=False)
        self.members_changed(left, Cause.WITHDRAWN)

    # -- writes and reads ------------------------------------------------------------------
    def _may_use_shared(self) -> bool:
        """Online, or a resync is running (callers then wait for it at the gate)."""
        return self.online or self._gate.closed

    async def _write(self, change: Callable[[RedisScripts], Awaitable[T]]) -> T | None:
        """Apply ``change`` to the shared state; None when Redis is unreachable (answer locally)."""
        if self._may_use_shared():
            try:
                async with self._gate.shared():
                    if self.online:
                        assert self.scripts is not None
                        return await change(self.scripts)
            except Exception as exc:  # noqa: BLE001 - never fail the caller: answer locally
                self.lost(exc)
        return None

    async def _read(self, query: Callable[[RedisScripts], Awaitable[T]], local: Callable[[], T]) -> T:
        """The cluster's answer, or this node's own when Redis is unreachable."""
        if self.online:
            try:
                assert self.scripts is not None
                return await query(self.scripts)
            except Exception as exc:  # noqa: BLE001 - never fail the caller: answer locally
                self.lost(exc)
        return local()

    async def presence_join(
        self, app_id: str, channel: str, socket_id: str, member: PresenceMember, local: LocalJoin
    ) -> PresenceJoin:
        shared = await self._write(
            lambda state: state.join_presence(app_id, channel, socket_id, member.user_id, member.user_info)
        )
        if shared is None:
            answer = await self.local.presence_join(app_id, channel, socket_id, member, local)
        else:
            answer = PresenceJoin(*shared)
        self.views.joined(app_id, channel, answer.members)
        return answer

    async def presence_leave(
        self, app_id: str, channel: str, socket_id: str, member: PresenceMember, local: LocalLeave
    ) -> PresenceLeave:
        if local.channel_vacated:
            self.views.close(app_id, channel)
        shared = await self._write(lambda state: state.leave_presence(app_id, channel, socket_id))
        if shared is None:
            return await self.local.presence_leave(app_id, channel, socket_id, member, local)
        return PresenceLeave(*shared)

    async def subscribed(self, app_id: str, channel: str, socket_id: str, local: LocalJoin) -> bool:
        if local.already_subscribed:
            return False
        total = await self._write(lambda state: state.count_subscription(app_id, channel, +1))
        return local.channel_created if total is None else total == 1

    async def unsubscribed(self, app_id: str, channel: str, socket_id: str, local: LocalLeave) -> bool:
        total = await self._write(lambda state: state.count_subscription(app_id, channel, -1))
        return local.channel_vacated if total is None else total == 0

    async def presence_members(self, app_id: str, channel: str) -> dict[str, Any]:
        return await self._read(
            lambda state: state.members(app_id, channel), lambda: self.local.members(app_id, channel)
        )

    async def channel_stats(self, app_id: str, channel: str) -> ChannelStats:
        return await self._read(
            lambda state: state.channel_stats(app_id, channel), lambda: self.local.stats(app_id, channel)
        )

    async def channels(self, app_id: str) -> dict[str, ChannelStats]:
        return await self._read(lambda state: state.channels(app_id), lambda: self.local.all_stats(app_id))

    async def connection_count(self, app_id: str) -> int:
        local = self._hub.connection_count(app_id)
        if not self.online:
            return local
        try:
            answers = await self.bus.ask("connections", app_id)
        except Exception as exc:  # noqa: BLE001 - never fail the caller: answer locally
            self.lost(exc)
            return local
        return local + sum(int(body) for body in answers if body.isdigit())
