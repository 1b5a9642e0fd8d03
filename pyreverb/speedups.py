"""The compiled trigger path, when it was built and is wanted.

``pyreverb._speedups`` (Cython, ``setup.py``) parses a plain trigger request
and checks its signature in C. It is optional: a build without a compiler or
OpenSSL headers leaves it out, and ``PYREVERB_SPEEDUPS=false`` turns it off.
Either way the pure-Python path does the same work; the compiled one only
ever takes the common case and hands everything else back to it.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Speedups", "load"]


class Speedups(Protocol):
    """What the compiled module offers (its stub is ``_speedups.pyi``)."""

    def parse_trigger_request(
        self, data: bytes, prefix: bytes, max_body: int
    ) -> tuple[str, str, bytes, bytes, bool] | None: ...

    def signature_ok(
        self, method: bytes, path: str, query: bytes, body: bytes, key: str, secret: str, now: float, tolerance: int
    ) -> bool: ...


def load(wanted: bool = True) -> Speedups | None:
    """The compiled module, or ``None`` when it is off or was not built."""
    if not wanted:
        return None
    try:
        from pyreverb import _speedups
    except ImportError:
        return None
    return _speedups
