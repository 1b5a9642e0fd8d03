"""The Docker image's recipe, checked without a Docker engine.

The health check is run exactly as the Dockerfile writes it, against a real node
behind a path prefix and TLS; the pinned constraints are checked against what
pyproject.toml asks for; each image installs only the extras it runs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import ssl
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.e2e.test_operations import _self_signed
from tests.helpers.procs import ROOT, ReverbProcess, free_port

DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str, str]]:
    """(stage, instruction, arguments) for every instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found, stage = [], ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            stage = rest.split(" AS ")[-1].strip() if " AS " in rest else rest.strip()
        found.append((stage, word.upper(), rest.strip()))
    return found


def _default_stage() -> str:
    """The last stage: what a plain ``docker build`` produces."""
    return _instructions()[-1][0]


def _healthcheck(stage: str) -> list[str]:
    (rest,) = [args for s, word, args in _instructions() if s == stage and word == "HEALTHCHECK"]
    command = rest.split(" CMD ", 1)[1].strip()
    return json.loads(command) if command.startswith("[") else ["/bin/sh", "-c", command]


def _run_healthcheck(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = _healthcheck(_default_stage())
    path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # the image's pyreverb script
    return subprocess.run(argv, env={**env, "PATH": path}, capture_output=True, text=True, timeout=30, cwd=ROOT)


@pytest.fixture
def node_env() -> Iterator[tuple[ReverbProcess, dict[str, str]]]:
    """A node configured the way the image is: everything from the environment."""
    node = ReverbProcess(port=free_port())
    yield node, node.full_env()
    node.stop()


def _start(node: ReverbProcess, env: dict[str, str], url: str, verify: ssl.SSLContext | bool = True) -> None:
    node.launch("pyreverb", [sys.executable, "-m", "pyreverb", "start"], env, ROOT)
    deadline = time.monotonic() + 15
    while True:
        try:
            httpx.get(url, verify=verify, timeout=1)
            return
        except httpx.HTTPError:
            assert node.proc is not None and node.proc.poll() is None, node.log()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_image_health_check_follows_the_path_prefix(node_env: tuple[ReverbProcess, dict[str, str]]) -> None:
    node, env = node_env
    env.update(REVERB_SERVER_HOST="127.0.0.1", REVERB_SERVER_PORT=str(node.port), REVERB_SERVER_PATH="/realtime")
    _start(node, env, f"{node.base_url}/realtime/up")
    assert httpx.get(f"{node.base_url}/up").status_code == 404, "the prefix is in force"
    check = _run_healthcheck(env)
    assert check.returncode == 0, check.stderr
    assert '"OK"' in check.stdout


def test_the_image_health_check_speaks_tls(tmp_path: Path, node_env: tuple[ReverbProcess, dict[str, str]]) -> None:
    node, env = node_env
    cert, key = _self_signed(tmp_path)
    env.update(
        REVERB_SERVER_HOST="127.0.0.1",
        REVERB_SERVER_PORT=str(node.port),
        REVERB_SERVER_PATH="/ws",
        REVERB_TLS_CERT=str(cert),
        REVERB_TLS_KEY=str(key),
    )
    _start(node, env, f"https://127.0.0.1:{node.port}/ws/up", verify=ssl.create_default_context(cafile=str(cert)))
    check = _run_healthcheck(env)
    assert check.returncode == 0, check.stderr


def test_the_image_health_check_fails_when_no_node_answers() -> None:
    env = {**os.environ, "REVERB_SERVER_PORT": str(free_port())}
    check = _run_healthcheck(env)
    assert check.returncode != 0
    assert "/up" in check.stderr


def test_each_image_installs_only_the_extras_it_runs() -> None:
    installs = {
        stage: args for stage, word, args in _instructions() if word == "RUN" and "pip install" in args
    }
    assert re.search(r'"pyreverb\[redis\]"', installs["pyreverb"]), installs
    assert "chat" not in installs["pyreverb"]
    assert re.search(r'"pyreverb\[chat\]"', installs["chatapp"]), installs
    for args in installs.values():
        assert "--constraint" in shlex.split(args)
    assert _default_stage() == "pyreverb", "a plain `docker build` gives the server image"


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_the_constraints_pin_every_runtime_dependency_within_its_declared_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pins = _pins()
    for spec in [*project["dependencies"], *extras["redis"], *extras["chat"]]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"constraints.txt does not pin {name}: run `make constraints`"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement.specifier}"
