"""Team reports: how many chats came in, how fast support answered, resolved and picked them up,
and how satisfied the visitors were.

A report covers whole days from ``start`` to ``end`` (inclusive) in one time zone, the site's
or the reader's. It reads the rooms created in that period by one range of an index that
covers every column it needs (``support_chat_rooms_report``, migration 021: no row is looked
up) with the times the rooms keep for it (``first_response_at``, ``first_assigned_at``,
``resolved_at``; migration 020), and their labels by the labels'
own index, then computes in Python: medians and 90th percentiles need the values, which no
portable SQL aggregate gives on both SQLite and PostgreSQL. The figures are per day, overall,
per current assignee and per label (a chat with two labels counts under both).

- first response: from the chat's creation to support's first message (never a note or a
  system line); chats nobody answered count in ``conversations``, not in the times;
- resolution: creation to being resolved, for chats resolved now (a reopened chat is not);
- queue wait: creation to the first assignment, by hand or by routing;
- satisfaction (CSAT): of the chats resolved or closed (the widget asks about those), how many
  the visitor rated (answer rate) and the ratings' average, 1 to 5.
"""

from __future__ import annotations

import csv
import io
import math
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chatapp.db import Connection, Row, placeholders

__all__ = ["MAX_DAYS", "Figures", "Period", "Report", "Satisfaction", "percentile", "team_report"]

MAX_DAYS = 366


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0-100) of sorted values; None for none."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


# Times as seconds computed by the database, so 100,000 rows cost floats, not datetimes: the
# epoch of a room's creation (for its day) and each span from it. SQLite reads its ISO text
# with julianday(), PostgreSQL subtracts timestamps; both give doubles.
_SPANS: dict[str, tuple[str, str]] = {
    "sqlite": ("(julianday({0}) - 2440587.5) * 86400.0", "(julianday({1}) - julianday({0})) * 86400.0"),
    "postgres": ("CAST(EXTRACT(EPOCH FROM {0}) AS DOUBLE PRECISION)",
                 "CAST(EXTRACT(EPOCH FROM ({1} - {0})) AS DOUBLE PRECISION)"),
}


def _rooms_sql(dialect: str) -> str:
    epoch, span = _SPANS[dialect]
    return (
        f"SELECT id, status, assigned_admin_id, rating, {epoch.format('created_at')} AS created_epoch, "
        f"{span.format('created_at', 'first_response_at')} AS first_response_s, "
        f"CASE WHEN status = 'resolved' THEN {span.format('created_at', 'resolved_at')} END AS resolution_s, "
        f"{span.format('created_at', 'first_assigned_at')} AS queue_wait_s "
        "FROM support_chat_rooms WHERE created_at >= ? AND created_at < ?"
    )


@dataclass(frozen=True)
class Period:
    """Whole days in one time zone; ``bounds`` are the UTC instants the rooms are read between."""

    start: date
    end: date
    zone: ZoneInfo

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def bounds(self) -> tuple[datetime, datetime]:
        first = datetime.combine(self.start, time(), self.zone)
        after = datetime.combine(self.end + timedelta(days=1), time(), self.zone)
        return first.astimezone(UTC), after.astimezone(UTC)

    def day_of(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def starts(self) -> list[float]:
        """The epoch seconds each day starts at, and the end: a room's day by bisection."""
        starts = [datetime.combine(day, time(), self.zone).timestamp() for day in self.days]
        return [*starts, self.bounds()[1].timestamp()]


@dataclass
class Timing:
    values: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        ordered = sorted(self.values)

        def seconds(q: float) -> float | None:  # to the millisecond, never below zero (clock skew)
            found = percentile(ordered, q)
            return None if found is None else max(0.0, round(float(found), 3))

        return {"count": len(ordered), "median_s": seconds(50), "p90_s": seconds(90)}


@dataclass
class Satisfaction:
    """CSAT: the ratings of chats that were resolved or closed (the ones the widget asked about)."""

    asked: int = 0
    ratings: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        rated = len(self.ratings)
        return {
            "asked": self.asked,
            "rated": rated,
            "average": round(sum(self.ratings) / rated, 2) if rated else None,
            "answer_rate": round(rated / self.asked, 3) if self.asked else None,
        }


@dataclass
class Figures:
    """The counts and times of one group of chats (all of them, one agent's, one label's)."""

    conversations: int = 0
    first_response: Timing = field(default_factory=Timing)
    resolution: Timing = field(default_factory=Timing)
    queue_wait: Timing = field(default_factory=Timing)
    csat: Satisfaction = field(default_factory=Satisfaction)

    def add(self, rows: list[Row]) -> None:
        """Count ``rows`` in; a comprehension per figure, as a year holds 100,000 rows."""
        self.conversations += len(rows)
        asked = [r["rating"] for r in rows if r["status"] in ("resolved", "closed")]
        self.csat.asked += len(asked)
        self.csat.ratings += [int(score) for score in asked if score is not None]
        for timing, column in ((self.first_response, "first_response_s"), (self.resolution, "resolution_s"),
                               (self.queue_wait, "queue_wait_s")):
            timing.values += [r[column] for r in rows if r[column] is not None]

    def to_json(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "first_response": self.first_response.to_json(),
            "resolution": self.resolution.to_json(),
            "queue_wait": self.queue_wait.to_json(),
            "csat": self.csat.to_json(),
        }


@dataclass
class Report:
    period: Period
    per_day: Counter[date] = field(default_factory=Counter)
    overall: Figures = field(default_factory=Figures)
    agents: dict[int | None, Figures] = field(default_factory=lambda: defaultdict(Figures))
    labels: dict[int, Figures] = field(default_factory=lambda: defaultdict(Figures))
    agent_names: dict[int, str] = field(default_factory=dict)
    label_info: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (name, colour)

    def to_json(self) -> dict[str, Any]:
        agents = sorted(self.agents.items(), key=lambda item: (item[0] is None, -item[1].conversations))
        return {
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "tz": self.period.zone.key,
            "per_day": [{"date": day.isoformat(), "conversations": self.per_day[day]} for day in self.period.days],
            "overall": self.overall.to_json(),
            "agents": [
                {"id": agent_id, "name": None if agent_id is None else self.agent_names.get(agent_id),
                 **figures.to_json()}
                for agent_id, figures in agents
            ],
            "labels": [
                {"id": label_id, "name": self.label_info[label_id][0], "color": self.label_info[label_id][1],
                 **figures.to_json()}
                for label_id, figures in sorted(self.labels.items(), key=lambda item: -item[1].conversations)
                if label_id in self.label_info
            ],
        }

    def to_csv(self) -> str:
        """One line per group (overall, each agent, each label), then one per day."""
        out = io.StringIO()
        writer = csv.writer(out)
        doc = self.to_json()
        timings = ("first_response", "resolution", "queue_wait")
        csat = ("asked", "rated", "average", "answer_rate")
        writer.writerow(["group", "id", "name", "conversations",
                         *[f"{t}_{m}" for t in timings for m in ("count", "median_s", "p90_s")],
                         *[f"csat_{m}" for m in csat]])

        def line(group: str, ident: Any, name: Any, figures: dict[str, Any]) -> None:
            cells = [figures[t][m] for t in timings for m in ("count", "median_s", "p90_s")]
            cells += [figures["csat"][m] for m in csat]
            writer.writerow([group, "" if ident is None else ident, name or "", figures["conversations"],
                             *["" if c is None else c for c in cells]])

        line("overall", None, None, doc["overall"])
        for agent in doc["agents"]:
            line("agent", agent["id"], agent["name"] or "unassigned", agent)
        for label in doc["labels"]:
            line("label", label["id"], label["name"], label)
        writer.writerow([])
        writer.writerow(["date", "conversations"])
        for day in doc["per_day"]:
            writer.writerow([day["date"], day["conversations"]])
        return out.getvalue()


async def team_report(conn: Connection, period: Period) -> Report:
    """The report of ``period``: three indexed reads (rooms, their labels, the names)."""
    report = Report(period)
    low, high = period.bounds()
    rooms = await conn.fetch_all(_rooms_sql(conn.dialect), low, high)
    starts, days = period.starts(), period.days
    last = len(days) - 1
    report.per_day.update(days[min(max(bisect_right(starts, float(r["created_epoch"])) - 1, 0), last)] for r in rooms)
    report.overall.add(rooms)
    by_agent: dict[int | None, list[Row]] = defaultdict(list)
    for row in rooms:
        agent = row["assigned_admin_id"]
        by_agent[None if agent is None else int(agent)].append(row)
    for agent_id, theirs in by_agent.items():
        report.agents[agent_id].add(theirs)
    if rooms:
        by_id = {int(r["id"]): r for r in rooms}
        tagged = await conn.fetch_all(
            "SELECT rl.room_id, rl.label_id FROM room_labels rl JOIN support_chat_rooms r ON r.id = rl.room_id "
            "WHERE r.created_at >= ? AND r.created_at < ?",
            low, high,
        )
        by_label: dict[int, list[Row]] = defaultdict(list)
        for row in tagged:
            by_label[int(row["label_id"])].append(by_id[int(row["room_id"])])
        for label_id, carrying in by_label.items():
            report.labels[label_id].add(carrying)
    agent_ids = [a for a in report.agents if a is not None]
    if agent_ids:
        names = await conn.fetch_all(f"SELECT id, name FROM users WHERE id IN ({placeholders(agent_ids)})", *agent_ids)
        report.agent_names = {int(r["id"]): str(r["name"]) for r in names}
    if report.labels:
        label_ids = list(report.labels)
        found = await conn.fetch_all(f"SELECT id, name, color FROM labels WHERE id IN ({placeholders(label_ids)})",
                                     *label_ids)
        report.label_info = {int(r["id"]): (str(r["name"]), str(r["color"])) for r in found}
    return report
