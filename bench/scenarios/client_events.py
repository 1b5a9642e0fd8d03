"""Client events: pairs of clients whisper to each other at a rising total rate.

Pusher servers relay ``client-*`` events on a private channel to the other member;
room servers echo to the whole room, and the agent ignores the sender's own copy.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from bench.agents import AgentPool
from bench.config import BenchConfig
from bench.scenarios._steps import delivered_rate, per_core, ramp
from bench.servers import Server

__all__ = ["run", "headline"]


async def run(server: Server, pool: AgentPool, cfg: BenchConfig, say: Callable[[str], None]) -> dict[str, Any]:
    prefix = "private-pair-" if server.proto == "pusher" else "pair-"
    conn = await pool.connect(server.target, [f"{prefix}{i}" for i in range(cfg.pairs)], mode="pairs")
    if conn["failed"]:
        raise RuntimeError(f"{server.name}: {conn['failed']} pairs failed: {conn['errors']}")
    senders = [a for i, a in enumerate(pool.clients) if i < cfg.pairs]

    async def measure(offered: float) -> dict[str, Any]:
        assert server.meter is not None
        await pool.all("reset")
        server.meter.mark()
        sent = await asyncio.gather(*(
            a.call("send", target=server.target, rate=offered / len(senders), seconds=cfg.step_seconds)
            for a in senders
        ))
        expected = sum(s["sent"] for s in sent)
        await pool.drain(expected)
        cpu = server.meter.cpu_percent()
        got = await pool.collect()
        t0 = min(s["t0"] for s in sent)
        delivered = delivered_rate(got["received"], t0, got["last_at"], cfg.step_seconds)
        return {
            "offered_per_s": round(offered, 1),
            "expected": expected,
            "received": got["received"],
            "delivered_per_s": delivered,
            "latency": got["latency"],
            "server_cpu_pct": cpu,
            "server_cpu_us_per_msg": round(cpu * 1e4 / delivered, 2) if delivered else None,
            "loadavg_1m": round(os.getloadavg()[0], 2),
            "load_cpu_pct": round(100 * got["agent_cpu_seconds"] / cfg.step_seconds, 1),
        }

    result = await ramp(cfg.whisper_rates, measure, say)
    await pool.all("close")
    result["pairs"] = cfg.pairs
    return result


def headline(result: dict[str, Any]) -> dict[str, float | None]:
    half = result["at_half_max"] or {"latency": {}}
    return {
        "max msg/s": result["max_delivered_per_s"],
        "msg/s per core": per_core(result),
        "knee msg/s": result["knee_per_s"],
        "p50@half ms": half["latency"].get("p50_ms"),
        "p99@half ms": half["latency"].get("p99_ms"),
        "CPU us/msg": half.get("server_cpu_us_per_msg"),
    }
