"""The handshake pacer without sockets or an event loop: a fake clock and timer."""

from __future__ import annotations

from collections.abc import Callable

from pyreverb.admission import HandshakePacer


class FakeTime:
    """A clock the test moves, and timers it fires when their time has come."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[tuple[float, Callable[[], None]]] = []

    def timer(self, delay: float, callback: Callable[[], None]) -> object:
        self.timers.append((self.now + delay, callback))
        return None

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while True:
            due = sorted((at, i) for i, (at, _) in enumerate(self.timers) if at <= end)
            if not due:
                break
            at, index = due[0]
            _, callback = self.timers.pop(index)
            self.now = max(self.now, at)
            callback()
        self.now = end


def make(per_second: int, max_waiting: int = 100) -> tuple[HandshakePacer, FakeTime, list[int]]:
    clock = FakeTime()
    pacer = HandshakePacer(per_second, max_waiting, clock=lambda: clock.now, timer=clock.timer)
    return pacer, clock, []


def job(done: list[int], n: int, worked: bool = True) -> Callable[[], bool]:
    def run() -> bool:
        done.append(n)
        return worked

    return run


def test_within_the_slice_share_jobs_run_at_once() -> None:
    pacer, _, done = make(per_second=300)  # 3 per 10 ms slice
    for n in range(3):
        assert pacer.submit(job(done, n))
    assert done == [0, 1, 2] and pacer.waiting == 0


def test_the_excess_waits_in_order_and_runs_a_share_per_slice() -> None:
    pacer, clock, done = make(per_second=300)
    for n in range(8):
        assert pacer.submit(job(done, n))
    assert done == [0, 1, 2] and pacer.waiting == 5
    clock.advance(0.01)
    assert done == [0, 1, 2, 3, 4, 5]
    clock.advance(0.01)
    assert done == list(range(8)) and pacer.waiting == 0


def test_a_new_job_queues_behind_waiting_ones_even_in_a_fresh_slice() -> None:
    pacer, clock, done = make(per_second=100)  # 1 per slice
    pacer.submit(job(done, 0))
    pacer.submit(job(done, 1))
    clock.now += 0.05  # time passed, but the timer has not fired yet
    pacer.submit(job(done, 2))
    assert done == [0]  # 2 must not overtake 1
    clock.advance(0.0)
    assert done == [0, 1]
    clock.advance(0.01)
    assert done == [0, 1, 2]


def test_a_full_queue_refuses() -> None:
    pacer, _, done = make(per_second=100, max_waiting=2)
    results = [pacer.submit(job(done, n)) for n in range(5)]
    assert results == [True, True, True, False, False]
    assert done == [0] and pacer.waiting == 2


def test_jobs_whose_client_left_take_no_share() -> None:
    pacer, clock, done = make(per_second=200)  # 2 per slice
    pacer.submit(job(done, 0))
    pacer.submit(job(done, 1))
    pacer.submit(job(done, 2, worked=False))
    pacer.submit(job(done, 3, worked=False))
    pacer.submit(job(done, 4))
    pacer.submit(job(done, 5))
    clock.advance(0.01)
    assert done == [0, 1, 2, 3, 4, 5]


def test_the_rate_is_kept_over_time() -> None:
    pacer, clock, done = make(per_second=1000, max_waiting=10_000)
    for n in range(1000):
        pacer.submit(job(done, n))
    clock.advance(0.5)
    assert 500 <= len(done) <= 520
    clock.advance(0.6)
    assert len(done) == 1000


def test_zero_means_unpaced() -> None:
    pacer, clock, done = make(per_second=0, max_waiting=0)
    for n in range(1000):
        assert pacer.submit(job(done, n))
    assert len(done) == 1000 and not clock.timers


def test_a_low_rate_lengthens_the_slice() -> None:
    pacer, clock, done = make(per_second=2)  # one job every 0.5 s
    for n in range(3):
        pacer.submit(job(done, n))
    clock.advance(0.4)
    assert done == [0]
    clock.advance(0.2)
    assert done == [0, 1]
    clock.advance(0.5)
    assert done == [0, 1, 2]
