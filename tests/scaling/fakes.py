"""In-process nodes for the backend contract: PusherServer + socket-less clients."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections import deque
from collections.abc import Callable
from typing import Any

from pyreverb.config import AppConfig
from pyreverb.framing import text_frame
from pyreverb.protocol.auth import channel_auth_signature, user_auth_signature
from pyreverb.protocol.session import Action, PusherSession
from pyreverb.server import PusherServer
from tests.helpers.procs import TIME_FACTOR

APP = AppConfig(app_id="1", key="key", secret="secret")


def _payload(frame: bytes) -> dict[str, Any]:
    """Undo the WebSocket framing and Pusher's double-encoded ``data``."""
    length = frame[1] & 0x7F
    doc: dict[str, Any] = json.loads(frame[2 if length < 126 else 4 if length == 126 else 10 :])
    if isinstance(doc.get("data"), str):
        try:
            doc["data"] = json.loads(doc["data"])
        except ValueError:
            pass
    return doc


class Client:
    """One socket on one node, driven the way the transport drives it."""

    def __init__(self, node: PusherServer, user: str | None = None) -> None:
        self.node = node
        self.user = user
        self.app = APP
        self.session = PusherSession(APP)
        self.socket_id = self.session.socket_id
        self.app_id = APP.app_id
        self.user_id: str | None = None
        self.last_activity = 0.0
        self.ping_sent_at: float | None = None
        self.pending: deque[Action] | None = None
        self.frames: list[bytes] = []
        self.closed_with: int | None = None
        node.open(self)

    # -- the Connection interface ---------------------------------------------------
    def write_frame(self, frame: bytes) -> None:
        self.frames.append(frame)

    def send(self, payload: bytes) -> None:
        self.frames.append(text_frame(payload))

    def close(self, code: int, reason: str = "") -> None:
        self.closed_with = code

    # -- what a client does ------------------------------------------------------------
    def _send_event(self, event: str, data: Any, channel: str | None = None) -> None:
        doc: dict[str, Any] = {"event": event, "data": data}
        if channel is not None:
            doc["channel"] = channel
        self.node.receive(self, json.dumps(doc).encode())

    async def subscribe(self, channel: str) -> dict[str, Any]:
        data: dict[str, Any] = {"channel": channel}
        if channel.startswith("presence-"):
            data["channel_data"] = json.dumps({"user_id": self.user, "user_info": {"name": self.user}})
        if channel.startswith(("private-", "presence-")):
            sig = channel_auth_signature(APP.secret, self.socket_id, channel, data.get("channel_data"))
            data["auth"] = f"{APP.key}:{sig}"
        self._send_event("pusher:subscribe", data)
        return await eventually(lambda: self.last("pusher_internal:subscription_succeeded", channel))

    def unsubscribe(self, channel: str) -> None:
        self._send_event("pusher:unsubscribe", {"channel": channel})

    def whisper(self, channel: str, event: str, data: Any) -> None:
        self._send_event(event, data, channel)

    def sign_in(self) -> None:
        user_data = json.dumps({"id": self.user})
        sig = user_auth_signature(APP.secret, self.socket_id, user_data)
        self._send_event("pusher:signin", {"user_data": user_data, "auth": f"{APP.key}:{sig}"})

    def disconnect(self) -> None:
        self.node.closed(self)

    # -- what it saw -------------------------------------------------------------------
    def events(self, name: str, channel: str | None = None) -> list[dict[str, Any]]:
        docs = (_payload(f) for f in self.frames)
        return [d for d in docs if d["event"] == name and (channel is None or d.get("channel") == channel)]

    def last(self, name: str, channel: str | None = None) -> dict[str, Any] | None:
        found = self.events(name, channel)
        return found[-1] if found else None


async def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll ``check`` (plain or async) until it returns something truthy; fail after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout * TIME_FACTOR
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {check}")
        await asyncio.sleep(0.01)


async def settled(check: Callable[[], Any], within: float = 0.3) -> None:
    """Assert ``check`` holds now and still holds ``within`` seconds later (no late surprise)."""
    assert check()
    await asyncio.sleep(within * TIME_FACTOR)
    assert check()
