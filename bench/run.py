"""``python -m bench.run``: every scenario against pyreverb and its peers, in one run.

Each scenario starts each server fresh (pinned to the server core), drives it from
Node load agents pinned to the other core(s), prints a table (medians over
``--repeat`` runs) and writes ``bench/results/<scenario>.json`` and ``.png``.
``--smoke`` is the seconds-long version ``make test`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import traceback
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from bench.agents import AgentPool
from bench.config import FULL, SMOKE, BenchConfig
from bench.pinning import LOAD_CPUS, raise_open_files
from bench.report import RESULTS_DIR, machine, markdown_table, medians, plot, table, write_json
from bench.scenarios import SCENARIOS
from bench.servers import ROOT, SERVERS, ensure_peers, peer_available
from bench.stats import wait_for_quiet

__all__ = ["main", "run_bench"]

SMOKE_SERVERS = ("pyreverb", "websockets")
OPT_IN_SERVERS = ("pyreverb-baseline", "pyreverb-unpaced")  # A/B variants: only when named
PROFILE_DIR = ROOT / "var" / "profiles"
RATIO_KEYS = {  # headline columns compared as pyreverb / peer
    "fanout": ("max msg/s", "per core"),
    "client_events": ("max msg/s", "per core"),
    "http_api": ("req/s", "per core"),
    "connections": ("KB/conn",),
    "storm": ("back s", "storm p99 ms"),
}


async def run_bench(cfg: BenchConfig, scenarios: list[str], servers: list[str], quiet: bool = False,
                    profile: bool = False) -> dict[str, Any]:
    """Run the scenarios; returns {scenario: document written to results/}."""
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    open_files = raise_open_files()
    needed = cfg.connections + 200 if "connections" in scenarios else 2000
    if open_files < needed:
        say(f"warning: open-files limit {open_files} is below the {needed} this run needs")
    pool = await AgentPool.start(cfg.agents)
    docs: dict[str, Any] = {}
    try:
        for scenario in scenarios:
            module = SCENARIOS[scenario]
            runs: dict[str, list[dict[str, Any]]] = {}
            errors: dict[str, str] = {}
            for attempt in range(cfg.repeat):
                for name in servers:
                    server = SERVERS()[name]
                    if hasattr(module, "applies") and not module.applies(server):
                        continue
                    if hasattr(module, "server_env") and name.startswith("pyreverb"):
                        server.extra_env = {**server.extra_env, **module.server_env(cfg)}
                    if profile and name == "pyreverb":
                        PROFILE_DIR.mkdir(parents=True, exist_ok=True)
                        server.profile_to = PROFILE_DIR / f"profile-{scenario}.folded"
                    busy = await asyncio.to_thread(wait_for_quiet, 25.0, cfg.quiet_wait)
                    say(f"-- {scenario}: {name} (run {attempt + 1}/{cfg.repeat}; machine {busy:.0f}% busy before)")
                    try:
                        server.start()
                        result = await module.run(server, pool, cfg, say)
                        result["machine_busy_pct_before"] = busy
                        runs.setdefault(name, []).append(result)
                    except Exception as exc:  # noqa: BLE001 - one peer failing must not stop the others
                        errors[name] = f"{type(exc).__name__}: {exc}"
                        say(f"   {name} failed: {errors[name]}")
                        if not quiet:
                            traceback.print_exc()
                        await pool.all("close")
                    finally:
                        server.stop()
            doc = _document(scenario, module, cfg, runs, errors)
            path = write_json(scenario, doc)
            png = plot(scenario, runs)
            docs[scenario] = doc
            say(table(f"{scenario} ({cfg.name}, medians of {cfg.repeat} run(s))", doc["headline"]))
            if doc.get("ratios"):
                say(table(f"{scenario}: pyreverb / peer", doc["ratios"]))
            say(f"   wrote {path}" + (f" and {png}" if png else ""))
    finally:
        await pool.stop()
    return docs


def _document(scenario: str, module: Any, cfg: BenchConfig, runs: dict[str, list[dict[str, Any]]],
              errors: dict[str, str]) -> dict[str, Any]:
    heads = {name: medians([module.headline(r) for r in rs]) for name, rs in runs.items()}
    doc: dict[str, Any] = {
        "scenario": scenario,
        "config": asdict(cfg),
        "machine": machine(),
        "headline": heads,
        "runs": runs,
        "errors": errors,
    }
    suffix = RATIO_KEYS.get(scenario)
    ours = heads.get("pyreverb")
    if suffix and ours:
        ratios: dict[str, dict[str, float | None]] = {}
        for peer, theirs in heads.items():
            if peer == "pyreverb":
                continue
            ratios[f"vs {peer}"] = {
                k: (round(ours[k] / theirs[k], 2) if ours.get(k) and theirs.get(k) else None)
                for k in ours if k.endswith(suffix)
            }
        doc["ratios"] = ratios
    return doc


def rebuild(scenario: str, markdown: bool = False, merge: list[str] | None = None) -> None:
    """Tables, ratios and plot again from a results file (after changing the report),
    with the runs of other results files of the same scenario added (``--merge``)."""
    path = RESULTS_DIR / f"{scenario}.json"
    if not path.exists():
        print(f"{path} missing; run the scenario first", file=sys.stderr)
        return
    old = json.loads(path.read_text())
    for extra in merge or []:
        other = json.loads(Path(extra).read_text())
        if other["scenario"] == scenario:
            for name, runs in other["runs"].items():
                old["runs"].setdefault(name, []).extend(runs)
    old["config"]["repeat"] = max(len(r) for r in old["runs"].values())
    module = SCENARIOS[scenario]
    doc = _document(scenario, module, BenchConfig(**old["config"]), old["runs"], old["errors"])
    doc["machine"] = old["machine"]
    path.write_text(json.dumps(doc, indent=1))
    plot(scenario, old["runs"])
    show = (lambda title, rows: f"### {title}\n\n{markdown_table(rows)}") if markdown else table
    print(show(f"{scenario} ({old['config']['name']}, medians of {old['config']['repeat']} run(s))", doc["headline"]))
    if doc.get("ratios"):
        print(show(f"{scenario}: pyreverb / peer", doc["ratios"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="seconds-long run of every scenario")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset")
    parser.add_argument("--servers", default=None, help="comma-separated subset (default: all that install)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per server; tables show medians")
    parser.add_argument("--quiet-wait", type=float, default=None,
                        help="seconds to wait before each server run for the machine to be mostly idle")
    parser.add_argument("--rebuild", action="store_true",
                        help="no measuring: redo tables, ratios and plots from the JSON in results/")
    parser.add_argument("--merge", nargs="*", default=None, metavar="JSON",
                        help="with --rebuild: add the runs of these results files (same scenario)")
    parser.add_argument("--markdown", action="store_true", help="with --rebuild: tables as Markdown")
    parser.add_argument("--shapes", default=None, help="fan-out shapes, e.g. 1x1000,100x10")
    parser.add_argument("--agents", type=int, default=None, help="client agent processes (plus one trigger agent)")
    parser.add_argument("--channels", choices=("public", "private", "presence"), default="public",
                        help="connections: the kind of channel each socket subscribes to")
    parser.add_argument("--profile", action="store_true",
                        help="run pyreverb under py-spy: collapsed stacks (flame graph input) in var/profiles/")
    args = parser.parse_args(argv)

    if args.rebuild:
        for scenario in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
            rebuild(scenario, args.markdown, args.merge)
        return 0
    cfg = SMOKE if args.smoke else FULL
    if args.repeat:
        cfg = replace(cfg, repeat=args.repeat)
    if args.quiet_wait is not None:
        cfg = replace(cfg, quiet_wait=args.quiet_wait)
    if args.agents:
        cfg = replace(cfg, agents=args.agents)
    if args.channels != "public":
        cfg = replace(cfg, channel_prefix=f"{args.channels}-")
    if args.shapes:
        shapes = tuple(tuple(int(x) for x in s.split("x")) for s in args.shapes.split(","))
        cfg = replace(cfg, fanout_shapes=shapes)  # type: ignore[arg-type]  # each shape is CHANNELSxSUBSCRIBERS
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {list(SCENARIOS)}")
    wanted = [s.strip() for s in args.servers.split(",")] if args.servers else (
        list(SMOKE_SERVERS) if args.smoke else [n for n in SERVERS() if n not in OPT_IN_SERVERS])
    if any(n in ("python-socketio", "node-ws", "soketi") for n in wanted) and not ensure_peers():
        print("warning: the peer kit could not be installed; running without those peers", file=sys.stderr)
    servers = []
    for name in wanted:
        if name not in SERVERS():
            parser.error(f"unknown server {name!r}; choose from {list(SERVERS())}")
        if peer_available(name):
            servers.append(name)
        else:
            print(f"warning: {name} is not installed; skipped", file=sys.stderr)
    if LOAD_CPUS:
        os.sched_setaffinity(0, LOAD_CPUS)  # the harness itself stays off the server core
    docs = asyncio.run(run_bench(cfg, scenarios, servers, profile=args.profile))
    failed = [s for s, d in docs.items() if "pyreverb" in d["errors"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
