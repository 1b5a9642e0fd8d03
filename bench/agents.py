"""Node load agents (``bench/load/agent.mjs``): start, command, merge their reports."""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.pinning import LOAD_CPUS, pinned
from bench.stats import Histogram

__all__ = ["Agent", "AgentPool", "ensure_node_modules", "LOAD_DIR"]

LOAD_DIR = Path(__file__).resolve().parent / "load"


def ensure_node_modules() -> None:
    """Install the agents' one dependency (``ws``) from bench/load/package.json."""
    if (LOAD_DIR / "node_modules" / "ws" / "package.json").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed for the load agents (Node ws clients)")
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent"], cwd=LOAD_DIR, check=True)


class AgentError(RuntimeError):
    pass


class Agent:
    """One Node process; commands are answered in order, one JSON line each."""

    _ids = itertools.count(1)

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name
        self._lock = asyncio.Lock()

    @classmethod
    async def start(cls, name: str) -> Agent:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is needed for the load agents")
        proc = await asyncio.create_subprocess_exec(
            *pinned([node, str(LOAD_DIR / "agent.mjs")], LOAD_CPUS),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,
        )
        return cls(proc, name)

    async def call(self, cmd: str, timeout: float = 300, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        async with self._lock:
            ident = next(self._ids)
            self.proc.stdin.write(json.dumps({"id": ident, "cmd": cmd, **args}).encode() + b"\n")
            await self.proc.stdin.drain()
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise AgentError(f"agent {self.name} exited (code {self.proc.returncode}) during {cmd}")
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise AgentError(f"agent {self.name} failed {cmd}: {reply.get('error')}")
        return reply

    async def stop(self) -> None:
        if self.proc.returncode is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


class AgentPool:
    """Subscriber agents plus one trigger agent, all pinned to the load cores."""

    def __init__(self, clients: list[Agent], trigger: Agent) -> None:
        self.clients = clients
        self.trigger = trigger

    @classmethod
    async def start(cls, clients: int) -> AgentPool:
        ensure_node_modules()
        agents = [await Agent.start(f"client-{i}") for i in range(clients)]
        return cls(agents, await Agent.start("trigger"))

    async def stop(self) -> None:
        for agent in [*self.clients, self.trigger]:
            await agent.stop()

    async def all(self, cmd: str, **args: Any) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(a.call(cmd, **args) for a in self.clients)))

    async def connect(self, target: dict[str, Any], channels: list[str], mode: str = "subscribers",
                      concurrency: int = 100) -> dict[str, Any]:
        """Spread one connection (or pair) per entry of ``channels`` over the agents."""
        n = len(self.clients)
        parts = [channels[i::n] for i in range(n)]
        replies = await asyncio.gather(*(
            a.call("connect", target=target, channels=part, mode=mode, concurrency=concurrency)
            for a, part in zip(self.clients, parts, strict=True) if part
        ))
        errors = [e for r in replies for e in r.get("errors", [])]
        return {
            "connected": sum(r["connected"] for r in replies),
            "failed": sum(r["failed"] for r in replies),
            "seconds": max(r["seconds"] for r in replies),
            "errors": errors[:5],
        }

    async def received(self) -> int:
        return sum(r["received"] for r in await self.all("count"))

    async def collect(self) -> dict[str, Any]:
        """Merged delivery figures since the last reset."""
        replies = await self.all("stats")
        hist = Histogram()
        for r in replies:
            hist.add(r["hist"])
        firsts = [r["firstAt"] for r in replies if r["firstAt"]]
        lasts = [r["lastAt"] for r in replies if r["lastAt"]]
        return {
            "received": sum(r["received"] for r in replies),
            "first_at": min(firsts) if firsts else None,
            "last_at": max(lasts) if lasts else None,
            "latency": hist.summary(),
            "agent_cpu_seconds": round(sum(r["cpuSeconds"] for r in replies), 3),
            "open": sum(r["open"] for r in replies),
            "unexpected_closes": sum(r["unexpectedCloses"] for r in replies),
        }

    async def drain(self, expected: int, settle: float = 1.0, cap: float = 15.0) -> int:
        """Wait until ``expected`` messages arrived or nothing more comes for ``settle`` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + cap
        last, quiet_since = -1, loop.time()
        while loop.time() < deadline:
            got = await self.received()
            if got >= expected:
                return got
            if got != last:
                last, quiet_since = got, loop.time()
            elif loop.time() - quiet_since >= settle:
                return got
            await asyncio.sleep(0.05)
        return last
