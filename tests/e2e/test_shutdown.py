"""Graceful shutdown: clients are told to reconnect (4200) and come back to a new node."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.helpers.node_client import NodeClient, sdk_auth
from tests.helpers.procs import ReverbProcess


@pytest.mark.slow
async def test_sigterm_sends_4200_and_pusher_js_reconnects_to_the_restarted_node(node_clients: list[NodeClient]) -> None:
    node = ReverbProcess().start()
    try:
        raw = await websockets.connect(f"ws://127.0.0.1:{node.port}/app/{node.key}?protocol=7")
        await raw.recv()
        client = await NodeClient.start(auth=sdk_auth(node.pusher_client(), user_id="u"))
        node_clients.append(client)
        client.send(cmd="pusher", key=node.key, port=node.port)
        first_socket = await client.connected()
        client.send(cmd="subscribe", channel="private-orders")
        await client.wait_for(lambda e: e["type"] == "subscribed")

        started = time.monotonic()
        node.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        error = json.loads(await asyncio.wait_for(raw.recv(), 5))
        assert error["event"] == "pusher:error" and json.loads(error["data"])["code"] == 4200
        try:
            await asyncio.wait_for(raw.recv(), 5)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 4200
        assert await asyncio.to_thread(node.proc.wait, 10) == 0  # type: ignore[union-attr]
        assert time.monotonic() - started < 5, "drain must be quick"

        client.clear()
        node.start()  # same port
        second_socket = await client.connected(timeout=20)
        assert second_socket != first_socket
        await client.wait_for(lambda e: e["type"] == "subscribed" and e["channel"] == "private-orders", timeout=10)
        sdk = node.pusher_client()
        await asyncio.to_thread(sdk.trigger, "private-orders", "shipped", {"id": 1})
        got = await client.wait_for(lambda e: e["type"] == "event" and e["event"] == "shipped")
        assert got["data"] == {"id": 1}
    finally:
        node.stop()
