"""The site's business hours in the database, and what the widget says about availability.

**Live availability** is "within business hours, and an agent there": an agent counts as
routing counts them (chose online and has a panel open, :attr:`chatapp.routing.Agent.counts`),
so the widget never says "online" while chats would only wait in the queue. No schedule
means always within hours. The answer is kept for a few seconds per process, so a busy site's
widgets cost one database read and one presence look-up per interval, not one per visitor;
it never names an agent.

The status line is written here, in the visitor's language (catalogue keys ``hours.*``,
times and the zone's city by Babel), so the widget on a host page carries no schedule code
and no strings for it.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, format_time, get_timezone_location

from chatapp.audit import audit
from chatapp.business_hours import Schedule, parse_schedule
from chatapp.db import Database, utcnow
from chatapp.i18n import DEFAULT_LOCALE, Catalogues
from chatapp.models import User, iso
from chatapp.policy import ensure_manager
from chatapp.routing import Router

__all__ = ["SiteHours", "Availability", "STATUS_MAX_AGE"]

STATUS_MAX_AGE = 5.0  # seconds one answer about availability is reused (and browsers may cache it)


@dataclass(frozen=True)
class Availability:
    """What the widget is told: nobody's name, only whether someone can answer and when."""

    online: bool
    in_hours: bool
    next_open: datetime | None  # outside hours: when the schedule opens next
    time_zone: str | None
    at: datetime  # when this was decided

    def to_json(self, catalogues: Catalogues, locale: str) -> dict[str, Any]:
        return {
            "status": "online" if self.online else "away",
            "text": self.text(catalogues, locale),
            "offer": None if self.online else catalogues.text(locale, "hours.leave"),
            "in_hours": self.in_hours,
            "next_open": iso(self.next_open),
            "time_zone": self.time_zone,
            "locale": locale,
        }

    def text(self, catalogues: Catalogues, locale: str) -> str:
        """"Online — ...", "Away — back at 09:00, Paris time" (next opening in the site's zone) or "Away"."""
        if self.online:
            return catalogues.text(locale, "hours.online")
        if self.next_open is None or self.time_zone is None:
            return catalogues.text(locale, "hours.away")
        lang = _babel_locale(locale)
        opening = self.next_open.astimezone(ZoneInfo(self.time_zone))
        days = (opening.date() - self.at.astimezone(opening.tzinfo).date()).days
        key = {0: "hours.back.today", 1: "hours.back.tomorrow"}.get(days, "hours.back.later")
        return catalogues.text(locale, key, {
            "time": format_time(opening, "short", locale=lang),
            "day": format_skeleton("MMMMd", opening, locale=lang),
            "city": get_timezone_location(self.time_zone, locale=lang, return_city=True),
        })


def _babel_locale(code: str) -> Locale:
    try:
        return Locale.parse(code, sep="-")
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LOCALE)


class SiteHours:
    """Reads and writes the one schedule; answers "can anyone answer now?"."""

    def __init__(self, db: Database, router: Router, catalogues: Catalogues,
                 now: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.router = router
        self.catalogues = catalogues
        self.now = now
        self._cached: tuple[float, Availability] | None = None

    async def schedule(self) -> Schedule | None:
        row = await self.db.fetch_one("SELECT time_zone, week, holidays FROM business_hours WHERE id = 1")
        if row is None:
            return None
        return parse_schedule(row["time_zone"], orjson.loads(row["week"]), orjson.loads(row["holidays"]))

    async def set(self, admin: User, time_zone: object, week: object, holidays: object) -> Schedule:
        """Replace the schedule (the owner and admins; in the audit log); 422 naming the field at fault."""
        ensure_manager(admin)
        schedule = parse_schedule(time_zone, week, holidays)
        doc = schedule.to_json()
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO business_hours (id, time_zone, week, holidays, updated_by, updated_at) "
                "VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET time_zone = excluded.time_zone, "
                "week = excluded.week, holidays = excluded.holidays, updated_by = excluded.updated_by, "
                "updated_at = excluded.updated_at",
                schedule.time_zone, orjson.dumps(doc["week"]).decode(), orjson.dumps(doc["holidays"]).decode(),
                admin.id, utcnow(),
            )
            await audit(conn, admin, "hours.set", "site", None,
                        {"time_zone": schedule.time_zone, "holidays": len(schedule.holidays)})
        self._cached = None
        return schedule

    async def clear(self, admin: User) -> bool:
        """No schedule any more: within hours at all times. True when there was one."""
        ensure_manager(admin)
        async with self.db.transaction() as conn:
            removed: int = await conn.execute("DELETE FROM business_hours WHERE id = 1")
            if removed:
                await audit(conn, admin, "hours.clear", "site", None)
        self._cached = None
        return removed > 0

    async def availability(self) -> Availability:
        """Within hours and an agent there, decided at most every ``STATUS_MAX_AGE`` seconds."""
        cached = self._cached
        if cached is not None and clock.monotonic() - cached[0] < STATUS_MAX_AGE:
            return cached[1]
        now = self.now()
        schedule = await self.schedule()
        in_hours = schedule is None or schedule.is_open(now)
        there = False
        if in_hours:
            present = await self.router.present()
            there = any(agent.counts for agent in await self.router.agents(self.db, present))
        next_open = None if in_hours or schedule is None else schedule.next_opening(now)
        result = Availability(
            online=in_hours and there,
            in_hours=in_hours,
            next_open=next_open,
            time_zone=schedule.time_zone if schedule else None,
            at=now,
        )
        self._cached = (clock.monotonic(), result)
        return result
