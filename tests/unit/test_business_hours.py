"""chatapp.business_hours: open or closed at an instant, and the next opening, in the site's zone.

Paris changes clocks on the last Sunday of March (02:00 -> 03:00) and of October
(03:00 -> 02:00); the cases below cross both, and a run of holidays.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from chatapp.business_hours import Interval, Schedule, parse_schedule
from chatapp.errors import BadRequest

WEEKDAYS_9_TO_5 = {day: [["09:00", "12:00"], ["13:00", "17:30"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def paris(week: dict[str, Any] | None = None, holidays: list[str] | None = None) -> Schedule:
    return parse_schedule("Europe/Paris", WEEKDAYS_9_TO_5 if week is None else week, holidays or [])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("now", "is_open"), [
    (utc(2026, 1, 5, 7, 59), False),  # Monday 08:59 in Paris (UTC+1)
    (utc(2026, 1, 5, 8, 0), True),  # 09:00: the start is in
    (utc(2026, 1, 5, 11, 0), False),  # 12:00: the end is out (lunch)
    (utc(2026, 1, 5, 16, 29), True),
    (utc(2026, 1, 5, 16, 30), False),  # 17:30
    (utc(2026, 7, 6, 7, 30), True),  # Monday 09:30 in summer (UTC+2): wall-clock hours, not UTC
    (utc(2026, 1, 10, 10, 0), False),  # Saturday
])
def test_open_follows_the_wall_clock_of_the_site(now: datetime, is_open: bool) -> None:
    assert paris().is_open(now) is is_open


def test_a_holiday_closes_the_whole_local_day_and_the_next_opening_skips_it() -> None:
    schedule = paris(holidays=["2026-12-24", "2026-12-25"])
    assert not schedule.is_open(utc(2026, 12, 24, 9, 0))  # Thursday 10:00 in Paris
    assert schedule.is_open(utc(2026, 12, 23, 9, 0))
    # Wednesday evening -> Thursday and Friday off -> Monday 09:00
    assert schedule.next_opening(utc(2026, 12, 23, 18, 0)) == datetime(2026, 12, 28, 8, 0, tzinfo=UTC)


def test_next_opening_is_later_today_after_lunch_or_tomorrow_in_the_evening() -> None:
    schedule = paris()
    assert schedule.next_opening(utc(2026, 1, 5, 11, 15)) == utc(2026, 1, 5, 12, 0)  # 13:00 Paris
    assert schedule.next_opening(utc(2026, 1, 5, 20, 0)) == utc(2026, 1, 6, 8, 0)
    assert schedule.next_opening(utc(2026, 1, 9, 17, 0)) == utc(2026, 1, 12, 8, 0)  # Friday -> Monday


def test_across_the_spring_change_nine_stays_nine_local() -> None:
    # Friday 27 March (UTC+1) 18:00 -> Monday 30 March, after the change: 09:00 is 07:00 UTC
    opening = paris().next_opening(utc(2026, 3, 27, 17, 0))
    assert opening == utc(2026, 3, 30, 7, 0)
    assert opening is not None and opening.astimezone(paris().zone).time() == time(9, 0)


def test_an_opening_inside_the_spring_gap_opens_when_the_clock_jumps() -> None:
    # 02:30 does not exist on 29 March 2026 in Paris: the clock goes from 02:00 to 03:00 (01:00 UTC)
    schedule = paris({"sun": [["02:30", "04:00"]]})
    assert schedule.next_opening(utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 29, 1, 0)
    assert schedule.is_open(utc(2026, 3, 29, 1, 0))  # 03:00 local


def test_an_opening_in_the_autumn_repeat_is_the_first_of_the_two() -> None:
    # 02:30 happens twice on 25 October 2026 in Paris: first at 00:30 UTC (summer time)
    schedule = paris({"sun": [["02:30", "04:00"]]})
    assert schedule.next_opening(utc(2026, 10, 24, 12, 0)) == utc(2026, 10, 25, 0, 30)
    assert schedule.is_open(utc(2026, 10, 25, 1, 45))  # 02:45 local, the second time round


def test_24_00_ends_at_midnight_and_a_schedule_that_never_opens_says_so() -> None:
    late = paris({"fri": [["18:00", "24:00"]]})
    assert late.is_open(utc(2026, 1, 9, 22, 59))  # 23:59 Friday
    assert not late.is_open(utc(2026, 1, 9, 23, 0))  # 00:00 Saturday
    assert late.week[4] == (Interval(time(18, 0), None),)
    assert late.to_json()["week"]["fri"] == [["18:00", "24:00"]]
    assert paris({}).next_opening(utc(2026, 1, 5, 0, 0)) is None
    winter_off = [f"2026-{m:02d}-{d:02d}" for m in (1, 2) for d in range(1, 29)]
    every_day_off = paris({"mon": [["09:00", "10:00"]]}, winter_off)
    assert every_day_off.next_opening(utc(2026, 1, 1, 0, 0)) == utc(2026, 3, 2, 8, 0)


def test_round_trip_through_json() -> None:
    schedule = paris(holidays=["2026-05-01"])
    doc = schedule.to_json()
    assert parse_schedule(doc["time_zone"], doc["week"], doc["holidays"]) == schedule
    assert schedule.holidays == frozenset({date(2026, 5, 1)})


@pytest.mark.parametrize(("time_zone", "week", "holidays", "field"), [
    ("Mars/Olympus_Mons", {}, [], "time_zone"),
    ("CET+1", {}, [], "time_zone"),
    ("../../etc/passwd", {}, [], "time_zone"),
    ("Europe/Paris", {"someday": []}, [], "week"),
    ("Europe/Paris", {"mon": [["9:00", "17:00"]]}, [], "week.mon[0]"),
    ("Europe/Paris", {"mon": [["24:00", "24:00"]]}, [], "week.mon[0]"),
    ("Europe/Paris", {"tue": [["17:00", "09:00"]]}, [], "week.tue[0]"),
    ("Europe/Paris", {"wed": [["09:00", "13:00"], ["12:00", "17:00"]]}, [], "week.wed"),
    ("Europe/Paris", {"thu": [["09:00"]]}, [], "week.thu[0]"),
    ("Europe/Paris", {}, ["2026-02-30"], "holidays[0]"),
    ("Europe/Paris", {}, ["2026-01-01", "next friday"], "holidays[1]"),
])
def test_bad_schedules_name_the_field(time_zone: str, week: Any, holidays: Any, field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_schedule(time_zone, week, holidays)
    assert caught.value.extra["field"] == field
    assert caught.value.status == 422
