"""One long-running task per object, started with the app and cancelled at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from chatapp.db import DatabaseUnavailable

__all__ = ["BackgroundLoop", "PeriodicSweep"]

log = logging.getLogger("chatapp")


class BackgroundLoop:
    """Runs :meth:`_run` from :meth:`start` until :meth:`stop`, when :attr:`enabled`."""

    task_name = "chatapp-background"
    _task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return True

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.task_name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        raise NotImplementedError


class PeriodicSweep(BackgroundLoop):
    """Runs :meth:`sweep` every :attr:`interval` seconds; a pass that fails is logged and the next one comes."""

    @property
    def interval(self) -> float:
        raise NotImplementedError

    async def sweep(self) -> int:
        raise NotImplementedError

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except DatabaseUnavailable as exc:
                log.warning("%s skipped a pass: %s", self.task_name, exc)
            except Exception:
                log.exception("%s pass failed", self.task_name)
            await asyncio.sleep(self.interval)
