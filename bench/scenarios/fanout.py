"""Fan-out: channels x subscribers, broadcasts triggered at a rising rate.

Each step triggers at ``offered / subscribers`` requests/s for a few seconds
(open loop: a request waiting for a free HTTP connection keeps its scheduled
timestamp, so queueing shows as latency) and measures every delivery.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from bench.agents import AgentPool
from bench.config import BenchConfig
from bench.scenarios._steps import delivered_rate, per_core, ramp
from bench.servers import Server

__all__ = ["run", "headline"]


async def run(server: Server, pool: AgentPool, cfg: BenchConfig, say: Callable[[str], None]) -> dict[str, Any]:
    shapes: dict[str, Any] = {}
    for channels, subscribers in cfg.fanout_shapes:
        names = [f"fan-{i}" for i in range(channels)]
        conn = await pool.connect(server.target, [n for n in names for _ in range(subscribers)])
        if conn["failed"]:
            raise RuntimeError(f"{server.name}: {conn['failed']} subscribers failed: {conn['errors']}")

        measure = functools.partial(_step, server, pool, cfg, names, subscribers)

        say(f"   {channels}x{subscribers}")
        result = await ramp(cfg.fanout_rates, measure, say)
        await pool.all("close")
        await pool.trigger.call("close")
        shapes[f"{channels}x{subscribers}"] = result
    return {"shapes": shapes}


async def _step(server: Server, pool: AgentPool, cfg: BenchConfig, names: list[str], subscribers: int,
                offered: float) -> dict[str, Any]:
    assert server.meter is not None
    await pool.all("reset")
    await pool.trigger.call("reset")
    server.meter.mark()
    tr = await pool.trigger.call(
        "trigger", target=server.target, channels=names, rate=offered / subscribers,
        seconds=cfg.step_seconds, concurrency=cfg.trigger_concurrency,
    )
    accepted = sum(n for status, n in tr["statuses"].items() if status.startswith("2"))
    expected = accepted * subscribers
    await pool.drain(expected)
    server_cpu = server.meter.cpu_percent()
    server_sys = server.meter.kernel_share()
    got = await pool.collect()
    trigger_cpu = (await pool.trigger.call("stats"))["cpuSeconds"]
    wall = max(cfg.step_seconds, ((got["last_at"] or tr["t0"]) - tr["t0"]) / 1000)
    delivered = delivered_rate(got["received"], tr["t0"], got["last_at"], cfg.step_seconds)
    return {
        "offered_per_s": round(offered, 1),
        "triggers_per_s": round(offered / subscribers, 1),
        "triggered": tr["scheduled"],
        "accepted": accepted,
        "statuses": tr["statuses"],
        "expected": expected,
        "received": got["received"],
        "delivered_per_s": delivered,
        "latency": got["latency"],
        "server_cpu_pct": server_cpu,
        "server_sys_share_pct": server_sys,
        # CPU per delivery: how much work, whatever else the machine was doing
        "server_cpu_us_per_msg": round(server_cpu * 1e4 / delivered, 2) if delivered else None,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "load_cpu_pct": round(100 * (got["agent_cpu_seconds"] + trigger_cpu) / wall, 1),
        "trigger_agent_cpu_pct": round(100 * trigger_cpu / wall, 1),
    }


def headline(result: dict[str, Any]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for shape, r in result["shapes"].items():
        half = r["at_half_max"] or {"latency": {}}
        out[f"{shape} max msg/s"] = r["max_delivered_per_s"]
        out[f"{shape} msg/s per core"] = per_core(r)
        out[f"{shape} knee msg/s"] = r["knee_per_s"]
        out[f"{shape} p99@half ms"] = half["latency"].get("p99_ms")
        out[f"{shape} CPU us/msg"] = half.get("server_cpu_us_per_msg")
    return out
