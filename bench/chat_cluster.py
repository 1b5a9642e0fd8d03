"""chatapp as a cluster under load: messages per second, delivery p99 and CPU per message,
with one chatapp instance reached directly, one behind nginx, and three behind nginx.

Each configuration runs pyreverb nodes on Redis (one per instance), chatapp instances on one
PostgreSQL database, and the nginx site of deploy/nginx/chatapp-cluster.conf. Visitors send
as fast as they are answered (a closed loop); one agent follows the admin feed, and the
delivery latency is the time from a send to its event at the agent. On a small machine the
processes share the cores, so the report gives each instance's CPU per message rather than
a speed-up.

    python -m bench.chat_cluster [--visitors 20] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.chat_clients import Agent, Deliveries, Visitor, tag_body
from bench.stats import ProcessMeter
from chatapp.reverb_http import ReverbHTTP
from tests.chatapp.procs import ChatappProcess, create_pg_database, drop_pg_database
from tests.cluster.front_door import running_cluster

__all__ = ["run", "main"]

REDIS_URL = "redis://127.0.0.1:6379/0"
AGENT_PASSWORD = "bench-agent-password-0123"
UNLIMITED = {"CHATAPP_RATE_MESSAGES": "1000000/1", "CHATAPP_RATE_AUTH": "1000000/1"}


@contextmanager
def cluster(instances: int, behind_nginx: bool, workdir: Path) -> Iterator[Cluster]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    database = create_pg_database()
    try:
        with running_cluster(database, REDIS_URL, prefix, workdir, instances, UNLIMITED, behind_nginx) as running:
            key = running.nodes[0].key
            yield Cluster(running.base_url, f"ws://127.0.0.1:{running.ws_port}/app/{key}?protocol=7&client=bench",
                          running.apps)
    finally:
        drop_pg_database(database)


@dataclass
class Cluster:
    base_url: str
    ws_url: str
    apps: list[ChatappProcess]


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)


async def measure(target: Cluster, visitors: int, seconds: float) -> dict[str, Any]:
    email = f"agent-{secrets.token_hex(4)}@bench.test"
    target.apps[0].cli("create-admin", "--email", email, "--name", "Bench Agent", "--password", AGENT_PASSWORD)
    deliveries = Deliveries()
    connector = aiohttp.TCPConnector(limit=0)
    http = ReverbHTTP(target.base_url, 30.0, max_idle=visitors + 8)
    agents: list[Agent] = []  # these and the crowd are closed however the measure ends
    crowd: list[Visitor] = []
    async with aiohttp.ClientSession(connector=connector) as session:
        try:
            agents.append(await Agent.start(session, http, target.base_url, target.ws_url, email, AGENT_PASSWORD,
                                            deliveries))
            for i in range(visitors):
                crowd.append(await Visitor.start(session, http, target.base_url, target.ws_url, f"Visitor {i}",
                                                 deliveries))
            for v in crowd:  # open each conversation before the clock starts
                await v.send("hello")
            await asyncio.sleep(1.0)
            deliveries.reset()
            meters = [ProcessMeter(app.proc.pid) for app in target.apps if app.proc is not None]
            sent = errors = 0
            idents = iter(range(1, 10**9))
            stop = time.monotonic() + seconds

            async def talk(visitor: Visitor) -> None:
                nonlocal sent, errors
                while time.monotonic() < stop:
                    status = await visitor.send(tag_body(next(idents), "how long until it ships?"))
                    if status == 201:
                        sent += 1
                    else:
                        errors += 1

            started = time.monotonic()
            await asyncio.gather(*(talk(v) for v in crowd))
            elapsed = time.monotonic() - started
            await asyncio.sleep(2.0)  # the last deliveries
            cpu = [m.cpu_seconds() for m in meters]
        finally:
            for client in [*agents, *crowd]:
                await client.socket.close()
            await http.aclose()
    received = len(deliveries.to_agents)
    return {
        "messages_per_s": round(sent / elapsed, 1),
        "errors": errors,
        "delivered_to_agent": received,
        "lost": sent - received,
        "delivery_p50_ms": _pct(deliveries.to_agents, 50),
        "delivery_p99_ms": _pct(deliveries.to_agents, 99),
        "cpu_ms_per_message_per_instance": [round(c * 1000 / max(1, sent), 3) for c in cpu],
        "cpu_ms_per_message_total": round(sum(cpu) * 1000 / max(1, sent), 3),
    }


def run(visitors: int, seconds: float, say: Any = print) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for name, instances, behind in (("1 instance, direct", 1, False), ("1 instance, nginx", 1, True),
                                    ("3 instances, nginx", 3, True)):
        workdir = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
        try:
            with cluster(instances, behind, workdir) as target:
                results[name] = asyncio.run(measure(target, visitors, seconds))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        say(f"{name}: {results[name]}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args(argv)
    run(args.visitors, args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
