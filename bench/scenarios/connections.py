"""Connections: ramp to N subscribed idle sockets; RSS per connection, connect rate, idle CPU.

``--channels private`` or ``presence`` subscribes to signed channels instead (100 members
per presence channel, Pusher's default limit): the CPU per connect then includes the
signature check and the presence join.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from bench.agents import AgentPool
from bench.config import BenchConfig
from bench.servers import Server

__all__ = ["run", "headline", "server_env"]

CHANNELS = 100


def server_env(cfg: BenchConfig) -> dict[str, str]:
    """pyreverb pings every socket twice within the idle window, so pings are in the figure."""
    return {"REVERB_APP_PING_INTERVAL": str(max(1.0, cfg.idle_seconds / 2))}


async def run(server: Server, pool: AgentPool, cfg: BenchConfig, say: Callable[[str], None]) -> dict[str, Any]:
    meter = server.meter
    assert meter is not None
    await asyncio.sleep(0.5)
    base_rss = meter.rss()
    ramp: list[dict[str, Any]] = []
    connected, connect_seconds = 0, 0.0
    meter.mark()  # the server's CPU over the ramp: what one connect + subscribe costs it
    while connected < cfg.connections:
        batch = min(cfg.connection_batch, cfg.connections - connected)
        names = [f"{cfg.channel_prefix}idle-{(connected + i) % CHANNELS}" for i in range(batch)]
        started = time.monotonic()
        r = await pool.connect(server.target, names, concurrency=64)
        connect_seconds += time.monotonic() - started
        if r["failed"]:
            raise RuntimeError(f"{server.name}: {r['failed']} of {batch} connections failed: {r['errors']}")
        connected += r["connected"]
        ramp.append({"connections": connected, "rss_bytes": meter.rss(), "seconds": round(connect_seconds, 3)})
    connect_cpu_us = 1e6 * meter.cpu_seconds() / max(connected, 1)
    await asyncio.sleep(1.0)
    rss = meter.rss()
    await pool.all("reset")
    meter.mark()
    await asyncio.sleep(cfg.idle_seconds)
    idle_cpu = meter.cpu_percent()
    got = await pool.collect()
    await pool.all("close")
    return {
        "connections": connected,
        "still_open": got["open"],
        "dropped": got["unexpected_closes"],
        "base_rss_bytes": base_rss,
        "rss_bytes": rss,
        "rss_per_connection_kb": round((rss - base_rss) / connected / 1024, 2),
        "connect_per_s": round(connected / connect_seconds, 1),
        "connect_cpu_us": round(connect_cpu_us, 1),
        "idle_cpu_pct": idle_cpu,
        "idle_seconds": cfg.idle_seconds,
        "load_idle_cpu_pct": round(100 * got["agent_cpu_seconds"] / cfg.idle_seconds, 1),
        "ramp": ramp,
    }


def headline(result: dict[str, Any]) -> dict[str, float | None]:
    return {
        "connections": result["still_open"],
        "KB/conn": result["rss_per_connection_kb"],
        "RSS MB": round(result["rss_bytes"] / 2**20, 1),
        "connect/s": result["connect_per_s"],
        "server CPU µs/connect": result.get("connect_cpu_us"),
        "idle CPU %": result["idle_cpu_pct"],
    }
