"""``python -m bench.sqlite_fts_merge`` runs end to end on a small history: both ways are timed,
and the stepped way merged in steps (docs/benchmarks.md has the figures on 1,000,000 messages)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.procs import ROOT

pytestmark = pytest.mark.slow


def test_both_ways_of_merging_are_timed(tmp_path: Path) -> None:
    env = {**os.environ, "BENCH_RESULTS_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "bench.sqlite_fts_merge", "--rooms", "200", "--history", "2000",
                           "--messages", "300", "--repeat", "1"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    doc = json.loads((tmp_path / "sqlite_fts_merge.json").read_text())
    (inline,), (stepped,) = doc["runs"]["in the statement"], doc["runs"]["in steps"]
    for run in (inline, stepped):
        assert run["store"]["n"] == run["commit"]["n"] == 300
        assert 0 <= run["store"]["p50_ms"] <= run["store"]["max_ms"] <= run["longest_hold_ms"]
    assert inline["merge_step"]["n"] == 0
    assert stepped["merge_step"]["n"] >= 10, "a pass after every 30 messages"
