"""Latency histograms from the agents, percentiles, and process sampling."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import psutil

__all__ = ["Histogram", "ProcessMeter", "SharesMeter", "median", "wait_for_quiet"]


class Histogram:
    """Merged ``[value_ms, count]`` buckets (10 us below 50 ms, 1 ms above)."""

    def __init__(self) -> None:
        self.buckets: dict[float, int] = {}

    def add(self, pairs: Iterable[Iterable[float]]) -> None:
        for value, count in pairs:
            self.buckets[value] = self.buckets.get(value, 0) + int(count)

    @property
    def count(self) -> int:
        return sum(self.buckets.values())

    def percentile(self, p: float) -> float | None:
        total = self.count
        if not total:
            return None
        rank = p / 100 * total
        seen = 0
        for value in sorted(self.buckets):
            seen += self.buckets[value]
            if seen >= rank:
                return round(value, 3)
        return round(max(self.buckets), 3)

    def summary(self) -> dict[str, float | None]:
        return {
            "p50_ms": self.percentile(50),
            "p99_ms": self.percentile(99),
            "p999_ms": self.percentile(99.9),
            "max_ms": round(max(self.buckets), 3) if self.buckets else None,
        }


@dataclass
class Sample:
    cpu_seconds: float
    at: float
    sys_seconds: float = 0.0


class ProcessMeter:
    """CPU and RSS of a server process and its children (Node peers may fork)."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self._mark = self._sample()

    def _procs(self) -> list[psutil.Process]:
        try:
            return [self.proc, *self.proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _sample(self) -> Sample:
        cpu = system = 0.0
        for p in self._procs():
            try:
                t = p.cpu_times()
                cpu += t.user + t.system
                system += t.system
            except psutil.NoSuchProcess:
                pass
        return Sample(cpu, time.monotonic(), system)

    def mark(self) -> None:
        self._mark = self._sample()

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) used since :meth:`mark`."""
        return self._sample().cpu_seconds - self._mark.cpu_seconds

    def cpu_percent(self) -> float:
        """CPU used since :meth:`mark`, in percent of one core."""
        now = self._sample()
        wall = max(now.at - self._mark.at, 1e-6)
        return round(100 * (now.cpu_seconds - self._mark.cpu_seconds) / wall, 1)

    def kernel_share(self) -> float:
        """Percent of the CPU used since :meth:`mark` that was spent in the kernel
        (socket syscalls and the loopback TCP stack): the part no server code can
        make cheaper except by making fewer syscalls."""
        now = self._sample()
        used = now.cpu_seconds - self._mark.cpu_seconds
        return round(100 * (now.sys_seconds - self._mark.sys_seconds) / used, 1) if used > 0 else 0.0

    def rss(self) -> int:
        total = 0
        for p in self._procs():
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total


class SharesMeter:
    """CPU seconds of every process named in ``groups`` (name -> process names, e.g. the
    database server's), of given pids, and of this process, sampled together: where the
    machine's cores went while chatapp worked, so a missed throughput target can be told apart
    from a server that is slow on its own."""

    def __init__(self, pids: dict[str, int], names: dict[str, str]) -> None:
        self.pids = pids
        self.names = names
        self._mark = self._sample()

    def _sample(self) -> dict[str, float]:
        out = {group: 0.0 for group in [*self.pids, *self.names, "load"]}
        by_name = {name: group for group, name in self.names.items()}
        for p in psutil.process_iter(["name", "pid"]):
            group = by_name.get(p.info["name"] or "")
            if group is None:
                group = next((g for g, pid in self.pids.items() if pid == p.info["pid"]), None)
            if group is None:
                continue
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            out[group] += t.user + t.system
        own = psutil.Process().cpu_times()
        out["load"] = own.user + own.system
        return out

    def mark(self) -> None:
        self._mark = self._sample()

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds by group since :meth:`mark`."""
        now = self._sample()
        return {group: now[group] - self._mark.get(group, 0.0) for group in now}


def median(values: Iterable[float | None]) -> float | None:
    xs = sorted(v for v in values if v is not None)
    if not xs:
        return None
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def wait_for_quiet(threshold_pct: float = 25.0, max_wait: float = 90.0) -> float:
    """Wait (bounded) until the machine's other work leaves the cores mostly idle.

    Returns the busy percentage last seen, recorded beside each result: on a
    shared machine a figure measured next to someone's test suite is not the
    server's own.
    """
    deadline = time.monotonic() + max_wait
    busy = psutil.cpu_percent(interval=1.0 if max_wait > 0 else 0.1)
    while busy > threshold_pct and time.monotonic() < deadline:
        busy = psutil.cpu_percent(interval=1.0)
    return busy
