"""Rate limits and the sign-in throttle: the same rules in one process's memory and in Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from chatapp.config import RateLimit
from chatapp.errors import TooManyRequests
from chatapp.login_throttle import LoginThrottle
from chatapp.ratelimit import LimitWindow, LocalLog, RateLimiter, limit_storage


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def window(request: pytest.FixtureRequest) -> AsyncIterator[LimitWindow]:
    if request.param == "memory":
        opened = LimitWindow(limit_storage())
    else:
        url: str = request.getfixturevalue("redis_url")
        prefix: str = request.getfixturevalue("scaling_channel")
        opened = LimitWindow(limit_storage(url, prefix))
    yield opened
    await opened.close()


async def test_rate_limiter_sliding_window(window: LimitWindow) -> None:
    limiter = RateLimiter(window.storage)
    limit = RateLimit(3, 2)
    for _ in range(3):
        await limiter.hit("k", limit, "messages")
    with pytest.raises(TooManyRequests, match="at most 3 per 2 seconds") as raised:
        await limiter.hit("k", limit, "messages")
    assert raised.value.retry_after == pytest.approx(2, abs=0.5)
    await limiter.hit(("other", 1), limit, "messages")
    await limiter.check("k2", limit, "messages")  # check alone counts nothing
    for _ in range(3):
        await limiter.check("k2", limit, "messages")
    await asyncio.sleep(2.1)
    await limiter.hit("k", limit, "messages")  # the oldest hits have left the window
    await limiter.forget("k", limit)
    for _ in range(3):
        await limiter.hit("k", limit, "messages")


async def test_login_throttle_stops_the_failing_address_and_backs_off_exponentially(window: LimitWindow) -> None:
    throttle = LoginThrottle(RateLimit(3, 30), backoff_after=4, backoff_max=2, window=window)
    for _ in range(3):
        await throttle.check("ann@x.test", "10.0.0.1")
        await throttle.failed("ann@x.test", "10.0.0.1")
    with pytest.raises(TooManyRequests, match="from your address") as raised:
        await throttle.check("ann@x.test", "10.0.0.1")
    assert raised.value.retry_after == pytest.approx(30, abs=1)
    await throttle.check("bob@x.test", "10.0.0.1")  # other accounts from that address are not affected
    await throttle.failed("ann@x.test", "10.0.0.2")  # fourth failure on the account: back-off of 2^0 s begins
    await throttle.check("ann@x.test", "10.0.0.3")
    await throttle.failed("ann@x.test", "10.0.0.3")  # fifth: 2^1 s
    with pytest.raises(TooManyRequests, match="must wait") as raised:
        await throttle.check("ann@x.test", "10.0.0.3")
    assert raised.value.retry_after == pytest.approx(2, abs=0.3)
    await throttle.check("ann@x.test", "10.0.0.9")  # an address that has not failed is never held back
    for i in range(10):
        await throttle.failed("ann@x.test", f"10.0.1.{i}")
    with pytest.raises(TooManyRequests) as raised:
        await throttle.check("ann@x.test", "10.0.1.0")
    assert raised.value.retry_after <= 2, "the back-off is capped at backoff_max"
    await asyncio.sleep(2.1)
    await throttle.check("ann@x.test", "10.0.1.0")
    await throttle.succeeded("ann@x.test", "10.0.0.1")
    await throttle.check("ann@x.test", "10.0.0.1")  # its own failures are gone; the others' stay
    await throttle.failed("ann@x.test", "10.0.0.3")
    with pytest.raises(TooManyRequests, match="must wait"):
        await throttle.check("ann@x.test", "10.0.0.3")
    kinds = [(lk.kind, lk.address) for lk in throttle.recent()]
    assert kinds == [("account", "10.0.0.2"), ("address", "10.0.0.1")]


async def test_the_local_log_drops_what_left_the_window_and_forgets_idle_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("chatapp.ratelimit.time.monotonic", lambda: clock[0])
    log = LocalLog()
    limit = RateLimit(3, 10)
    for _ in range(3):
        log.add(("messages", 7), limit)
        clock[0] += 1
    assert log.used(("messages", 7), limit) == (3, pytest.approx(7))  # the first leaves 10 s after it came
    assert log.used(("messages", 7), RateLimit(3, 20)) == (0, 0.0)  # another limit counts apart
    clock[0] += 7.5  # the first hit is 10.5 s old
    assert log.used(("messages", 7), limit) == (2, pytest.approx(0.5))
    log.add(("messages", 8), limit)
    assert len(log) == 2
    clock[0] += LocalLog.SWEEP_EVERY  # both keys idle past their window: the next hit sweeps them
    log.add(("typing", 1), limit)
    assert len(log) == 1 and log.used(("messages", 7), limit) == (0, 0.0)
    log.clear(("typing", 1), limit)
    assert len(log) == 0
