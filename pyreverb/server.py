"""The node: wires sessions, the local hub and the backend together.

Transport-agnostic: a connection is anything with the small interface of
:class:`Connection`. The WebSocket layer (``transport.py``) and tests supply it.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import os
import signal
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from pyreverb.admission import HandshakePacer
from pyreverb.apps import AppRegistry
from pyreverb.backends import Backend, create_backend
from pyreverb.channel_cache import create_channel_cache
from pyreverb.config import AppConfig, Settings
from pyreverb.framing import text_frame
from pyreverb.hub import Hub
from pyreverb.occupancy import Occupancy
from pyreverb.protocol.channels import ChannelKind, PresenceMember, is_cache_channel
from pyreverb.protocol.errors import (
    AppDisabled,
    OverConnectionQuota,
    PongNotReceived,
    PusherError,
    ServerShuttingDown,
    Unauthorized,
    UnknownApp,
)
from pyreverb.protocol.messages import encode_error, encode_event
from pyreverb.protocol.session import (
    Action,
    ClientEvent,
    Close,
    PusherSession,
    Reply,
    SignIn,
    Subscribe,
    Unsubscribe,
)
from pyreverb.restart import RestartWatch
from pyreverb.speedups import load as load_speedups
from pyreverb.webhooks import Webhooks

__all__ = ["PusherServer", "Connection", "ServerStats"]

log = logging.getLogger("pyreverb")


class Connection(Protocol):
    socket_id: str
    app_id: str
    app: AppConfig
    session: PusherSession
    user_id: str | None
    opened_at: float
    last_activity: float
    ping_sent_at: float | None
    pending: deque[Action] | None

    def write_frame(self, frame: bytes) -> None: ...
    def send(self, payload: bytes) -> None: ...
    def close(self, code: int, reason: str = "") -> None: ...


@dataclass
class ServerStats:
    """Counters read by ``pyreverb status`` and the metrics endpoint."""

    started_at: float = field(default_factory=time.time)
    connections_total: int = 0
    messages_in: int = 0
    client_events: int = 0
    api_messages: int = 0
    subscriptions: int = 0
    http_responses: Counter[int] = field(default_factory=Counter)  # by status code


class PusherServer:
    def __init__(self, settings: Settings, backend: Backend | None = None) -> None:
        self.settings = settings
        self.apps = AppRegistry(settings.apps)
        self.hub: Hub[Connection] = Hub()
        self.backend = backend or create_backend(settings)
        self.backend.bind(self.hub)
        self.bus = self.backend.bus
        self.stats = ServerStats()
        self.speedups = load_speedups(settings.speedups)
        self.cache = create_channel_cache(settings)
        self.webhooks = Webhooks(list(self.apps))
        self.occupancy = Occupancy(self.hub, self.backend, self.apps, self.webhooks, self._spawn)
        self.admission = HandshakePacer(settings.handshakes_per_second, settings.handshake_queue)
        self.restart_watch: RestartWatch | None = None
        self.shutting_down = False
        self._sweeper: asyncio.Task[None] | None = None
        self._restart_poller: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        await self.backend.start()
        await self.webhooks.start()
        self.restart_watch = RestartWatch(self.settings, time.time())
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="pyreverb-sweeper")
        self._restart_poller = asyncio.create_task(self._watch_restart(), name="pyreverb-restart-watch")

    async def stop(self) -> None:
        """Drain: tell every client to reconnect now (4200), wait, stop the backend."""
        self.shutting_down = True
        for conn in list(self.hub.all_connections()):
            err = ServerShuttingDown()
            conn.send(encode_error(err.code, err.message))
            conn.close(err.code, err.message)
        deadline = time.monotonic() + self.settings.shutdown_timeout
        while any(True for _ in self.hub.all_connections()) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for task in (self._sweeper, self._restart_poller):
            if task is not None:
                task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2)
        await self.webhooks.stop()
        await self.cache.close()
        if self.restart_watch is not None:
            await self.restart_watch.close()
        await self.backend.stop()

    # -- connection lifecycle -----------------------------------------------------
    def check_new_connection(self, app: AppConfig | None, origin: str | None) -> PusherError | None:
        """Why a new socket must be refused (sent as pusher:error, then closed)."""
        if self.shutting_down:
            return ServerShuttingDown()
        if app is None:
            return UnknownApp()
        if not app.enabled:
            return AppDisabled()
        if not origin_allowed(app.allowed_origins, origin):
            return Unauthorized("Origin not allowed")
        if app.max_connections is not None and self.hub.connection_count(app.app_id) >= app.max_connections:
            return OverConnectionQuota()
        return None

    def open(self, conn: Connection) -> None:
        conn.opened_at = time.monotonic()
        self.hub.add_connection(conn)
        self.stats.connections_total += 1
        conn.send(conn.session.established_frame())

    def closed(self, conn: Connection) -> None:
        """The socket is gone: forget it now, settle presence in the background."""
        self.hub.remove_connection(conn)
        channels = list(conn.session.channels.items())
        conn.session.channels.clear()
        if channels:
            self._spawn(self._leave_all(conn, channels))

    async def _leave_all(self, conn: Connection, channels: list[tuple[str, PresenceMember | None]]) -> None:
        for name, member in channels:
            await self._leave(conn, name, member)

    # -- incoming frames ----------------------------------------------------------
    def receive(self, conn: Connection, payload: bytes, binary: bool = False) -> None:
        self.stats.messages_in += 1
        conn.last_activity = time.monotonic()
        conn.ping_sent_at = None
        actions = conn.session.receive(payload, binary=binary)
        if conn.pending is not None:
            conn.pending.extend(actions)
            return
        for index, action in enumerate(actions):
            if isinstance(action, (Subscribe, Unsubscribe, SignIn)):
                conn.pending = deque(actions[index:])
                self._spawn(self._drain(conn))
                return
            self._apply_now(conn, action)

    def touch(self, conn: Connection) -> None:
        """Control frames (ping/pong) count as activity too."""
        conn.last_activity = time.monotonic()
        conn.ping_sent_at = None

    def _apply_now(self, conn: Connection, action: Action) -> None:
        if isinstance(action, Reply):
            conn.send(action.frame)
        elif isinstance(action, ClientEvent):
            self.stats.client_events += 1
            self.bus.publish(conn.app_id, action.channel, action.frame, conn.socket_id)
            if is_cache_channel(action.channel):
                self.cache.put(conn.app_id, action.channel, action.frame, conn.app.cache_ttl)
            if self.webhooks.wants(conn.app, "client_event"):
                event = {"name": "client_event", "channel": action.channel, "event": action.event,
                         "data": action.data, "socket_id": conn.socket_id}
                if action.user_id is not None and action.channel.startswith("presence-"):
                    event["user_id"] = action.user_id
                self.webhooks.emit(conn.app, event)
        elif isinstance(action, Close):
            conn.close(action.code, action.reason)

    async def _drain(self, conn: Connection) -> None:
        """Run a connection's queued actions in order, awaiting the async ones."""
        queue = conn.pending
        assert queue is not None
        try:
            while queue:
                action = queue.popleft()
                if isinstance(action, Subscribe):
                    await self._subscribe(conn, action)
                elif isinstance(action, Unsubscribe):
                    await self._leave(conn, action.channel, action.member)
                elif isinstance(action, SignIn):
                    conn.user_id = action.user_id
                else:
                    self._apply_now(conn, action)
        except Exception:  # one bad frame must not kill the node (logged with its traceback)
            log.exception("error while handling frames of %s", conn.socket_id)
        finally:
            conn.pending = None

    async def _subscribe(self, conn: Connection, action: Subscribe) -> None:
        if action.channel not in conn.session.channels:
            return  # unsubscribed or closed meanwhile
        app = conn.app
        if action.kind is ChannelKind.PRESENCE:
            assert action.member is not None
            if not await self.occupancy.has_room(app, action.channel, action.member):
                conn.session.forget(action.channel)
                conn.send(
                    conn.session.subscription_error(
                        action.channel,
                        f"Presence channel is full ({app.max_presence_members} members)",
                        403,
                    ).frame
                )
                return
        local = self.hub.join(conn, action.channel, action.kind, action.member)
        self.stats.subscriptions += 1
        members = await self.occupancy.joined(app, action.channel, conn.socket_id, action.member, local)
        if members is None:
            conn.send(PusherSession.subscription_succeeded(action.channel))
        else:
            presence = {"ids": list(members), "hash": members, "count": len(members)}
            conn.send(PusherSession.subscription_succeeded(action.channel, presence))
        if is_cache_channel(action.channel):
            await self._replay_cache(conn, action.channel)

    async def _replay_cache(self, conn: Connection, channel: str) -> None:
        cached = await self.cache.get(conn.app_id, channel)
        if cached is not None:
            conn.send(cached)
            return
        conn.send(encode_event("pusher:cache_miss", None, channel))
        if self.webhooks.wants(conn.app, "cache_miss"):
            self.webhooks.emit(conn.app, {"name": "cache_miss", "channel": channel})

    async def _leave(self, conn: Connection, channel: str, member: PresenceMember | None) -> None:
        local = self.hub.leave(conn, channel, member)
        if local.was_subscribed:
            await self.occupancy.left(conn.app, channel, conn.socket_id, member, local)

    # -- HTTP API entry points ----------------------------------------------------------
    def trigger(self, app: AppConfig, channels: list[str], event: str, data: str, except_socket_id: str | None) -> None:
        for channel in channels:
            payload = encode_event(event, data, channel)
            self.bus.publish(app.app_id, channel, payload, except_socket_id)
            if is_cache_channel(channel):
                self.cache.put(app.app_id, channel, payload, app.cache_ttl)
        self.stats.api_messages += len(channels)

    def status_snapshot(self, app: AppConfig) -> dict[str, Any]:
        """Counters of this node (and the app's share) for `pyreverb status`."""
        return {
            "node_id": self.backend.node_id,
            "uptime_seconds": round(time.time() - self.stats.started_at, 1),
            "connections": sum(1 for _ in self.hub.all_connections()),
            "app_connections": self.hub.connection_count(app.app_id),
            "app_channels": len(self.hub.channels(app.app_id)),
            "messages_in": self.stats.messages_in,
            "messages_out": self.hub.frames_out,
            "api_messages": self.stats.api_messages,
            "client_events": self.stats.client_events,
            "backend_healthy": self.backend.healthy,
            "tasks": len(asyncio.all_tasks()),
            "pending_cleanups": len(self._tasks),
        }

    def send_to_user(self, app: AppConfig, user_id: str, event: str, data: str) -> None:
        """Server-to-user events travel on the user's ``#server-to-user-{id}`` channel."""
        self.trigger(app, [f"#server-to-user-{user_id}"], event, data, None)

    # -- keep-alive -----------------------------------------------------------------------
    async def _sweep_forever(self) -> None:
        interval = max(0.2, min([min(a.ping_interval, a.pong_timeout) for a in self.apps] + [5.0]) / 4)
        while True:
            await asyncio.sleep(interval)
            try:
                self.sweep(time.monotonic())
            except Exception:  # the sweeper must outlive one failed pass (logged)
                log.exception("keep-alive sweep failed")

    def sweep(self, now: float) -> None:
        """Ping silent connections; close those that did not answer (4201)."""
        ping = text_frame(PusherSession.ping_frame())
        for conn in self.hub.all_connections():
            app = conn.app
            signin_timeout = app.user_authentication_timeout
            if signin_timeout is not None and conn.user_id is None and now - conn.opened_at >= signin_timeout:
                late = Unauthorized(f"Sign in (pusher:signin) within {signin_timeout:g} seconds of connecting")
                conn.send(encode_error(late.code, late.message))
                conn.close(late.code, late.message)
                continue
            if conn.ping_sent_at is None:
                if now - conn.last_activity >= app.ping_interval:
                    conn.write_frame(ping)
                    conn.ping_sent_at = now
            elif now - conn.ping_sent_at >= app.pong_timeout:
                silent = PongNotReceived()
                conn.send(encode_error(silent.code, silent.message))
                conn.close(silent.code, silent.message)

    async def _watch_restart(self) -> None:
        """Drain and exit when `pyreverb restart` asks (the supervisor restarts us)."""
        while not self.shutting_down:
            await asyncio.sleep(1.0)
            assert self.restart_watch is not None
            if await self.restart_watch.requested():
                log.warning("restart requested: draining and exiting")
                os.kill(os.getpid(), signal.SIGTERM)
                return

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def origin_allowed(allowed: tuple[str, ...], origin: str | None) -> bool:
    """Reverb's rule: '*' allows all, else the Origin's host must match a pattern."""
    if "*" in allowed:
        return True
    if not origin:
        return False
    host = urlsplit(origin).hostname or ""
    return any(fnmatch.fnmatchcase(host, pattern) for pattern in allowed)
