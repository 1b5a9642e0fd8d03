"""The compiled trigger path, when it was built and is wanted.

``pyreverb._speedups`` (Cython, ``setup.py``) parses a plain trigger request
and checks its signature in C. It is optional: a build without a compiler or
OpenSSL headers leaves it out, and ``PYREVERB_SPEEDUPS=false`` turns it off.
Either way the pure-Python path does the same work; the compiled one only
ever takes the common case and hands everything else back to it.
"""

from __future__ import annotations

from types import ModuleType

__all__ = ["load"]


def load(wanted: bool = True) -> ModuleType | None:
    """The compiled module, or ``None`` when it is off or was not built."""
    if not wanted:
        return None
    try:
        from pyreverb import _speedups
    except ImportError:
        return None
    return _speedups
