"""The protocol core stays socket-free: it imports no I/O layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pyreverb.protocol

FORBIDDEN = ("asyncio", "starlette", "uvicorn", "websockets", "redis", "pyreverb.transport", "pyreverb.backends", "pyreverb.server", "pyreverb.hub")


def test_protocol_package_imports_no_io_layer() -> None:
    root = Path(pyreverb.protocol.__file__).parent
    offenders = []
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN or n.startswith(FORBIDDEN)]
    assert offenders == []
