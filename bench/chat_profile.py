"""Where chatapp's time goes under load: py-spy on the running process, summarised.

``py-spy record --pid`` samples the chatapp process while the load runs and writes
collapsed stacks (flame-graph input, ``var/profiles/chat-<database>.folded``);
:func:`hot_spots` turns them into the share of samples each project function is on
the stack for, which the report prints beside the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import asyncpg

from bench.servers import ROOT

__all__ = ["Profiler", "PgWaits", "hot_spots", "PROFILE_DIR"]

PROFILE_DIR = ROOT / "var" / "profiles"
_FRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^:]+)(?::\d+)?\)$")
_OURS = ("chatapp/", "pyreverb/")
_ENTRY = {"chatapp.cli.serve", "chatapp.__main__.<module>"}
_LIBS = ("sqlite3", "aiosqlite", "asyncpg", "uvicorn", "starlette", "httpx", "orjson")


class Profiler:
    """``py-spy record`` attached to ``pid`` until :meth:`stop`."""

    def __init__(self, pid: int, name: str) -> None:
        PROFILE_DIR.mkdir(parents=True, exist_ok=True)
        self.path = PROFILE_DIR / f"chat-{name}.folded"
        spy = Path(sys.executable).with_name("py-spy")
        self.proc = subprocess.Popen([str(spy), "record", "--pid", str(pid), "--rate", "200", "--nonblocking",
                                      "--format", "raw", "-o", str(self.path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> Path | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.path if self.path.exists() else None


def _label(frame: str) -> str | None:
    match = _FRAME.match(frame.strip())
    if match is None:
        return None
    path = match.group("file")
    for root in _OURS:
        if root in path:
            module = path[path.index(root):].removesuffix(".py").replace("/", ".")
            return f"{module}.{match.group('func')}"
    for lib in _LIBS:
        if f"/{lib}/" in path or path.endswith(f"/{lib}.py"):
            return f"[{lib}] {match.group('func')}"
    return None


def _sqlite_running_frame() -> str:
    """The frame aiosqlite's worker thread shows while SQLite runs a statement (native
    code, so py-spy sees only the line that called it)."""
    import inspect

    import aiosqlite.core

    lines, first = inspect.getsourcelines(aiosqlite.core._connection_worker_thread)
    line = next(first + i for i, text in enumerate(lines) if "result = function()" in text)
    return f"aiosqlite/core.py:{line})"  # py-spy names files from their package down


SQLITE_RUNNING = "[sqlite] statements running (aiosqlite worker thread)"


def hot_spots(path: Path, top: int = 15) -> list[tuple[str, float]]:
    """(function, percent of the samples that run project code it is on the stack for), most first."""
    inclusive: Counter[str] = Counter()
    busy = 0
    running = _sqlite_running_frame()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        frames = stack.split(";")
        labels = {lab for lab in map(_label, frames) if lab and lab not in _ENTRY}
        if frames[-1].startswith("_connection_worker_thread (") and frames[-1].endswith(running):
            labels.add(SQLITE_RUNNING)
        if not labels:
            continue  # the event loop or a driver thread with no request code on the stack: waiting
        count = int(count_text)
        busy += count
        for label in labels:
            inclusive[label] += count
    if not busy:
        return []
    return [(label, round(100 * n / busy, 1)) for label, n in inclusive.most_common(top)]


class PgWaits:
    """What chatapp's PostgreSQL sessions are doing, sampled every 50 ms from ``pg_stat_activity``.

    Counts of ``state`` / ``wait_event_type:wait_event`` over the run's database: many
    ``active`` samples waiting on ``Lock`` or ``IO`` mean the database, not chatapp's
    CPU, sets the pace; ``idle`` ones mean the pool has connections to spare.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: Counter[str] = Counter()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> PgWaits:
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        database = self.url.rsplit("/", 1)[1]
        conn = await asyncpg.connect(self.url.rsplit("/", 1)[0] + "/postgres")
        try:
            while True:
                rows = await conn.fetch(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()", database)
                for row in rows:
                    wait = f"{row['wait_event_type']}:{row['wait_event']}" if row["wait_event_type"] else "cpu"
                    self.samples[f"{row['state']} / {wait}"] += 1
                await asyncio.sleep(0.05)
        finally:
            await conn.close()

    def take(self) -> dict[str, int]:
        """The counts since the last take, most first."""
        counts = dict(self.samples.most_common(8))
        self.samples.clear()
        return counts

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
