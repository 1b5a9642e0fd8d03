"""A client that stops reading is cut off; nobody else notices."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import httpx
import psutil
import websockets

from tests.e2e.test_http_api import signed_url
from tests.helpers.procs import ReverbProcess


async def _subscribe(ws: websockets.ClientConnection, channel: str) -> None:
    await ws.recv()
    await ws.send(json.dumps({"event": "pusher:subscribe", "data": {"channel": channel}}))
    assert "subscription_succeeded" in str(await ws.recv())


def _trigger(client: httpx.AsyncClient, node: ReverbProcess, channel: str, data: str) -> "asyncio.Future[httpx.Response]":
    body = json.dumps({"name": "tick", "channel": channel, "data": data}).encode()
    return client.post(signed_url(node, "POST", f"/apps/{node.app_id}/events", body), content=body)  # type: ignore[return-value]


async def _latencies(fast: websockets.ClientConnection, count: int) -> list[float]:
    out = []
    while len(out) < count:
        doc = json.loads(await asyncio.wait_for(fast.recv(), 10))
        inner = json.loads(doc["data"])
        if "sent" in inner:
            out.append(time.time() - inner["sent"])
    return out


async def test_slow_reader_is_closed_and_others_keep_their_latency() -> None:
    node = ReverbProcess(env={"PYREVERB_MAX_SEND_BUFFER": "262144", "PYREVERB_EVENT_DATA_LIMIT": "20000", "REVERB_MAX_REQUEST_SIZE": "200000"}).start()
    try:
        url = f"ws://127.0.0.1:{node.port}/app/{node.key}?protocol=7"
        proc = psutil.Process(node.proc.pid)  # type: ignore[union-attr]
        async with httpx.AsyncClient() as http, websockets.connect(url, max_queue=1) as slow, websockets.connect(url, max_size=None) as fast:
            await _subscribe(slow, "firehose")
            await _subscribe(fast, "probe")
            # baseline latency of the fast client
            for _ in range(20):
                await _trigger(http, node, "probe", json.dumps({"sent": time.time()}))
            baseline = await _latencies(fast, 20)
            rss_before = proc.memory_info().rss
            blob = "x" * 15_000
            during: list[float] = []
            for i in range(600):  # ~9 MB towards a client that reads nothing
                await _trigger(http, node, "firehose", json.dumps({"i": i, "pad": blob}))
                if i % 30 == 0:
                    await _trigger(http, node, "probe", json.dumps({"sent": time.time()}))
                    during += await _latencies(fast, 1)
            conns_url = signed_url(node, "GET", f"/apps/{node.app_id}/connections")
            for _ in range(100):
                if (await http.get(conns_url)).json()["connections"] == 1:
                    break
                await asyncio.sleep(0.05)
            assert (await http.get(conns_url)).json() == {"connections": 1}, "the slow reader must be dropped"
            assert "closing slow client" in node.log()
            growth = proc.memory_info().rss - rss_before
            assert growth < 20 * 1024 * 1024, f"server memory grew by {growth} bytes"
            assert statistics.median(during) < max(0.05, 5 * statistics.median(baseline)), (baseline, during)
            await fast.send('{"event":"pusher:ping","data":{}}')
            assert "pusher:pong" in str(await asyncio.wait_for(fast.recv(), 5))
    finally:
        node.stop()
