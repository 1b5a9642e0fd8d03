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
attacker's addresses through again). Counts live in memory, per process, like
:mod:`chatapp.ratelimit`; every lockout is logged and kept for :meth:`recent`.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from chatapp.config import RateLimit
from chatapp.errors import TooManyRequests
from chatapp.models import iso

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
    return iso(datetime.fromtimestamp(seconds, timezone.utc))


class LoginThrottle:
    def __init__(
        self,
        per_address: RateLimit,
        backoff_after: int,
        backoff_max: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        max_accounts: int = 50_000,
    ) -> None:
        self._per_address = per_address
        self._backoff_after = backoff_after
        self._backoff_max = backoff_max
        self._clock = clock
        self._wall = wall_clock
        self._max_accounts = max_accounts
        self._failures: dict[str, deque[tuple[float, str]]] = {}
        self._lockouts: deque[Lockout] = deque(maxlen=MAX_LOCKOUTS_KEPT)

    def check(self, account: str, address: str) -> None:
        """Raise :class:`TooManyRequests` when ``address`` may not try ``account`` now."""
        now = self._clock()
        failures = self._window(account, now)
        own = [at for at, addr in failures if addr == address]
        limit = self._per_address
        if len(own) >= limit.count:
            retry = own[-limit.count] + limit.seconds - now
            raise TooManyRequests(
                f"Too many failed sign-ins for this account from your address: at most {limit.count} per "
                f"{limit.seconds:g} seconds; retry in {max(1, round(retry))}s",
                retry_after=retry,
            )
        delay = self._backoff(len(failures))
        if own and delay and own[-1] + delay > now:
            retry = own[-1] + delay - now
            raise TooManyRequests(
                f"This account has many failed sign-ins; your address must wait {max(1, round(retry))}s "
                "before trying again",
                retry_after=retry,
            )

    def failed(self, account: str, address: str) -> None:
        now = self._clock()
        failures = self._window(account, now)
        failures.append((now, address))
        own = sum(1 for _, addr in failures if addr == address)
        if own == self._per_address.count:
            self._record(account, address, "address", own, self._per_address.seconds)
        if len(failures) == self._backoff_after:
            self._record(account, address, "account", len(failures), self._backoff(len(failures)))

    def succeeded(self, account: str, address: str) -> None:
        """Clear this address's failures; the account's back-off stays for the others."""
        failures = self._failures.get(account)
        if failures:
            kept = [(at, addr) for at, addr in failures if addr != address]
            self._failures[account] = deque(kept, maxlen=MAX_FAILURES_KEPT)

    def recent(self) -> list[Lockout]:
        """Lockouts still in force or begun within the window, newest first."""
        now = self._wall()
        horizon = max(self._per_address.seconds, self._backoff_max)
        return [lk for lk in reversed(self._lockouts) if lk.at + horizon >= now]

    def _backoff(self, account_failures: int) -> float:
        if account_failures < self._backoff_after:
            return 0.0
        return float(min(self._backoff_max, 2.0 ** min(account_failures - self._backoff_after, 32)))

    def _window(self, account: str, now: float) -> deque[tuple[float, str]]:
        failures = self._failures.get(account)
        if failures is None:
            if len(self._failures) >= self._max_accounts:
                self._evict(now)
            failures = self._failures[account] = deque(maxlen=MAX_FAILURES_KEPT)
        horizon = now - self._per_address.seconds
        while failures and failures[0][0] <= horizon:
            failures.popleft()
        return failures

    def _record(self, account: str, address: str, kind: str, failures: int, retry_after: float) -> None:
        lockout = Lockout(account, address, kind, failures, self._wall(), retry_after)
        self._lockouts.append(lockout)
        if kind == "address":
            log.warning("sign-in locked for %s from %s: %d failed attempts from that address", account, address,
                        failures)
        else:
            log.warning("sign-in back-off for %s: %d failed attempts from several addresses (latest %s)", account,
                        failures, address)

    def _evict(self, now: float) -> None:
        """Drop accounts with no failure left in the window, else the oldest tenth."""
        horizon = now - self._per_address.seconds
        idle = [k for k, f in self._failures.items() if not f or f[-1][0] <= horizon]
        for key in idle or list(self._failures)[: len(self._failures) // 10 + 1]:
            del self._failures[key]
