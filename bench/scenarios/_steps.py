"""A rising-rate ramp shared by fan-out and client events: steps, saturation, knee."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bench.config import LATENCY_BUDGET_MS

__all__ = ["ramp", "saturated", "knee", "delivered_rate", "per_core"]

Step = dict[str, Any]


def saturated(step: Step) -> bool:
    """Past the maximum: falling behind the offered rate, losing messages, or far too slow."""
    p99 = step["latency"]["p99_ms"]
    return (
        step["delivered_per_s"] < 0.8 * step["offered_per_s"]
        or step["received"] < 0.98 * step["expected"]
        or p99 is None
        or p99 > 1000
    )


def knee(steps: list[Step]) -> float | None:
    """The highest delivered rate at which p99 still kept within the latency budget."""
    within = [s["delivered_per_s"] for s in steps
              if not saturated(s) and s["latency"]["p99_ms"] is not None
              and s["latency"]["p99_ms"] <= LATENCY_BUDGET_MS]
    return max(within) if within else None


async def ramp(rates: tuple[int, ...], measure: Callable[[float], Awaitable[Step]],
               say: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Warm up, measure each offered rate until saturated (twice in a row), then once at
    half the maximum."""
    await measure(rates[0])  # JIT, caches and buffers warm: not recorded
    steps: list[Step] = []
    for rate in rates:
        step = await measure(rate)
        if saturated(step):  # once more: on a shared machine one stall must not end the ramp
            say(_line(step) + "  (behind: measured again)")
            again = await measure(rate)
            step = again if not saturated(again) or again["delivered_per_s"] > step["delivered_per_s"] else step
        steps.append(step)
        say(_line(step))
        if saturated(step):
            break
    # Throughput counts every step that lost nothing, overloaded ones included: the
    # open-loop trigger queues what the server cannot take, so the rate is its capacity.
    complete = [s for s in steps if s["received"] >= 0.98 * s["expected"]] or steps
    max_rate = max(s["delivered_per_s"] for s in complete)
    half = await measure(max_rate / 2) if max_rate > 0 else None
    if half is not None:
        say(_line(half) + "  (half of max)")
    return {
        "steps": steps,
        "max_delivered_per_s": max_rate,
        "knee_per_s": knee(steps),
        "at_half_max": half,
        "limited_by_ramp": not saturated(steps[-1]),
    }


def per_core(result: dict[str, Any]) -> float | None:
    """Messages/s one whole server core would carry, from the CPU spent per message at
    the busiest complete step: other processes on the machine lower the throughput a
    run reaches far more than the CPU each message costs."""
    complete = [s for s in result["steps"] if s["received"] >= 0.98 * s["expected"] and s.get("server_cpu_us_per_msg")]
    if not complete:
        return None
    best = max(complete, key=lambda s: s["delivered_per_s"])
    return round(1e6 / best["server_cpu_us_per_msg"])


def delivered_rate(received: int, t0_ms: float, last_at_ms: float | None, seconds: float) -> float:
    """Deliveries per second over the window from the first send to the last arrival."""
    if not received or last_at_ms is None:
        return 0.0
    span = max(seconds, (last_at_ms - t0_ms) / 1000)
    return round(received / span, 1)


def _line(step: Step) -> str:
    lat = step["latency"]
    return (f"   offered {step['offered_per_s']:>9,.0f}/s  delivered {step['delivered_per_s']:>9,.0f}/s  "
            f"p50 {lat['p50_ms']} p99 {lat['p99_ms']} ms  server {step['server_cpu_pct']}%"
            + (f" (sys {step['server_sys_share_pct']}%)  " if "server_sys_share_pct" in step else "  ")
            + f"load {step['load_cpu_pct']}% CPU"
            + (f" (trigger {step['trigger_agent_cpu_pct']}%)" if "trigger_agent_cpu_pct" in step else "")
            + f"  loadavg {step.get('loadavg_1m')}")
