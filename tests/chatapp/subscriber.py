"""A real pusher-js subscriber on chatapp's channels, for counting what reaches browsers.

Its channel subscriptions are signed with the Python ``pusher`` SDK and the app's
secret, as chatapp's ``/broadcasting/auth`` would sign them, so it keeps listening
while chatapp itself is stopped or killed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import pusher

from tests.helpers.node_client import TIME_FACTOR, NodeClient, sdk_auth
from tests.helpers.procs import ReverbProcess

__all__ = ["Subscriber", "message_ids", "repeats"]


class Subscriber:
    def __init__(self, client: NodeClient, channels: list[str]) -> None:
        self.client = client
        self.channels = channels

    @classmethod
    async def start(cls, reverb_port: int, channels: list[str]) -> Subscriber:
        creds = ReverbProcess(port=reverb_port)  # the app id, key and secret every test process uses
        signer = pusher.Pusher(app_id=creds.app_id, key=creds.key, secret=creds.secret, host="127.0.0.1",
                               port=reverb_port, ssl=False)
        client = await NodeClient.start(auth=sdk_auth(signer))
        client.send(cmd="pusher", key=creds.key, port=reverb_port)
        await client.connected(timeout=10)
        subscriber = cls(client, channels)
        for channel in channels:
            client.send(cmd="subscribe", channel=channel)
        await subscriber.subscribed(times=1)
        return subscriber

    def _subscriptions(self, channel: str) -> int:
        return sum(1 for e in self.client.events if e["type"] == "subscribed" and e["channel"] == channel)

    async def subscribed(self, times: int, timeout: float = 30.0) -> None:
        """Every channel subscribed ``times`` times (pusher-js subscribes again after each reconnect)."""
        await self.until(lambda: all(self._subscriptions(c) >= times for c in self.channels), timeout,
                         f"{self.channels} subscribed {times}x")

    def received(self, channel: str, name: str) -> list[dict[str, Any]]:
        return [e["data"] for e in self.client.events
                if e["type"] == "event" and e["channel"] == channel and e["event"] == name]

    async def until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = asyncio.get_running_loop().time() + timeout * TIME_FACTOR
        while not done():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{what}: not within {timeout}s; last events {self.client.events[-10:]}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await self.client.close()


def message_ids(events: list[dict[str, Any]]) -> list[int]:
    """The message ids of ``message.sent`` events (or the ``message`` of admin-feed events)."""
    return [int(e["message"]["id"] if "message" in e else e["id"]) for e in events]


def repeats(ids: list[int]) -> dict[int, int]:
    return {i: n for i, n in Counter(ids).items() if n > 1}
