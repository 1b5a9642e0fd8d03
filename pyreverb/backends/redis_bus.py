"""The bus over one Redis pub/sub channel: an outbox sent in batches, a listener, queries.

``publish`` delivers to this node's sockets at once and queues the bus message
for the others; it never waits on Redis. Whatever queued up during one round
trip goes out as one pipeline. Every message carries the node id (wire form in
:mod:`pyreverb.backends.bus`) and a node drops its own when they come back.
The connection itself (connect, reconnect, back-off) is
:class:`~pyreverb.backends.redis.RedisBackend`'s: it hands this bus a client
and a subscribed pub/sub, and opens and shuts it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from pyreverb.backends import bus
from pyreverb.backends.base import Bus
from pyreverb.backends.bus import Kind
from pyreverb.backends.presence_view import PresenceViews

__all__ = ["RedisBus", "MAX_BATCH", "MAX_OUTBOX"]

log = logging.getLogger("pyreverb.scaling")

MAX_BATCH = 512
MAX_OUTBOX = 100_000


class _Answers:
    """Replies to one cluster query, complete once every other node answered."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.expected: int | None = None
        self.done = asyncio.Event()

    def add(self, body: bytes) -> None:
        self.bodies.append(body)
        self._check()

    def expect(self, count: int) -> None:
        self.expected = count
        self._check()

    def _check(self) -> None:
        if self.expected is not None and len(self.bodies) >= self.expected:
            self.done.set()


class RedisBus(Bus):
    def __init__(self, node_id: str | None, channel: str, views: PresenceViews, query_timeout: float) -> None:
        super().__init__(node_id)
        self.channel = channel
        self.views = views  # drops a presence event this node's sockets were already given
        self.query_timeout = query_timeout
        self.redis: Redis | None = None  # set by the backend before the bus opens
        self.open = False  # the outbox accepts messages
        self.dropped = 0  # bus messages not sent because Redis was unreachable
        self.bus_lag_seconds = 0.0  # age of the last message from another node when it arrived
        self._outbox: deque[bytes] = deque()
        self._sending = False
        self._wake = asyncio.Event()
        self._sent_all = asyncio.Event()
        self._queries: dict[str, _Answers] = {}
        # Questions other nodes may ask (see ask()): name -> answer for an app.
        self.answers: dict[str, Callable[[str], bytes]] = {}

    @property
    def healthy(self) -> bool:
        return self.open

    def shut(self) -> int:
        """The connection is gone: drop what is queued; returns how many messages that was."""
        self.open = False
        lost = len(self._outbox)
        self._outbox.clear()
        self.dropped += lost
        return lost

    # -- sending ---------------------------------------------------------------------------
    def publish(self, app_id: str, channel: str, payload: bytes, except_socket_id: str | None = None) -> None:
        self._deliver(app_id, channel, payload, except_socket_id)
        if self.open:
            self._enqueue(bus.encode(self.node_id, Kind.MESSAGE, app_id, channel, except_socket_id, body=payload))
        else:
            self.dropped += 1

    async def terminate_user(self, app_id: str, user_id: str) -> None:
        self.terminate_local(app_id, user_id)
        self._enqueue(bus.encode(self.node_id, Kind.TERMINATE, app_id, user_id))

    def _deliver(self, app_id: str, channel: str, payload: bytes, except_socket_id: str | None) -> None:
        if not channel.startswith("presence-") or self.views.admit(app_id, channel, payload):
            self._hub.deliver(app_id, channel, payload, except_socket_id)

    def _enqueue(self, message: bytes) -> None:
        if not self.open:
            self.dropped += 1
            return
        if len(self._outbox) >= MAX_OUTBOX:
            self.dropped += 1
            if self.dropped % 10_000 == 1:
                log.error("Redis is not keeping up: bus outbox full, %d messages dropped so far", self.dropped)
            return
        self._outbox.append(message)
        self._wake.set()

    async def send_forever(self) -> None:
        """Publish queued messages; whatever queued up during one round trip goes as a batch."""
        assert self.redis is not None
        outbox = self._outbox
        while True:
            while not outbox:
                self._sent_all.set()
                self._wake.clear()
                await self._wake.wait()
            self._sent_all.clear()
            batch = [outbox.popleft() for _ in range(min(len(outbox), MAX_BATCH))]
            self._sending = True
            try:
                if len(batch) == 1:
                    await self.redis.publish(self.channel, batch[0])
                else:
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for message in batch:
                            pipe.publish(self.channel, message)
                        await pipe.execute()
            except BaseException:
                self.dropped += len(batch)
                raise
            finally:
                self._sending = False

    async def drain(self) -> None:
        """Wait until everything queued was sent (the sender must be running)."""
        while self._outbox or self._sending:
            self._sent_all.clear()
            self._wake.set()
            await self._sent_all.wait()

    # -- cluster queries -------------------------------------------------------------------
    async def ask(self, question: str, app_id: str) -> list[bytes]:
        """Ask every other node; wait for all answers or the query timeout."""
        assert self.redis is not None
        request_id = uuid.uuid4().hex
        answers = self._queries[request_id] = _Answers()
        try:
            message = bus.encode(self.node_id, Kind.QUERY, request_id, question, app_id)
            receivers = int(await self.redis.publish(self.channel, message))
            answers.expect(max(0, receivers - 1))  # every subscriber but this node
            try:
                await asyncio.wait_for(answers.done.wait(), self.query_timeout)
            except TimeoutError:
                log.warning(
                    "cluster query %r: %d of %s nodes answered within %.1fs",
                    question,
                    len(answers.bodies),
                    answers.expected,
                    self.query_timeout,
                )
            return answers.bodies
        finally:
            del self._queries[request_id]

    # -- receiving -------------------------------------------------------------------------
    async def listen(self, pubsub: Any) -> None:
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            if message is not None and message.get("type") == "message":
                self.receive(message["data"])

    def receive(self, raw: bytes) -> None:
        try:
            msg = bus.decode(raw)
        except bus.BusDecodeError as exc:
            log.warning("ignoring a foreign message on Redis channel %r: %s", self.channel, exc)
            return
        if msg.node == self.node_id:
            return
        self.bus_lag_seconds = max(0.0, time.time() - msg.sent_at)
        try:
            self._dispatch(msg)
        except Exception:  # one bad message must not stop the listener (logged with its traceback)
            log.exception("failed to handle a %s message from node %s", msg.kind.name, msg.node)

    def _dispatch(self, msg: bus.BusMessage) -> None:
        args = msg.args
        if msg.kind is Kind.MESSAGE:
            self._deliver(str(args[0]), str(args[1]), msg.body, args[2])
        elif msg.kind is Kind.TERMINATE:
            self.terminate_local(str(args[0]), str(args[1]))
        elif msg.kind is Kind.QUERY:
            answer = self.answers.get(str(args[1]))
            if answer is not None and args[2] is not None:
                self._enqueue(bus.encode(self.node_id, Kind.REPLY, args[0], msg.node, body=answer(args[2])))
        elif msg.kind is Kind.REPLY and args[1] == self.node_id:
            pending = self._queries.get(str(args[0]))
            if pending is not None:
                pending.add(msg.body)
