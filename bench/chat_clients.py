"""Visitors and support agents as real clients: chatapp's HTTP API and the Pusher WebSocket.

Each client holds a bearer token and one Pusher protocol v7 connection to pyreverb;
private channels are signed by chatapp's ``/broadcasting/auth``, as Laravel Echo
does it. Every message the benchmark sends carries its send time in the body
(``[bench <id> <unix time>]``), and each receiver turns it into a delivery latency.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from chatapp.reverb_http import ReverbHTTP

__all__ = ["Deliveries", "PusherSocket", "Visitor", "Agent", "tag_body", "ADMIN_FEED"]

ADMIN_FEED = "private-admin.chat"
ADMIN_PRESENCE = "presence-admins"  # the panel's: agents on it count as online (no Web Push)
_TAG = re.compile(r"\[bench (\d+) (\d+\.\d+)\]")


def tag_body(ident: int, text: str) -> str:
    """A message body that carries its id and send time."""
    return f"[bench {ident} {time.time():.6f}] {text}"


@dataclass
class Deliveries:
    """Latencies of tagged messages as each receiver sees them, and who got what."""

    to_agents: list[float] = field(default_factory=list)  # visitor -> agent (admin feed), ms
    to_visitors: list[float] = field(default_factory=list)  # agent -> visitor (room channel), ms
    seen: set[tuple[str, int]] = field(default_factory=set)  # (receiver, message id)

    def record(self, receiver: str, body: str, into: list[float]) -> None:
        match = _TAG.search(body)
        if match is None:
            return
        ident = int(match.group(1))
        if (receiver, ident) in self.seen:
            return
        self.seen.add((receiver, ident))
        into.append((time.time() - float(match.group(2))) * 1000)

    def reset(self) -> None:
        self.to_agents.clear()
        self.to_visitors.clear()


class PusherSocket:
    """One Pusher protocol connection; events go to ``on_event(channel, name, data)``."""

    def __init__(self, session: aiohttp.ClientSession, url: str,
                 on_event: Callable[[str, str, dict[str, Any]], None]) -> None:
        self.session = session
        self.url = url
        self.on_event = on_event
        self.socket_id = ""
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._subscribed: dict[str, asyncio.Future[None]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.unexpected_close = False

    async def connect(self) -> None:
        self.ws = await self.session.ws_connect(self.url, heartbeat=None, max_msg_size=0)
        hello = orjson.loads((await self.ws.receive(timeout=10)).data)
        if hello.get("event") != "pusher:connection_established":
            raise RuntimeError(f"unexpected first frame {hello}")
        self.socket_id = orjson.loads(hello["data"])["socket_id"]
        self._reader = asyncio.create_task(self._read())

    async def subscribe(self, channel: str, auth: str, channel_data: str | None = None) -> None:
        assert self.ws is not None
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._subscribed[channel] = done
        data = {"channel": channel, "auth": auth}
        if channel_data is not None:  # a presence channel: who I am, as signed by chatapp
            data["channel_data"] = channel_data
        frame = {"event": "pusher:subscribe", "data": data}
        await self.ws.send_str(orjson.dumps(frame).decode())
        await asyncio.wait_for(done, 10)

    async def _read(self) -> None:
        assert self.ws is not None
        async for frame in self.ws:
            if frame.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                break
            doc = orjson.loads(frame.data)
            event = doc.get("event", "")
            if event == "pusher:ping":
                await self.ws.send_str('{"event":"pusher:pong","data":{}}')
            elif event == "pusher_internal:subscription_succeeded":
                waiter = self._subscribed.get(doc.get("channel", ""))
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
            elif event == "pusher:error":
                for waiter in self._subscribed.values():
                    if not waiter.done():
                        waiter.set_exception(RuntimeError(f"pusher error {doc.get('data')}"))
            elif not event.startswith("pusher"):
                data = doc.get("data")
                self.on_event(doc.get("channel", ""), event, orjson.loads(data) if isinstance(data, str) else data)
        self.unexpected_close = True

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self.ws is not None:
            await self.ws.close()


class _Client:
    """A bearer token, chatapp's base URL and one Pusher connection."""

    def __init__(self, session: aiohttp.ClientSession, http: ReverbHTTP, base: str, ws_url: str, token: str,
                 user: dict[str, Any], deliveries: Deliveries) -> None:
        self.session = session
        self.http = http
        self.base = base
        self.token = token
        self.user = user
        self.deliveries = deliveries
        # what a browser's fetch sends, gzip included (chatapp compresses larger answers)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                        "Accept": "application/json", "Accept-Encoding": "gzip, deflate"}
        self.socket = PusherSocket(session, ws_url, self._on_event)

    @property
    def name(self) -> str:
        return f"user-{self.user['id']}"

    async def call(self, method: str, path: str, doc: Any = None, *, want_body: bool = True) -> tuple[int, bytes]:
        headers = self.headers
        if self.socket.socket_id:
            headers = {**headers, "X-Socket-ID": self.socket.socket_id}  # as Echo does: no echo of my own sends
        # A kept-alive connection the server closed as it was reused is sent again once on a
        # fresh one (ReverbHTTP), as browsers do; sends carry an idempotency key, so never twice.
        response = await self.http.request(method, path, content=orjson.dumps(doc) if doc is not None else None,
                                           headers=headers)
        if not want_body:
            return response.status_code, b""
        if response.headers.get(b"content-encoding") in (b"gzip", b"deflate"):
            return response.status_code, zlib.decompress(response.content, 47)  # 47: a gzip or zlib header
        return response.status_code, response.content

    async def join(self, channel: str) -> None:
        status, body = await self.call("POST", "/broadcasting/auth",
                                       {"socket_id": self.socket.socket_id, "channel_name": channel})
        if status != 200:
            raise RuntimeError(f"/broadcasting/auth {channel}: {status} {body[:200]!r}")
        doc = orjson.loads(body)
        await self.socket.subscribe(channel, doc["auth"], doc.get("channel_data"))

    def _on_event(self, channel: str, event: str, data: dict[str, Any]) -> None:
        raise NotImplementedError


async def _token(session: aiohttp.ClientSession, base: str, path: str, doc: dict[str, Any]) -> dict[str, Any]:
    async with session.post(base + path, data=orjson.dumps(doc), headers={"Content-Type": "application/json"}) as r:
        body = await r.read()
        if r.status not in (200, 201):
            raise RuntimeError(f"{path}: {r.status} {body[:300]!r}")
        token: dict[str, Any] = orjson.loads(body)
        return token


def _key() -> str:
    """A fresh idempotency key, as the widget and the panel send with every message."""
    return str(uuid.uuid4())


class Visitor(_Client):
    """A guest with an open conversation, listening on its room channel."""

    room_id: int = 0

    @classmethod
    async def start(cls, session: aiohttp.ClientSession, http: ReverbHTTP, base: str, ws_url: str, name: str,
                    deliveries: Deliveries) -> Visitor:
        doc = await _token(session, base, "/api/auth/guest", {"name": name})
        visitor = cls(session, http, base, ws_url, doc["token"], doc["user"], deliveries)
        status, body = await visitor.call("POST", "/api/chat/room", {})
        if status not in (200, 201):
            raise RuntimeError(f"/api/chat/room: {status} {body[:300]!r}")
        visitor.room_id = int(orjson.loads(body)["room"]["id"])
        await visitor.socket.connect()
        await visitor.join(f"private-chat.{visitor.room_id}")
        return visitor

    async def send(self, body: str) -> int:
        doc = {"body": body, "idempotency_key": _key()}
        return (await self.call("POST", "/api/chat/messages", doc, want_body=False))[0]

    def _on_event(self, channel: str, event: str, data: dict[str, Any]) -> None:
        if event == "message.sent" and data.get("sender_role") == "admin":
            self.deliveries.record(self.name, str(data.get("body", "")), self.deliveries.to_visitors)


class Agent(_Client):
    """A signed-in support admin following the admin feed, present as an open panel is."""

    @classmethod
    async def start(cls, session: aiohttp.ClientSession, http: ReverbHTTP, base: str, ws_url: str, email: str,
                    password: str, deliveries: Deliveries) -> Agent:
        doc = await _token(session, base, "/api/auth/login", {"email": email, "password": password})
        agent = cls(session, http, base, ws_url, doc["token"], doc["user"], deliveries)
        await agent.socket.connect()
        await agent.join(ADMIN_FEED)
        await agent.join(ADMIN_PRESENCE)
        return agent

    async def reply(self, room_id: int, body: str) -> int:
        doc = {"body": body, "idempotency_key": _key()}
        return (await self.call("POST", f"/api/admin/chat/rooms/{room_id}/messages", doc, want_body=False))[0]

    async def report(self, params: dict[str, str], timeout: float) -> tuple[int, int]:
        """(status, conversations counted) for the team report; status 0 when it took over ``timeout`` s."""
        try:
            async with asyncio.timeout(timeout):
                async with self.session.get(self.base + "/api/admin/reports", params=params,
                                            headers=self.headers) as response:
                    body = await response.read()
                    if response.status != 200:
                        return response.status, 0
                    return 200, int(orjson.loads(body)["report"]["overall"]["conversations"])
        except TimeoutError:
            return 0, 0

    async def search(self, query: str, timeout: float) -> tuple[int, int]:
        """(status, rooms found) for the inbox search box; status 0 when it took over ``timeout`` s."""
        try:
            async with asyncio.timeout(timeout):
                return await self._search(query)
        except TimeoutError:
            return 0, 0

    async def _search(self, query: str) -> tuple[int, int]:
        async with self.session.get(self.base + "/api/admin/chat/rooms", params={"q": query, "filter": "all"},
                                    headers=self.headers) as response:
            body = await response.read()
            found = len(orjson.loads(body).get("data", [])) if response.status == 200 else 0
            return response.status, found

    def _on_event(self, channel: str, event: str, data: dict[str, Any]) -> None:
        if event == "chat.message":
            message = data.get("message") or {}
            if message.get("sender_role") == "user":
                self.deliveries.record(self.name, str(message.get("body", "")), self.deliveries.to_agents)
