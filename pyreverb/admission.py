"""Admission control: new WebSocket sessions are opened at a paced rate.

Why: after a restart or a network blip every client reconnects at once. The event loop
then reads thousands of upgrade requests in one turn, and answering them all before it
returns (accept key, session, ``connection_established``, then each client's subscribe)
holds every established socket's deliveries back for as long as that takes. The pacer
opens at most ``per_second * slice`` sessions per time slice (10 ms); the rest wait in
arrival order in a bounded queue, and between slices the loop serves everything else.
A client that waits only sees its handshake answered later; one that finds the queue
full is refused (the caller sends 4100, so Pusher clients retry after a pause).

Socket-free: the clock and the timer are injected, so tests drive it without a loop.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

__all__ = ["HandshakePacer", "Job", "SLICE_SECONDS"]

SLICE_SECONDS = 0.01
# A queued opening: runs the handshake and says whether it did any work (False when the
# client left while it waited, so it takes no share of the slice).
Job = Callable[[], bool]
Timer = Callable[[float, Callable[[], None]], object]


def _loop_timer(delay: float, callback: Callable[[], None]) -> object:
    return asyncio.get_running_loop().call_later(delay, callback)


class HandshakePacer:
    """At most ``per_second`` jobs a second, in slices; ``per_second=0`` runs every job at once."""

    __slots__ = ("budget", "max_waiting", "slice", "_clock", "_timer", "_queue", "_slice_start", "_used", "_armed")

    def __init__(
        self,
        per_second: int,
        max_waiting: int,
        *,
        slice_seconds: float = SLICE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        timer: Timer = _loop_timer,
    ) -> None:
        # 0 = unpaced; a rate below one job per slice gets longer slices of one job
        self.slice = max(slice_seconds, 1 / per_second) if per_second > 0 else slice_seconds
        self.budget = max(1, round(per_second * self.slice)) if per_second > 0 else 0
        self.max_waiting = max_waiting
        self._clock = clock
        self._timer = timer
        self._queue: deque[Job] = deque()
        self._slice_start = float("-inf")
        self._used = 0
        self._armed = False

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def submit(self, job: Job) -> bool:
        """Run ``job`` now if this slice has room, else queue it; False when the queue is full."""
        if not self.budget:
            job()
            return True
        now = self._clock()
        if now - self._slice_start >= self.slice:
            self._slice_start, self._used = now, 0
        if not self._queue and self._used < self.budget:
            if job():
                self._used += 1
            return True
        if len(self._queue) >= self.max_waiting:
            return False
        self._queue.append(job)
        if not self._armed:
            self._armed = True
            self._timer(max(0.0, self._slice_start + self.slice - now), self._next_slice)
        return True

    def _next_slice(self) -> None:
        self._armed = False
        self._slice_start, self._used = self._clock(), 0
        queue = self._queue
        while queue and self._used < self.budget:
            if queue.popleft()():
                self._used += 1
        if queue:
            self._armed = True
            self._timer(self.slice, self._next_slice)
