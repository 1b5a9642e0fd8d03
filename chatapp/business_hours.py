"""Business hours as pure data: a weekly schedule in one IANA time zone, plus holidays.

No database, clock or HTTP here: callers pass "now", so the rules (daylight-saving
changes, holidays, intervals that end at midnight) are tested directly. Times are wall
clock times in the site's zone: "09:00" means nine in the morning there in winter and
in summer alike. An opening that falls in a spring-forward gap opens at the first
instant after it (as a clock moved forward reads).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chatapp.errors import BadRequest

__all__ = ["Schedule", "Interval", "WEEKDAYS", "MAX_INTERVALS", "MAX_HOLIDAYS", "parse_schedule"]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_INTERVALS = 6  # per weekday
MAX_HOLIDAYS = 366
# How far ahead the next opening is looked for: a week, past a long run of holidays.
_LOOKAHEAD_DAYS = MAX_HOLIDAYS + 8


@dataclass(frozen=True, order=True)
class Interval:
    """Open from ``start`` until ``end`` (wall clock, end excluded); ``end`` None: until midnight."""

    start: time
    end: time | None

    def holds(self, at: time) -> bool:
        return self.start <= at and (self.end is None or at < self.end)

    def text(self) -> tuple[str, str]:
        return self.start.strftime("%H:%M"), "24:00" if self.end is None else self.end.strftime("%H:%M")


@dataclass(frozen=True)
class Schedule:
    """When the site answers: ``week[0]`` is Monday's intervals, ``week[6]`` Sunday's."""

    time_zone: str
    week: tuple[tuple[Interval, ...], ...]
    holidays: frozenset[date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def is_open(self, now: datetime) -> bool:
        """Whether ``now`` (aware) falls in an interval of its local weekday, not on a holiday."""
        local = now.astimezone(self.zone)
        if local.date() in self.holidays:
            return False
        wall = local.time().replace(tzinfo=None)
        return any(i.holds(wall) for i in self.week[local.weekday()])

    def next_opening(self, now: datetime) -> datetime | None:
        """The first instant after ``now`` at which an interval starts, in UTC (an instant in the
        repeated hour of autumn compares unequal across zones, PEP 495); None when it never opens."""
        zone = self.zone
        today = now.astimezone(zone).date()
        for offset in range(_LOOKAHEAD_DAYS):
            day = today + timedelta(days=offset)
            if day in self.holidays:
                continue
            for interval in self.week[day.weekday()]:
                opening = _instant(day, interval.start, zone)
                if opening > now:
                    return opening
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "time_zone": self.time_zone,
            "week": {name: [list(i.text()) for i in self.week[n]] for n, name in enumerate(WEEKDAYS)},
            "holidays": sorted(d.isoformat() for d in self.holidays),
        }


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant the wall clock of ``zone`` first reads ``at`` on ``day``: the earlier one when
    the clock goes back; when it jumps over ``at``, the moment it jumps."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=zone)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
        return first.astimezone(UTC)
    moment = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)  # before the gap
    while moment.astimezone(zone).replace(tzinfo=None) < naive:
        moment += timedelta(minutes=1)
    return moment


def _clock(value: object, field: str, *, end: bool) -> time | None:
    if isinstance(value, str) and len(value) == 5 and value[2] == ":" and value.replace(":", "").isdigit():
        hours, minutes = int(value[:2]), int(value[3:])
        if end and (hours, minutes) == (24, 0):
            return None
        if hours < 24 and minutes < 60:
            return time(hours, minutes)
    raise BadRequest(f"'{field}' must be a time of day as HH:MM (24:00 only as an end)", field=field)


def _intervals(raw: object, field: str) -> tuple[Interval, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) > MAX_INTERVALS:
        raise BadRequest(f"'{field}' must be a list of at most {MAX_INTERVALS} [start, end] pairs", field=field)
    intervals = []
    for n, pair in enumerate(raw):
        where = f"{field}[{n}]"
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise BadRequest(f"'{where}' must be a [start, end] pair such as [\"09:00\", \"17:30\"]", field=where)
        start, stop = _clock(pair[0], where, end=False), _clock(pair[1], where, end=True)
        assert start is not None
        if stop is not None and stop <= start:
            raise BadRequest(f"'{where}' must end after it starts", field=where)
        intervals.append(Interval(start, stop))
    intervals.sort()
    for before, after in pairwise(intervals):
        if before.end is None or before.end > after.start:
            raise BadRequest(f"'{field}' has overlapping intervals", field=field)
    return tuple(intervals)


def parse_schedule(time_zone: object, week: object, holidays: object) -> Schedule:
    """A schedule from its JSON parts; 422 naming the field at fault otherwise."""
    if not isinstance(time_zone, str) or ("/" not in time_zone and time_zone != "UTC"):
        raise BadRequest("'time_zone' must be an IANA time zone such as Europe/Paris", field="time_zone")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadRequest(f"'time_zone' {time_zone[:60]!r} is not a known IANA time zone",
                         field="time_zone") from exc
    if not isinstance(week, Mapping) or not set(week) <= set(WEEKDAYS):
        raise BadRequest(f"'week' must be an object with keys among {', '.join(WEEKDAYS)}", field="week")
    days = tuple(_intervals(week.get(name, []), f"week.{name}") for name in WEEKDAYS)
    if not isinstance(holidays, Sequence) or isinstance(holidays, str) or len(holidays) > MAX_HOLIDAYS:
        raise BadRequest(f"'holidays' must be a list of at most {MAX_HOLIDAYS} dates", field="holidays")
    dates = set()
    for n, raw in enumerate(holidays):
        try:
            dates.add(date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else date.min)
        except ValueError:
            dates.add(date.min)
        if date.min in dates:
            raise BadRequest(f"'holidays[{n}]' must be a date as YYYY-MM-DD", field=f"holidays[{n}]")
    return Schedule(time_zone, days, frozenset(dates))
