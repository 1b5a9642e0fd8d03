"""``python -m bench.soak``: connection churn plus steady traffic, then a leak check.

Runs a real node for a bounded time while clients connect, subscribe (public,
private and presence) and disconnect at a steady rate and triggers flow to the
channels. Afterwards every client is gone, and the node's RSS, open file
descriptors, asyncio tasks and channel tables must come back to (near) the
baseline. Prints the figures and the growth extrapolated per hour; writes
``bench/results/soak.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import websockets

from pyreverb.protocol.auth import channel_auth_signature, sign_request
from tests.helpers.procs import ReverbProcess

__all__ = ["SoakResult", "soak", "main"]

RESULTS = Path(__file__).parent / "results"


@dataclass
class SoakResult:
    seconds: float
    connections_opened: int
    triggers_sent: int
    messages_received: int
    baseline: dict[str, float]
    after: dict[str, float]
    rss_growth_bytes: int
    rss_growth_per_hour_bytes: float
    fd_growth: int
    task_growth: int
    channels_left: int
    connections_left: int


def _signed(node: ReverbProcess, method: str, path: str, body: bytes = b"") -> str:
    import hashlib

    params = {"auth_key": node.key, "auth_timestamp": str(int(time.time())), "auth_version": "1.0"}
    if body:
        params["body_md5"] = hashlib.md5(body).hexdigest()
    params["auth_signature"] = sign_request(node.secret, method, path, params)
    return f"{node.base_url}{path}?" + "&".join(f"{k}={v}" for k, v in params.items())


async def _status(node: ReverbProcess, http: httpx.AsyncClient) -> dict[str, Any]:
    doc: dict[str, Any] = (await http.get(_signed(node, "GET", f"/apps/{node.app_id}/status"))).json()
    assert node.proc is not None, "the node was started"
    proc = psutil.Process(node.proc.pid)
    doc["rss"] = proc.memory_info().rss
    doc["fds"] = proc.num_fds()
    return doc


async def _churner(node: ReverbProcess, stop_at: float, counters: dict[str, int]) -> None:
    url = f"ws://127.0.0.1:{node.port}/app/{node.key}?protocol=7"
    while time.monotonic() < stop_at:
        try:
            async with websockets.connect(url) as ws:
                counters["opened"] += 1
                established = json.loads(await ws.recv())
                socket_id = json.loads(established["data"])["socket_id"]
                room = random.randrange(20)
                kind = random.choice(["public", "private", "presence"])
                if kind == "public":
                    sub = {"channel": f"soak-{room}"}
                elif kind == "private":
                    ch = f"private-soak-{room}"
                    sub = {"channel": ch, "auth": f"{node.key}:{channel_auth_signature(node.secret, socket_id, ch)}"}
                else:
                    ch = f"presence-soak-{room}"
                    data = json.dumps({"user_id": str(random.randrange(50))})
                    sub = {
                        "channel": ch,
                        "auth": f"{node.key}:{channel_auth_signature(node.secret, socket_id, ch, data)}",
                        "channel_data": data,
                    }
                await ws.send(json.dumps({"event": "pusher:subscribe", "data": sub}))
                deadline = time.monotonic() + random.uniform(0.05, 0.4)
                while time.monotonic() < deadline:
                    try:
                        await asyncio.wait_for(ws.recv(), deadline - time.monotonic())
                        counters["received"] += 1
                    except TimeoutError:
                        break
        except (OSError, websockets.WebSocketException):
            counters["errors"] += 1
            await asyncio.sleep(0.05)


async def _trigger_loop(
    node: ReverbProcess, http: httpx.AsyncClient, stop_at: float, rate: float, counters: dict[str, int]
) -> None:
    path = f"/apps/{node.app_id}/events"
    while time.monotonic() < stop_at:
        room = random.randrange(20)
        body = json.dumps(
            {
                "name": "tick",
                "channels": [f"soak-{room}", f"private-soak-{room}", f"presence-soak-{room}"],
                "data": "{}",
            }
        ).encode()
        await http.post(_signed(node, "POST", path, body), content=body)
        counters["triggers"] += 1
        await asyncio.sleep(1 / rate)


async def _churn(
    node: ReverbProcess,
    http: httpx.AsyncClient,
    seconds: float,
    concurrency: int,
    rate: float,
    counters: dict[str, int],
) -> None:
    stop_at = time.monotonic() + seconds
    await asyncio.gather(
        _trigger_loop(node, http, stop_at, rate, counters),
        *(_churner(node, stop_at, counters) for _ in range(concurrency)),
    )


async def _settled(node: ReverbProcess, http: httpx.AsyncClient) -> dict[str, Any]:
    """The node's figures once every client is gone and background clean-up is done."""
    doc: dict[str, Any] = {}
    for _ in range(50):
        await asyncio.sleep(0.1)
        doc = await _status(node, http)
        if doc["connections"] == 0 and doc["app_channels"] == 0 and doc["pending_cleanups"] == 0:
            break
    return doc


async def soak(seconds: float, concurrency: int = 40, trigger_rate: float = 50.0, quiet: bool = False) -> SoakResult:
    node = ReverbProcess().start()
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            counters = {"opened": 0, "received": 0, "errors": 0, "triggers": 0}
            # Warm-up churn first, so allocator and import warm-up do not count as growth.
            await _churn(node, http, min(30.0, seconds * 0.25), concurrency, trigger_rate, counters)
            baseline = await _settled(node, http)
            started = time.monotonic()
            await _churn(node, http, seconds, concurrency, trigger_rate, counters)
            elapsed = time.monotonic() - started
            after = await _settled(node, http)
        rss_growth = int(after["rss"] - baseline["rss"])
        result = SoakResult(
            seconds=round(elapsed, 1),
            connections_opened=counters["opened"],
            triggers_sent=counters["triggers"],
            messages_received=counters["received"],
            baseline={k: baseline[k] for k in ("rss", "fds", "tasks", "connections", "app_channels")},
            after={k: after[k] for k in ("rss", "fds", "tasks", "connections", "app_channels")},
            rss_growth_bytes=rss_growth,
            rss_growth_per_hour_bytes=round(rss_growth * 3600 / max(elapsed, 1), 0),
            fd_growth=int(after["fds"] - baseline["fds"]),
            task_growth=int(after["tasks"] - baseline["tasks"]),
            channels_left=int(after["app_channels"]),
            connections_left=int(after["connections"]),
        )
    finally:
        node.stop()
    if not quiet:
        rate = result.connections_opened / max(result.seconds, 1)
        print(f"soak {result.seconds}s: {result.connections_opened} connections ({rate:.0f}/s), "
              f"{result.triggers_sent} triggers, {result.messages_received} messages received")
        print(
            f"  RSS  {result.baseline['rss'] / 1e6:.1f} MB -> {result.after['rss'] / 1e6:.1f} MB "
            f"(growth {result.rss_growth_bytes / 1e6:+.2f} MB, "
            f"{result.rss_growth_per_hour_bytes / 1e6:+.1f} MB/hour extrapolated)"
        )
        print(
            f"  fds  {result.baseline['fds']} -> {result.after['fds']}; "
            f"tasks {result.baseline['tasks']} -> {result.after['tasks']}; "
            f"channels left {result.channels_left}; connections left {result.connections_left}"
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=300.0, help="how long to churn (default 300)")
    parser.add_argument("--concurrency", type=int, default=40, help="simultaneous churning clients")
    parser.add_argument("--rate", type=float, default=50.0, help="triggers per second")
    args = parser.parse_args()
    result = asyncio.run(soak(args.seconds, args.concurrency, args.rate))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(asdict(result), indent=2))
    ok = (
        result.connections_left == 0 and result.channels_left == 0 and result.fd_growth <= 5 and result.task_growth <= 5
    )
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
