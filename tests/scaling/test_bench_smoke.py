"""The scaling benchmark keeps working: a seconds-long run over 1, 2 and 3 nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.procs import ROOT

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_scaling_smoke_measures_every_topology(tmp_path: Path) -> None:
    env = {**os.environ, "BENCH_RESULTS_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "bench.scaling", "--smoke"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=110)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    doc = json.loads((tmp_path / "scaling.json").read_text())
    assert list(doc["headline"]) == ["1 node", "1 node + Redis", "2 nodes", "3 nodes"]
    for label, result in doc["runs"].items():
        step = result["moderate"][0]
        assert step["received"] == step["expected"] > 0, label  # nothing lost on the way
        assert result["throughput"]["max_delivered_per_s"] > 0
        assert (step["latency_remote"] is None) == (label.startswith("1 node")), label
    assert "3 nodes" in run.stdout
