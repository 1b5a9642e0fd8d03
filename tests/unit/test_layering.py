"""The protocol core stays socket-free, and the settings need no I/O layer either.

Checked on what importing the module actually loads (``sys.modules`` in a fresh
interpreter), so an I/O import reached through any chain of modules is caught.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

IO_PACKAGES = ("asyncio", "starlette", "uvicorn", "websockets", "redis", "httpx")
IO_MODULES = ("pyreverb.transport", "pyreverb.backends", "pyreverb.server", "pyreverb.hub", "pyreverb.webhooks")


def loaded_by(module: str) -> list[str]:
    """Every module a fresh interpreter holds after ``import <module>``."""
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    modules: list[str] = json.loads(out.stdout)
    return modules


@pytest.mark.parametrize("module", ["pyreverb.protocol", "pyreverb.protocol.session", "pyreverb.config"])
def test_importing_loads_no_io_layer(module: str) -> None:
    offenders = [
        name
        for name in loaded_by(module)
        if name.split(".")[0] in IO_PACKAGES or any(name == m or name.startswith(m + ".") for m in IO_MODULES)
    ]
    assert offenders == []


def test_the_check_sees_what_an_import_brings() -> None:
    """Guards the guard: the node's own module does load the I/O layers."""
    loaded = loaded_by("pyreverb.server")
    assert {"asyncio", "httpx", "pyreverb.webhooks"} <= set(loaded)
