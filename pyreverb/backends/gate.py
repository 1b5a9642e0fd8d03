"""A shared/exclusive gate for asyncio: many writers of shared state, or one resync.

A resync replaces this node's whole contribution to the shared state with a
snapshot of the local hub. Incremental writes must not straddle it: one that
started before the snapshot would be counted twice, one that starts after must
wait until the snapshot is written. The gate gives exactly that ordering.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

__all__ = ["Gate"]


class Gate:
    """Single event loop: the checks and counter updates below never interleave."""

    def __init__(self) -> None:
        self._users = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._open = asyncio.Event()
        self._open.set()

    @property
    def closed(self) -> bool:
        return not self._open.is_set()

    @contextlib.asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        while not self._open.is_set():
            await self._open.wait()
        self._users += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._users -= 1
            if self._users == 0:
                self._idle.set()

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        while not self._open.is_set():
            await self._open.wait()
        self._open.clear()
        try:
            await self._idle.wait()
            yield
        finally:
            self._open.set()
