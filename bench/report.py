"""Tables on stdout, JSON and PNG plots in bench/results/."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.config import LATENCY_BUDGET_MS
from bench.pinning import LOAD_CPUS, SERVER_CPUS
from bench.stats import median

__all__ = ["RESULTS_DIR", "machine", "speed_probe_ms", "table", "markdown_table", "write_json", "plot", "medians"]

RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS_DIR", Path(__file__).resolve().parent / "results"))


PROBE_LOOPS = 1_000_000


def speed_probe_ms() -> float:
    """How long this core takes for a fixed loop of Python additions (median of 3, ms).

    The machines this runs on differ from day to day (a virtual machine's host is shared),
    and every process's CPU per message moves with them; a result carries this figure
    so runs on different days can be told apart from the code's own changes.
    """
    def once() -> float:
        started = time.perf_counter()
        total = 0
        for i in range(PROBE_LOOPS):
            total += i
        return (time.perf_counter() - started) * 1000

    return round(median([once() for _ in range(3)]), 1)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        node = None
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "node": node,
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "python_probe_ms": speed_probe_ms(),  # 1,000,000 additions in a Python loop
        "server_cpus": SERVER_CPUS,
        "load_cpus": LOAD_CPUS,
    }


def medians(runs: list[dict[str, float | None]]) -> dict[str, float | None]:
    keys = list(runs[0]) if runs else []
    return {k: median(r.get(k) for r in runs) for k in keys}


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.2f}".rstrip("0").rstrip(".") if v != int(v) else f"{int(v)}"


def table(title: str, rows: dict[str, dict[str, float | None]]) -> str:
    """Servers down, metrics across (medians when there were several runs)."""
    if not rows:
        return f"{title}: no server measured\n"
    cols = list(next(iter(rows.values())))
    header = ["server", *cols]
    body = [[name, *(_fmt(r.get(c)) for c in cols)] for name, r in rows.items()]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=True)]

    def line(cells: list[Any]) -> str:
        return "  ".join(
            str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([f"== {title} ==", line(header), line(["-" * w for w in widths]), *map(line, body)]) + "\n"


def markdown_table(rows: dict[str, dict[str, float | None]]) -> str:
    """The same table for docs/benchmarks.md."""
    if not rows:
        return ""
    cols = list(next(iter(rows.values())))
    out = ["| server | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    out += [f"| {name} | " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for name, r in rows.items()]
    return "\n".join(out) + "\n"


def write_json(scenario: str, doc: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{scenario}.json"
    path.write_text(json.dumps(doc, indent=1))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"{scenario}-{stamp}.json").write_text(json.dumps(doc))
    return path


def plot(scenario: str, runs: dict[str, list[dict[str, Any]]]) -> Path | None:
    """One PNG per scenario; curves from each server's quietest run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = {name: min(rs, key=lambda r: r.get("machine_busy_pct_before", 0)) for name, rs in runs.items() if rs}
    if not first:
        return None
    if scenario == "fanout":
        shapes = list(next(iter(first.values()))["shapes"])
        fig, axes = plt.subplots(1, len(shapes), figsize=(5.5 * len(shapes), 4.5), squeeze=False)
        for ax, shape in zip(axes[0], shapes, strict=True):
            for name, r in first.items():
                _latency_curve(ax, r["shapes"][shape]["steps"], name)
            ax.set_title(f"fan-out {shape} (channels x subscribers)")
        _legend(axes[0][0])
    elif scenario == "client_events":
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        for name, r in first.items():
            _latency_curve(ax, r["steps"], name)
        ax.set_title("client events (whisper pairs)")
        _legend(ax)
    elif scenario == "connections":
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        for name, r in first.items():
            xs = [0] + [p["connections"] for p in r["ramp"]]
            ys = [r["base_rss_bytes"] / 2**20] + [p["rss_bytes"] / 2**20 for p in r["ramp"]]
            ax.plot(xs, ys, marker="o", label=f"{name} ({r['rss_per_connection_kb']} KB/conn)")
        ax.set_xlabel("subscribed idle connections")
        ax.set_ylabel("server RSS (MiB)")
        ax.set_title("memory while ramping connections")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    elif scenario == "http_api":
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        names = list(first)
        for i, key in enumerate(("1ch", "10ch")):
            vals = [first[n].get(key, {}).get("requests_per_s", 0) for n in names]
            ax.bar([x + i * 0.4 for x in range(len(names))], vals, width=0.4, label=f"{key[:-2]} channel(s)/request")
        ax.set_xticks([x + 0.2 for x in range(len(names))], names, rotation=15)
        ax.set_ylabel("signed trigger requests/s")
        ax.set_title("HTTP API (keep-alive, closed loop)")
        ax.legend(fontsize=8)
    elif scenario == "storm":
        fig, (back, late) = plt.subplots(1, 2, figsize=(11, 4.5))
        for name, r in first.items():
            xs = [row["t_s"] for row in r["timeline"]]
            back.plot(xs, [row["back"] for row in r["timeline"]], label=name)
            late.plot(xs, [row["max_ms"] or None for row in r["timeline"]], label=name)
        back.set_xlabel("seconds since the storm began")
        back.set_ylabel("clients back and resubscribed")
        late.set_xlabel("seconds since the storm began")
        late.set_ylabel("steady subscribers: worst latency per 250 ms (ms)")
        late.set_yscale("log")
        back.set_title("reconnect storm")
        for ax in (back, late):
            ax.grid(alpha=0.3)
        _legend(back)
    else:
        return None
    fig.tight_layout()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{scenario}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _latency_curve(ax: Any, steps: list[dict[str, Any]], name: str) -> None:
    pts = [(s["delivered_per_s"], s["latency"]["p50_ms"], s["latency"]["p99_ms"]) for s in steps
           if s["latency"]["p99_ms"] is not None]
    if not pts:
        return
    xs, p50, p99 = zip(*pts, strict=True)
    (line,) = ax.plot(xs, p99, marker="o", label=f"{name} p99")
    ax.plot(xs, p50, linestyle="--", color=line.get_color(), alpha=0.6, label=f"{name} p50")
    ax.axhline(LATENCY_BUDGET_MS, color="grey", linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set_xlabel("delivered messages/s")
    ax.set_ylabel("trigger -> delivery latency (ms)")
    ax.grid(alpha=0.3, which="both")


def _legend(ax: Any) -> None:
    ax.legend(fontsize=7, ncol=2)
