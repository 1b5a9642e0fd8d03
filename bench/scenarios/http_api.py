"""HTTP API: signed trigger requests/s (closed loop, keep-alive) naming 1 and 10 channels."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bench.agents import AgentPool
from bench.config import BenchConfig
from bench.servers import Server
from bench.stats import Histogram

__all__ = ["run", "headline", "applies"]

CHANNELS = [f"api-{i}" for i in range(100)]


def applies(server: Server) -> bool:
    return server.api_trigger is not None


async def run(server: Server, pool: AgentPool, cfg: BenchConfig, say: Callable[[str], None]) -> dict[str, Any]:
    assert server.api_trigger is not None and server.meter is not None
    target = server.target_with(server.api_trigger)
    lanes = max(1, cfg.api_concurrency // len(pool.clients))
    out: dict[str, Any] = {}
    for per_request in (1, 10):
        if per_request > 1 and not server.multi_channel_api:
            continue
        await pool.all("reset")
        server.meter.mark()
        replies = await asyncio.gather(*(
            a.call("hammer", target=target, channels=CHANNELS, channelsPerRequest=per_request,
                   seconds=cfg.api_seconds, concurrency=lanes)
            for a in pool.clients
        ))
        cpu = server.meter.cpu_percent()
        load = await pool.all("stats")
        hist = Histogram()
        statuses: dict[str, int] = {}
        for r in replies:
            hist.add(r["hist"])
            for status, n in r["statuses"].items():
                statuses[status] = statuses.get(status, 0) + n
        ok = sum(n for status, n in statuses.items() if status.startswith("2"))
        seconds = max(r["seconds"] for r in replies)
        out[f"{per_request}ch"] = {
            "requests_per_s": round(ok / seconds, 1),
            "failed": sum(statuses.values()) - ok,
            "statuses": statuses,
            "latency": hist.summary(),
            "server_cpu_pct": cpu,
            "server_cpu_us_per_request": round(cpu * 1e4 * seconds / ok, 1) if ok else None,
            "load_cpu_pct": round(100 * sum(r["cpuSeconds"] for r in load) / seconds, 1),
            "concurrency": lanes * len(pool.clients),
        }
    return out


def headline(result: dict[str, Any]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in ("1ch", "10ch"):
        r = result.get(key)
        out[f"{key} req/s"] = r["requests_per_s"] if r else None
        out[f"{key} p99 ms"] = r["latency"]["p99_ms"] if r else None
        out[f"{key} CPU us/req"] = r["server_cpu_us_per_request"] if r else None
        cpu = r["server_cpu_us_per_request"] if r else None
        out[f"{key} req/s per core"] = round(1e6 / cpu) if cpu else None
    return out
