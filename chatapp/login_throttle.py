"""Failed sign-ins slow the guesser down without locking the owner out.

Two rules, both over the window of ``CHATAPP_RATE_LOGIN_FAILURES`` (5 per 900 s):

* **Per account and client address**: a client that keeps failing on one account is
  stopped after ``count`` failures (429 with ``Retry-After``) until its oldest failure
  leaves the window. A correct password from that address clears its failures.
* **Per-account back-off**: once the account has ``CHATAPP_LOGIN_BACKOFF_AFTER``
  failures in the window from any addresses, each address *that has failed on it
  itself* must wait 2^(failures - after) seconds (capped at ``CHATAPP_LOGIN_BACKOFF_MAX``)
  after its own last failure before trying again.

Why only addresses with failures of their own: an attacker cannot make the back-off
fall on the owner, who signs in from an address that has not been failing (a new one
included), so the right password always gets in from there. An attacker rotating
addresses gets one guess per new address while the back-off lasts and then waits like
every other failing address: the more they guess, the longer their addresses wait.
A correct password does not end the back-off for the others (that would let the
attacker's addresses through again). Counts live where :mod:`chatapp.ratelimit` keeps
them (Redis when configured, so every instance sees every failure); every lockout is
logged and kept, by the instance that saw it, for :meth:`recent`. A correct password
clears the address's own failures but they still count towards the account's back-off
until they leave the window.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from chatapp.config import RateLimit
from chatapp.errors import TooManyRequests
from chatapp.models import iso
from chatapp.ratelimit import LimitWindow

__all__ = ["LoginThrottle", "Lockout"]

log = logging.getLogger("chatapp.login")

MAX_FAILURES_KEPT = 1000  # per account; the back-off has long reached its cap by then
MAX_LOCKOUTS_KEPT = 200


@dataclass(frozen=True)
class Lockout:
    """One throttling decision worth telling an admin about."""

    account: str
    address: str
    kind: str  # "address": this client failed too often; "account": the account's back-off began
    failures: int
    at: float  # wall-clock seconds
    retry_after: float

    def to_json(self) -> dict[str, object]:
        """What the panel lists; ``until`` is when this address (or the back-off) may try again."""
        return {
            "account": self.account,
            "address": self.address,
            "kind": self.kind,
            "failures": self.failures,
            "at": _iso(self.at),
            "until": _iso(self.at + self.retry_after),
        }


def _iso(seconds: float) -> str | None:
    return iso(datetime.fromtimestamp(seconds, UTC))


class LoginThrottle:
    """The two rules above over :class:`~chatapp.ratelimit.LimitWindow` (memory or Redis)."""

    def __init__(
        self,
        per_address: RateLimit,
        backoff_after: int,
        backoff_max: float,
        window: LimitWindow | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._per_address = per_address
        self._backoff_after = backoff_after
        self._backoff_max = backoff_max
        # Every failure on the account, from any address (the count that drives the back-off).
        self._per_account = RateLimit(MAX_FAILURES_KEPT, per_address.seconds)
        # One entry per (account, address): its last failure, kept as long as a back-off can last.
        self._last_failure = RateLimit(1, float(math.ceil(backoff_max)))
        self._window = window if window is not None else LimitWindow()
        self._wall = wall_clock
        self._lockouts: deque[Lockout] = deque(maxlen=MAX_LOCKOUTS_KEPT)

    async def check(self, account: str, address: str) -> None:
        """Raise :class:`TooManyRequests` when ``address`` may not try ``account`` now."""
        limit = self._per_address
        own, retry = await self._window.used(("login", account, address), limit)
        if own >= limit.count:
            raise TooManyRequests(
                f"Too many failed sign-ins for this account from your address: at most {limit.count} per "
                f"{limit.seconds:g} seconds; retry in {max(1, round(retry))}s",
                retry_after=retry,
            )
        if not own:
            return
        failures, _ = await self._window.used(("login", account), self._per_account)
        delay = self._backoff(failures)
        if not delay:
            return
        last, kept_for = await self._window.used(("login-last", account, address), self._last_failure)
        since_last = self._last_failure.seconds - kept_for if last else math.inf
        if since_last < delay:
            retry = delay - since_last
            raise TooManyRequests(
                f"This account has many failed sign-ins; your address must wait {max(1, round(retry))}s "
                "before trying again",
                retry_after=retry,
            )

    async def failed(self, account: str, address: str) -> None:
        await self._window.add(("login", account, address), self._per_address)
        await self._window.add(("login", account), self._per_account)
        await self._window.clear(("login-last", account, address), self._last_failure)
        await self._window.add(("login-last", account, address), self._last_failure)
        own, _ = await self._window.used(("login", account, address), self._per_address)
        failures, _ = await self._window.used(("login", account), self._per_account)
        if own == self._per_address.count:
            self._record(account, address, "address", own, self._per_address.seconds)
        if failures == self._backoff_after:
            self._record(account, address, "account", failures, self._backoff(failures))

    async def succeeded(self, account: str, address: str) -> None:
        """Clear this address's failures; the account's back-off stays for the others."""
        await self._window.clear(("login", account, address), self._per_address)
        await self._window.clear(("login-last", account, address), self._last_failure)

    def recent(self) -> list[Lockout]:
        """Lockouts still in force or begun within the window, newest first (seen by this instance)."""
        now = self._wall()
        horizon = max(self._per_address.seconds, self._backoff_max)
        return [lk for lk in reversed(self._lockouts) if lk.at + horizon >= now]

    def _backoff(self, account_failures: int) -> float:
        if account_failures < self._backoff_after:
            return 0.0
        return float(min(self._backoff_max, 2.0 ** min(account_failures - self._backoff_after, 32)))

    def _record(self, account: str, address: str, kind: str, failures: int, retry_after: float) -> None:
        lockout = Lockout(account, address, kind, failures, self._wall(), retry_after)
        self._lockouts.append(lockout)
        if kind == "address":
            log.warning("sign-in locked for %s from %s: %d failed attempts from that address", account, address,
                        failures)
        else:
            log.warning("sign-in back-off for %s: %d failed attempts from several addresses (latest %s)", account,
                        failures, address)
