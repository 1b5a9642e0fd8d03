"""Which cores the server and the load run on, and the open-files limit.

On a 2-core machine the server gets core 0 and every load agent core 1, so the
two never steal cycles from each other; with more cores the load gets the rest.
"""

from __future__ import annotations

import os
import resource
import shutil

__all__ = ["SERVER_CPUS", "LOAD_CPUS", "pinned", "raise_open_files"]

_CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPUS: list[int] = _CPUS[:1]
LOAD_CPUS: list[int] = _CPUS[1:] or _CPUS
_TASKSET = shutil.which("taskset")


def pinned(cmd: list[str], cpus: list[int]) -> list[str]:
    """``cmd`` run under taskset when there is a core to spare."""
    if _TASKSET is None or len(_CPUS) < 2:
        return cmd
    return [_TASKSET, "-c", ",".join(map(str, cpus)), *cmd]


def raise_open_files() -> int:
    """Lift the soft open-files limit to the hard one (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
