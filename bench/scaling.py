"""``python -m bench.scaling``: what spreading the same clients over 1, 2 and 3 nodes costs.

Every run has the same client load: the same load agents hold the same
subscribers (``channels`` x ``subscribers`` per channel), agent ``k`` connected to
node ``k % nodes``; broadcasts enter through node 0's signed HTTP API, so with
several nodes most deliveries cross Redis. Topologies: one node on the memory
backend (the baseline), one node on Redis (the cost of the backend alone), two and
three nodes on Redis. Each node and the private ``redis-server`` are pinned to the
server core(s), the agents to the others, so every topology gets the same CPU.

For each topology: p50/p99 trigger->delivery at a fixed moderate rate, split into
deliveries on node 0 ("local") and on the other nodes ("remote"); the topologies take
turns for ``repeat`` rounds (so background noise hits them alike) and the medians are
reported. The first round also ramps the rate up for the maximum fan-out throughput.
Writes ``bench/results/scaling.json`` and ``.png``; ``--smoke`` is seconds long.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.agents import AgentPool
from bench.pinning import SERVER_CPUS, pinned, raise_open_files
from bench.report import RESULTS_DIR, machine, table, write_json
from bench.scenarios._steps import delivered_rate, ramp
from bench.servers import APP_ID, APP_KEY, APP_SECRET, LOG_DIR, ROOT, free_port
from bench.stats import Histogram, ProcessMeter, median

__all__ = ["ScalingConfig", "FULL", "SMOKE", "run_scaling", "main"]


@dataclass(frozen=True)
class ScalingConfig:
    name: str
    agents: int  # subscriber agents; a multiple of 6 spreads evenly over 1, 2 or 3 nodes
    channels: int
    subscribers: int  # per channel
    step_seconds: float
    moderate_rate: int  # deliveries/s for the latency comparison
    repeat: int  # rounds over all topologies at the moderate rate (medians reported)
    rates: tuple[int, ...]  # deliveries/s offered by the throughput ramp
    trigger_concurrency: int = 16


FULL = ScalingConfig(
    name="full",
    agents=6,
    channels=10,
    subscribers=60,
    step_seconds=3.0,
    moderate_rate=6_000,
    repeat=5,
    rates=(6_000, 12_000, 20_000, 30_000, 40_000, 50_000, 60_000, 80_000, 100_000, 130_000),
)

SMOKE = ScalingConfig(
    name="smoke",
    agents=3,
    channels=4,
    subscribers=10,
    step_seconds=0.5,
    moderate_rate=400,
    repeat=1,
    rates=(400,),
    trigger_concurrency=4,
)

TOPOLOGIES: tuple[tuple[str, int, bool], ...] = (
    ("1 node", 1, False),
    ("1 node + Redis", 1, True),
    ("2 nodes", 2, True),
    ("3 nodes", 3, True),
)


# -- processes ------------------------------------------------------------------------------
@dataclass
class Proc:
    """A pinned server-side process (a pyreverb node or redis-server) and its CPU meter."""

    name: str
    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    meter: ProcessMeter | None = None

    def start(self, ready: Any) -> Proc:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = open(LOG_DIR / f"scaling-{self.name}.log", "wb")
        env = {**os.environ, **self.env}
        self.proc = subprocess.Popen(
            pinned(self.cmd, SERVER_CPUS), env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while not ready(self):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start; see {LOG_DIR}/scaling-{self.name}.log")
            time.sleep(0.05)
        self.meter = ProcessMeter(self.proc.pid)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def target(self) -> dict[str, Any]:
        return {
            "proto": "pusher",
            "trigger": "pusher-http",
            "url": f"ws://127.0.0.1:{self.port}",
            "http": f"http://127.0.0.1:{self.port}",
            "appId": APP_ID,
            "key": APP_KEY,
            "secret": APP_SECRET,
        }


def _redis_up(p: Proc) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", p.port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _node_healthy(p: Proc) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{p.port}/up", timeout=1) as r:
            return b'"OK"' in r.read()
    except OSError:
        return False


def start_redis() -> Proc:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is needed for the scaling benchmark (apt-get install redis-server)")
    redis = Proc("redis", [binary, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
    redis.cmd += ["--port", str(redis.port)]
    return redis.start(_redis_up)


def start_nodes(count: int, redis: Proc | None) -> list[Proc]:
    env = {"REVERB_APP_ID": APP_ID, "REVERB_APP_KEY": APP_KEY, "REVERB_APP_SECRET": APP_SECRET}
    if redis is not None:
        env |= {
            "REVERB_SCALING_ENABLED": "true",
            "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
            "REVERB_SCALING_CHANNEL": f"bench-{uuid.uuid4().hex[:8]}",
        }
    nodes = []
    for i in range(count):
        node = Proc(f"node{i}", [], env)
        node.cmd = [sys.executable, "-m", "pyreverb", "start", "--host", "127.0.0.1", "--port", str(node.port)]
        nodes.append(node.start(_node_healthy))
    return nodes


# -- measurement ----------------------------------------------------------------------------------
def _merge(replies: list[dict[str, Any]]) -> Histogram:
    hist = Histogram()
    for reply in replies:
        hist.add(reply["hist"])
    return hist


async def _step(pool: AgentPool, nodes: list[Proc], meters: list[ProcessMeter], cfg: ScalingConfig,
                names: list[str], offered: float) -> dict[str, Any]:
    await pool.all("reset")
    await pool.trigger.call("reset")
    for meter in meters:
        meter.mark()
    tr = await pool.trigger.call(
        "trigger", target=nodes[0].target, channels=names, rate=offered / cfg.subscribers,
        seconds=cfg.step_seconds, concurrency=cfg.trigger_concurrency,
    )
    accepted = sum(n for status, n in tr["statuses"].items() if status.startswith("2"))
    expected = accepted * cfg.subscribers
    await pool.drain(expected)
    server_cpu = round(sum(m.cpu_percent() for m in meters), 1)
    replies = await pool.all("stats")
    trigger_cpu = (await pool.trigger.call("stats"))["cpuSeconds"]
    local = [r for k, r in enumerate(replies) if k % len(nodes) == 0]
    remote = [r for k, r in enumerate(replies) if k % len(nodes) != 0]
    received = sum(r["received"] for r in replies)
    lasts = [r["lastAt"] for r in replies if r["lastAt"]]
    wall = max(cfg.step_seconds, ((max(lasts) if lasts else tr["t0"]) - tr["t0"]) / 1000)
    return {
        "offered_per_s": round(offered, 1),
        "expected": expected,
        "received": received,
        "delivered_per_s": delivered_rate(received, tr["t0"], max(lasts) if lasts else None, cfg.step_seconds),
        "latency": _merge(replies).summary(),
        "latency_local": _merge(local).summary(),
        "latency_remote": _merge(remote).summary() if remote else None,
        "server_cpu_pct": server_cpu,
        "load_cpu_pct": round(100 * (sum(r["cpuSeconds"] for r in replies) + trigger_cpu) / wall, 1),
    }


async def measure_topology(pool: AgentPool, cfg: ScalingConfig, nodes: list[Proc], redis: Proc | None,
                           with_ramp: bool, say: Callable[[str], None]) -> dict[str, Any]:
    """Connect the subscribers, measure the moderate rate (and the ramp), disconnect."""
    names = [f"scale-{i}" for i in range(cfg.channels)]
    subscribers = [n for n in names for _ in range(cfg.subscribers)]
    parts = [subscribers[k :: cfg.agents] for k in range(cfg.agents)]
    replies = await asyncio.gather(*(
        agent.call("connect", target=nodes[k % len(nodes)].target, channels=part, concurrency=100)
        for k, (agent, part) in enumerate(zip(pool.clients, parts, strict=False))
    ))
    failed = sum(r["failed"] for r in replies)
    if failed:
        raise RuntimeError(f"{failed} subscribers failed: {[e for r in replies for e in r['errors']][:3]}")
    meters = [p.meter for p in [*nodes, *([redis] if redis else [])] if p.meter is not None]

    async def step(offered: float) -> dict[str, Any]:
        return await _step(pool, nodes, meters, cfg, names, offered)

    try:
        await step(cfg.moderate_rate)  # warm-up
        moderate = await step(cfg.moderate_rate)
        lat = moderate["latency"]
        say(f"   {cfg.moderate_rate:,} msg/s: p50 {lat['p50_ms']} p99 {lat['p99_ms']} ms")
        throughput = await ramp(cfg.rates, step, say) if with_ramp else None
    finally:
        await pool.all("close")
    return {"moderate": moderate, "throughput": throughput}


def headline(result: dict[str, Any]) -> dict[str, float | None]:
    """Medians of the moderate-rate rounds; the ramp's maximum and knee."""
    runs = result["moderate"]

    def med(key: str, pct: str) -> float | None:
        return median((r[key] or {}).get(pct) for r in runs)

    return {
        "p50 ms": med("latency", "p50_ms"),
        "p99 ms": med("latency", "p99_ms"),
        "local p50": med("latency_local", "p50_ms"),
        "remote p50": med("latency_remote", "p50_ms"),
        "remote p99": med("latency_remote", "p99_ms"),
        # paired within each run (same moment, same background): what the bus adds
        "bus +p50": median(
            round(r["latency_remote"]["p50_ms"] - r["latency_local"]["p50_ms"], 3)
            for r in runs
            if r["latency_remote"]
            and r["latency_remote"]["p50_ms"] is not None
            and r["latency_local"]["p50_ms"] is not None
        ),
        "cpu %": median(r["server_cpu_pct"] for r in runs),
        "max msg/s": result["throughput"]["max_delivered_per_s"],
        "knee msg/s": result["throughput"]["knee_per_s"],
    }


async def run_scaling(cfg: ScalingConfig, quiet: bool = False,
                      topologies: tuple[tuple[str, int, bool], ...] = TOPOLOGIES) -> dict[str, Any]:
    """Rounds of every topology in turn (so background noise hits all alike); ramps in round 1."""
    say: Callable[[str], None] = (lambda line: None) if quiet else (lambda line: print(line, flush=True))
    raise_open_files()
    pool = await AgentPool.start(cfg.agents)
    results: dict[str, Any] = {label: {"moderate": [], "throughput": None} for label, _, _ in topologies}
    try:
        for round_no in range(cfg.repeat):
            for label, count, with_redis in topologies:
                say(f"-- {label} (round {round_no + 1}/{cfg.repeat})")
                redis = start_redis() if with_redis else None
                nodes: list[Proc] = []
                try:
                    nodes = start_nodes(count, redis)
                    run = await measure_topology(pool, cfg, nodes, redis, round_no == 0, say)
                finally:
                    for p in [*nodes, *([redis] if redis else [])]:
                        p.stop()
                results[label]["moderate"].append(run["moderate"])
                results[label]["throughput"] = results[label]["throughput"] or run["throughput"]
    finally:
        await pool.stop()
    rows = {label: headline(r) for label, r in results.items()}
    base = rows.get("1 node", {}).get("p50 ms")
    for row in rows.values():
        row["+p50 ms"] = round(row["p50 ms"] - base, 3) if row["p50 ms"] is not None and base is not None else None
    doc = {"machine": machine(), "config": asdict(cfg), "headline": rows, "runs": results}
    write_json("scaling", doc)
    _plot(results)
    say(table(f"scaling: {cfg.channels}x{cfg.subscribers} subscribers, triggers into node 0, "
              f"latency at {cfg.moderate_rate:,} msg/s (median of {cfg.repeat})", rows))
    return doc


def _plot(results: dict[str, Any]) -> Path | None:
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, r in results.items():
        steps = r["throughput"]["steps"]
        ax.plot(
            [s["delivered_per_s"] for s in steps],
            [s["latency"]["p99_ms"] or 0 for s in steps],
            marker="o",
            label=f"{label} p99",
        )
    ax.set_xlabel("delivered messages/s")
    ax.set_ylabel("trigger -> delivery p99 (ms)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("same clients over 1, 2, 3 nodes")
    fig.tight_layout()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / "scaling.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a seconds-long run that checks the harness")
    parser.add_argument("--rounds", type=int, help="rounds at the moderate rate (default 5, smoke 1)")
    parser.add_argument("--only", action="append", choices=[t[0] for t in TOPOLOGIES], help="measure only these")
    args = parser.parse_args(argv)
    cfg = SMOKE if args.smoke else FULL
    if args.rounds:
        cfg = replace(cfg, repeat=args.rounds)
    chosen = tuple(t for t in TOPOLOGIES if not args.only or t[0] in args.only)
    asyncio.run(run_scaling(cfg, topologies=chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
