"""The cyclic garbage collector set for a long-running ``chatapp serve`` process.

A request allocates a few thousand container objects (rows, dicts, coroutines), so
CPython's default young-generation threshold of 700 starts a collection several times
per request; at the load of ``bench.chat`` the collector took about 1.3 % of the
process's CPU. After start-up, the modules, the app and its settings live as long as
the process: :func:`settle_for_serving` moves them out of the generations so the
full collections do not walk them again, and lets the young generation grow to
:data:`YOUNG_THRESHOLD` objects between collections (a few megabytes at most).
Only the server does this: a test run that builds many apps keeps the defaults.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "settle_for_serving"]

YOUNG_THRESHOLD = 10_000


def settle_for_serving() -> None:
    """Freeze what start-up made and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
