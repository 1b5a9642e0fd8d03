"""The reconnect storm's accounting of lost messages (bench/scenarios/storm.py), on made-up reports:
a loss must say whether it fell just after the subscribe, after an unexpected close, or mid-stream."""

from __future__ import annotations

from typing import Any

from bench.config import SMOKE
from bench.scenarios.storm import _summarise

SENT = [100.0, 110.0, 120.0, 130.0, 140.0]  # the publisher's scheduled times on channel "a"


def _summary(clients: list[list[Any]]) -> dict[str, Any]:
    waves = [{"startedAt": 50.0, "times": [10.0], "failed": 0, "retries": 0, "errors": []}]
    published = {"accepted": {"a": SENT}, "statuses": {"200": len(SENT)}, "unanswered": 0}
    return _summarise(SMOKE, waves, published, [{"clients": clients, "samples": []}])


def test_a_client_that_got_everything_after_its_subscribe_lost_nothing() -> None:
    # subscribed at 105: 110..140 expected, all four arrived; 100 came before and is not owed
    summary = _summary([["a", 105.0, 4, 1, 110.0, 0]])
    assert summary["lost"] == 0
    assert summary["lost_where"]["clients"] == 0


def test_messages_missed_right_after_the_subscribe_are_told_apart() -> None:
    # subscribed at 105, first message received 130: 110 and 120 missed at the start
    summary = _summary([["a", 105.0, 2, 0, 130.0, 0]])
    assert summary["lost"] == 2
    assert summary["lost_where"] == {"clients": 1, "closed_unexpectedly": 0, "at_start": 2, "elsewhere": 0,
                                     "latest_at_start_ms_after_subscribe": 15.0}


def test_a_gap_mid_stream_and_a_closed_socket_are_counted_as_such() -> None:
    # one client got 110 and 140 but not 120 and 130; another closed at 125 after getting 110 and 120
    summary = _summary([["a", 105.0, 2, 0, 110.0, 0], ["a", 105.0, 2, 0, 110.0, 125.0]])
    assert summary["lost"] == 4
    where = summary["lost_where"]
    assert where["clients"] == 2 and where["closed_unexpectedly"] == 1
    assert where["at_start"] == 0 and where["elsewhere"] == 4
