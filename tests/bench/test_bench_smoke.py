"""A seconds-long run of the benchmark harness, so ``make bench`` keeps working.

It checks that the harness runs and that its figures are complete and consistent;
speed targets belong to the real runs (docs/benchmarks.md), not to a shared CI box.

Runs ``python -m bench.run --smoke`` for real (Node load agents, a real pyreverb
and the bare websockets peer) and checks the figures it wrote make sense.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.procs import ROOT, ReverbProcess

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench-results")
    env = {**os.environ, "BENCH_RESULTS_DIR": str(out)}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=130,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    docs = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json") if "-" not in p.stem}
    return {"dir": out, "docs": docs, "stdout": proc.stdout}


def _latency_ok(lat: dict[str, float | None]) -> None:
    assert lat["p50_ms"] is not None and lat["p99_ms"] is not None
    assert 0 < lat["p50_ms"] <= lat["p99_ms"] <= lat["p999_ms"] <= lat["max_ms"]


def test_every_scenario_wrote_json_a_plot_and_a_table(smoke: dict[str, Any]) -> None:
    assert set(smoke["docs"]) == {"connections", "fanout", "client_events", "http_api", "storm"}
    for name, doc in smoke["docs"].items():
        assert "pyreverb" in doc["runs"] and not doc["errors"], (name, doc["errors"])
        assert doc["machine"]["cores"] >= 1 and doc["machine"]["date"]
        assert (smoke["dir"] / f"{name}.png").read_bytes()[:8] == PNG_MAGIC
        assert f"== {name} (smoke" in smoke["stdout"]


def test_connections_all_stay_open_with_plausible_memory(smoke: dict[str, Any]) -> None:
    (r,) = smoke["docs"]["connections"]["runs"]["pyreverb"]
    assert r["connections"] == r["still_open"] == 200 and r["dropped"] == 0
    assert 0 < r["rss_per_connection_kb"] < 200
    assert r["connect_per_s"] > 0
    assert 0 <= r["idle_cpu_pct"] <= 100
    assert [p["connections"] for p in r["ramp"]] == [100, 200]


def test_fanout_delivers_every_message_with_measured_latency(smoke: dict[str, Any]) -> None:
    doc = smoke["docs"]["fanout"]
    for server in ("pyreverb", "websockets"):
        (r,) = doc["runs"][server]
        assert set(r["shapes"]) == {"1x40", "8x5"}
        for key, shape in r["shapes"].items():
            subscribers = int(key.split("x")[1])
            for step in shape["steps"]:
                assert step["expected"] == step["accepted"] * subscribers
                assert step["received"] == step["expected"] > 0, step
                assert step["delivered_per_s"] > 0
                _latency_ok(step["latency"])
            assert shape["max_delivered_per_s"] > 0
            _latency_ok(shape["at_half_max"]["latency"])
    assert doc["ratios"]["vs websockets"]["1x40 max msg/s"] > 0


def test_client_events_reach_the_other_member_only(smoke: dict[str, Any]) -> None:
    for server in ("pyreverb", "websockets"):
        (r,) = smoke["docs"]["client_events"]["runs"][server]
        for step in r["steps"]:
            assert step["received"] == step["expected"] > 0, (server, step)
            _latency_ok(step["latency"])


def test_storm_brings_every_client_back_and_loses_nothing(smoke: dict[str, Any]) -> None:
    doc = smoke["docs"]["storm"]
    assert set(doc["runs"]) == {"pyreverb"}  # bare rooms have no Pusher protocol to restart into
    (r,) = doc["runs"]["pyreverb"]
    assert r["back"] == r["clients"] == 300 and r["failed"] == 0
    assert 0 < r["p50_back_s"] <= r["all_back_s"]
    assert r["lost"] == 0 and r["steady_lost"] == 0 and r["published"] > 0, r["lost_where"]
    assert r["lost_where"] == {"clients": 0, "closed_unexpectedly": 0, "at_start": 0, "elsewhere": 0,
                               "latest_at_start_ms_after_subscribe": 0.0}
    assert r["publish_statuses"] == {"200": r["published"]}
    _latency_ok({k: v for k, v in r["steady_storm"].items() if k != "count"})
    assert r["timeline"][-1]["back"] == 300
    assert r["server_cpu_us_per_reconnect"] > 0 and r["restart_seconds"] > 0


def test_http_api_answers_signed_triggers(smoke: dict[str, Any]) -> None:
    (r,) = smoke["docs"]["http_api"]["runs"]["pyreverb"]
    for key in ("1ch", "10ch"):
        assert r[key]["failed"] == 0 and r[key]["statuses"].get("200", 0) > 0
        assert r[key]["requests_per_s"] > 0
        _latency_ok(r[key]["latency"])


def test_http_api_keeps_the_connection_alive(reverb: ReverbProcess) -> None:
    """Several signed triggers over one TCP connection (Reverb closes after each)."""
    conn = http.client.HTTPConnection("127.0.0.1", reverb.port, timeout=5)
    path = f"/apps/{reverb.app_id}/events"
    sockets = set()
    for i in range(3):
        body = json.dumps({"name": "e", "channel": "c", "data": str(i)}).encode()
        query = (f"auth_key={reverb.key}&auth_timestamp={int(time.time())}&auth_version=1.0"
                 f"&body_md5={hashlib.md5(body).hexdigest()}")
        sig = hmac.new(reverb.secret.encode(), f"POST\n{path}\n{query}".encode(), hashlib.sha256).hexdigest()
        conn.request("POST", f"{path}?{query}&auth_signature={sig}", body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        assert resp.read() == b"{}"
        assert (resp.getheader("connection") or "").lower() != "close"
        sockets.add(id(conn.sock))
    assert len(sockets) == 1
    conn.close()


def test_micro_benchmarks_time_the_hot_path() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.micro", "--repeat", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["pyreverb"].startswith(str(ROOT / "pyreverb"))
    assert 0 < result["deliver_ns_per_write"] < 5_000
    assert 0 < result["trigger_us"] < 5_000
    assert 0 < result["whisper_us"] < 1_000


def test_server_runs_on_uvloop_and_httptools(reverb: ReverbProcess) -> None:
    """The fast event loop and HTTP parser are loaded, not asyncio's and h11."""
    assert reverb.proc is not None
    maps = Path(f"/proc/{reverb.proc.pid}/maps").read_text()
    assert "uvloop/loop." in maps
    assert "httptools/parser/parser." in maps


def test_presence_benchmark_times_joins_as_the_channel_grows() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.presence", "--members", "300", "--batch", "100", "--subscribes", "200"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert 0 < result["subscribe"]["public_subscribe_us"] < 5_000
    assert 0 < result["subscribe"]["private_subscribe_us"] < 5_000
    steps = result["presence"]["steps"]
    assert [s["members_after"] for s in steps] == [100, 200, 300]
    # every join tells each member already there: 0..99 others in the first batch, on average 49.5
    assert [s["frames_per_join"] for s in steps] == [49.5, 149.5, 249.5]
    assert result["presence"]["subscription_succeeded_bytes"] > 300 * 10
    assert result["memory"]["presence_kb_per_subscription"] > 0
