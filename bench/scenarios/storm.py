"""Reconnect storm: every subscribed client reconnects at once after a server restart.

On one node a restart closes every socket, so "subscribers that stayed connected"
cannot be the old ones. The design here: after the restart a small set of *steady*
subscribers connects first (the sockets already established when the wave arrives),
publishing starts (one message every few ms to the steady channel, and a stream
round the audience's channels), and then the whole audience reconnects and
resubscribes at once. Reported: the time until all are back, the steady
subscribers' delivery latency during the storm (and in the quiet lead-in before
it), and messages lost: every message published after a client's resubscribe must
reach it (checked against the publisher's log of accepted triggers).

The server is restarted with SIGTERM: pyreverb drains (4200 to every client, exactly
what ``pyreverb restart`` does) and the harness starts it again on the same port, as
a supervisor would; peers the same way. The wave is released once the new process
answers its health check, so every server meets the same storm and its start-up time
is reported on its own (``restart s``).
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable
from typing import Any

from bench.agents import AgentPool
from bench.config import BenchConfig
from bench.servers import Server
from bench.stats import Histogram

__all__ = ["run", "headline", "applies"]

CHANNELS = 100
SOURCES = 8  # loopback source addresses the clients spread over (ephemeral ports)


def applies(server: Server) -> bool:
    return server.proto == "pusher"


async def run(server: Server, pool: AgentPool, cfg: BenchConfig, say: Callable[[str], None]) -> dict[str, Any]:
    target = {**server.target, "sources": SOURCES}
    channels = [f"storm-{i % CHANNELS}" for i in range(cfg.storm_clients)]
    first = await pool.connect(target, channels, mode="storm", concurrency=256)
    if first["failed"]:
        raise RuntimeError(f"{server.name}: {first['failed']} of {len(channels)} first connections failed: "
                           f"{first['errors']}")
    await pool.all("expectClose")
    started = time.monotonic()
    await asyncio.to_thread(server.restart)
    restart_seconds = time.monotonic() - started
    target = {**server.target, "sources": SOURCES}  # same port, new process
    # The steady subscribers live in the publishing agent: the storm agent is busy opening
    # thousands of sockets, and would read their deliveries late itself.
    steady = await pool.trigger.call("connect", target=target, channels=["steady"] * cfg.storm_steady,
                                     mode="steady", concurrency=cfg.storm_steady)
    if steady["failed"]:
        raise RuntimeError(f"{server.name}: steady subscribers failed: {steady['errors']}")
    await pool.trigger.call("reset")
    meter = server.meter
    assert meter is not None
    streams = [{"channels": ["steady"], "rate": cfg.storm_steady_rate},
               {"channels": sorted(set(channels)), "rate": cfg.storm_channel_rate}]
    publishing = asyncio.create_task(pool.trigger.call(
        "publish", target=target, streams=streams, seconds=cfg.storm_seconds, concurrency=16))
    await asyncio.sleep(min(1.5, cfg.storm_seconds * 0.15))  # a quiet lead-in: the steady baseline
    meter.mark()
    waves = await asyncio.gather(*(a.call("storm", target=target, seconds=60) for a in pool.clients))
    storm_cpu = meter.cpu_seconds()
    published = await publishing
    await asyncio.sleep(1.0)  # the last deliveries
    reports = [*await pool.all("stormReport"), await pool.trigger.call("stormReport")]
    result = _summarise(cfg, waves, published, reports)
    result.update({
        "restart_seconds": round(restart_seconds, 2),
        "server_cpu_us_per_reconnect": round(1e6 * storm_cpu / max(result["back"], 1), 1),
    })
    say(f"   {result['back']:,} back in {result['all_back_s']} s (p50 {result['p50_back_s']} s, "
        f"{result['retries']} retries); steady p99 {result['steady_storm']['p99_ms']} ms during the storm, "
        f"{result['steady_quiet']['p99_ms']} ms before; lost {result['lost']}; "
        f"{result['server_cpu_us_per_reconnect']} µs CPU per reconnect")
    await pool.all("close")
    await pool.trigger.call("close")
    return result


def _summarise(cfg: BenchConfig, waves: list[dict[str, Any]], published: dict[str, Any],
               reports: list[dict[str, Any]]) -> dict[str, Any]:
    storm_start = min(w["startedAt"] for w in waves)
    storm_end = max(w["startedAt"] + (w["times"][-1] if w["times"] else 0) for w in waves)
    times = sorted(w["startedAt"] - storm_start + t for w in waves for t in w["times"])
    accepted: dict[str, list[float]] = {ch: sorted(ts) for ch, ts in published["accepted"].items()}
    lost = 0
    where = _LostAt()
    for report in reports:
        for channel, sub_at, after, _before, first_after, closed_at in report["clients"]:
            sent = accepted.get(channel, [])
            expected = len(sent) - bisect.bisect_right(sent, sub_at)
            missing = max(0, expected - after)
            lost += missing
            if missing:
                where.add(sent, sub_at, missing, first_after, closed_at)
    samples = [s for r in reports for s in r["samples"]]
    steady_expected = len(accepted.get("steady", [])) * cfg.storm_steady
    back = len(times)
    all_back = (storm_end - storm_start) / 1000
    last_publish = max((ts[-1] for ts in accepted.values() if ts), default=storm_start)
    return {
        "clients": cfg.storm_clients,
        "back": back,
        "failed": sum(w["failed"] for w in waves),
        "retries": sum(w["retries"] for w in waves),
        "errors": [e for w in waves for e in w["errors"]][:5],
        "all_back_s": round(all_back, 3),
        "p50_back_s": round(times[len(times) // 2] / 1000, 3) if times else None,
        "reconnect_per_s": round(back / all_back, 1) if all_back else None,
        "publish_covered_storm": last_publish >= storm_end,
        "published": sum(len(ts) for ts in accepted.values()),
        "publish_statuses": published["statuses"],
        "publish_unanswered": published["unanswered"],
        "lost": lost,
        "lost_where": where.summary(),
        "steady_lost": max(0, steady_expected - len(samples)),
        "steady_storm": _latency([lat for at, lat in samples if storm_start <= at <= storm_end]),
        "steady_quiet": _latency([lat for at, lat in samples if at < storm_start]),
        "timeline": _timeline(samples, times, storm_start),
    }


class _LostAt:
    """Where the messages a storm client missed fell, so a loss says what it was: missed just
    after the subscribe (before the first message the client got), after the socket closed
    unexpectedly, or in the middle of a stream that otherwise arrived."""

    def __init__(self) -> None:
        self.clients = 0
        self.closed = 0  # of those clients, sockets closed by the server or the network
        self.at_start = 0  # messages scheduled after the subscribe but before the first one received
        self.elsewhere = 0
        self.latest_at_start_ms = 0.0  # how long after the subscribe the last of those was scheduled

    def add(self, sent: list[float], sub_at: float, missing: int, first_after: float, closed_at: float) -> None:
        self.clients += 1
        self.closed += bool(closed_at)
        upto = first_after if first_after else (closed_at or float("inf"))
        early = sent[bisect.bisect_right(sent, sub_at):bisect.bisect_left(sent, upto)]
        at_start = min(missing, len(early))
        self.at_start += at_start
        self.elsewhere += missing - at_start
        if at_start:
            self.latest_at_start_ms = max(self.latest_at_start_ms, round(early[at_start - 1] - sub_at, 3))

    def summary(self) -> dict[str, float]:
        return {"clients": self.clients, "closed_unexpectedly": self.closed, "at_start": self.at_start,
                "elsewhere": self.elsewhere, "latest_at_start_ms_after_subscribe": self.latest_at_start_ms}


def _timeline(samples: list[list[float]], times: list[float], storm_start: float,
              step_ms: float = 250.0) -> list[dict[str, float]]:
    """Per 250 ms from the storm's start: clients back so far, steady deliveries and their worst latency."""
    rows: dict[int, dict[str, float]] = {}
    for at, lat in samples:
        if at >= storm_start:
            row = rows.setdefault(int((at - storm_start) // step_ms), {"deliveries": 0, "max_ms": 0.0})
            row["deliveries"] += 1
            row["max_ms"] = max(row["max_ms"], round(lat, 1))
    last = int(times[-1] // step_ms) if times else 0
    return [{"t_s": k * step_ms / 1000, "back": bisect.bisect_right(times, (k + 1) * step_ms),
             **rows.get(k, {"deliveries": 0, "max_ms": 0.0})} for k in range(last + 1)]


def _latency(values: list[float]) -> dict[str, float | None]:
    hist = Histogram()
    hist.add([round(v, 2), 1] for v in values)
    return {"count": len(values), **hist.summary()}


def headline(result: dict[str, Any]) -> dict[str, float | None]:
    return {
        "clients": result["back"],
        "all back s": result["all_back_s"],
        "p50 back s": result["p50_back_s"],
        "reconnect/s": result["reconnect_per_s"],
        "server CPU µs/reconnect": result["server_cpu_us_per_reconnect"],
        "storm p99 ms": result["steady_storm"]["p99_ms"],
        "quiet p99 ms": result["steady_quiet"]["p99_ms"],
        "lost": result["lost"] + result["steady_lost"],
        "restart s": result["restart_seconds"],
    }
