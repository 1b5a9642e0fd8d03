"""The published artefacts work on their own: sdist and wheel built, the wheel installed
into a fresh virtualenv without the chat extra, and the server run from there.

This catches what the editable install of the development venv hides: a file
missing from the sdist, a module the server imports that only an extra brings, a
console script that is not declared. pip uses this machine's configuration
(index, find-links, cache); versions follow constraints.txt, as the image does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import httpx
import pytest

from pyreverb import __version__
from tests.e2e.test_http_api import signed_url
from tests.helpers.procs import ROOT, ReverbProcess, wait_http

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # two builds and two installs: minutes


def _run(argv: list[str], cwd: Path, timeout: float = 600) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_wheel_runs_the_server_without_the_chat_extra_then_the_chat_app_with_it(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], cwd=tmp_path)
    (wheel,) = dist.glob("pyreverb-*.whl")
    assert len(list(dist.glob("pyreverb-*.tar.gz"))) == 1, "the sdist is built too (the wheel is built from it)"

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    pip = [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--constraint", str(ROOT / "constraints.txt")]
    _run([*pip, str(wheel)], cwd=tmp_path)

    python = str(bin_dir / "python")
    where = _run([python, "-c", "import pyreverb, pyreverb.app, pyreverb.cli; print(pyreverb.__file__)"], cwd=tmp_path)
    assert where.strip().startswith(str(env_dir)), "pyreverb is imported from the fresh venv, not the source tree"
    chat_only = "import importlib.util as u; print([m for m in ('aiosqlite','asyncpg','pywebpush') if u.find_spec(m)])"
    assert _run([python, "-c", chat_only], cwd=tmp_path).strip() == "[]", "the chat app's dependencies stay out"
    assert _run([str(bin_dir / "pyreverb"), "--version"], cwd=tmp_path).strip() == f"pyreverb, version {__version__}"

    scaled = subprocess.run(
        [str(bin_dir / "pyreverb"), "start", "--redis", "redis://127.0.0.1:6379/0"],
        cwd=tmp_path, env=ReverbProcess().full_env(), capture_output=True, text=True, timeout=30,
    )
    assert scaled.returncode == 2 and "pip install 'pyreverb[redis]'" in scaled.stderr, scaled.stderr

    node = ReverbProcess()
    argv = [str(bin_dir / "pyreverb"), "start", "--host", "127.0.0.1", "--port", str(node.port)]
    node.launch("pyreverb-wheel", argv, node.full_env(), tmp_path)
    try:
        wait_http(f"{node.base_url}/up", proc=node.proc)
        assert httpx.get(f"{node.base_url}/up").json() == {"health": "OK"}
        body = json.dumps({"name": "smoke", "channel": "news", "data": "{}"}).encode()
        accepted = httpx.post(signed_url(node, "POST", f"/apps/{node.app_id}/events", body), content=body)
        assert accepted.status_code == 200, accepted.text
        forged = signed_url(node, "POST", f"/apps/{node.app_id}/events", body, secret="wrong")
        refused = httpx.post(forged, content=body)
        assert refused.status_code == 401
    finally:
        assert node.stop() == 0, node.log()

    _run([*pip, f"pyreverb[chat] @ {wheel.as_uri()}"], cwd=tmp_path)
    assert _run([str(bin_dir / "chatapp"), "--version"], cwd=tmp_path).strip() == f"chatapp, version {__version__}"
