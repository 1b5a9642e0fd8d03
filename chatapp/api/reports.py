"""``GET /api/admin/reports``: the team report of a date range, as JSON or CSV (owner and admins)."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request
from starlette.responses import Response

from chatapp.api.common import json_response, state
from chatapp.db import utcnow
from chatapp.errors import BadRequest
from chatapp.reports import MAX_DAYS, Period, team_report

__all__ = ["report"]

DEFAULT_DAYS = 30


def _day(value: str | None, name: str, default: date) -> date:
    if value is None or value == "":
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"'{name}' must be a date as YYYY-MM-DD", field=name) from None


def _zone(value: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(value or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest("'tz' must be an IANA time zone such as Europe/Paris", field="tz") from None


def period_of(request: Request) -> Period:
    """``from`` and ``to`` (inclusive, default: the last 30 days) in ``tz`` (default UTC)."""
    q = request.query_params
    zone = _zone(q.get("tz"))
    today = utcnow().astimezone(zone).date()
    end = _day(q.get("to"), "to", today)
    start = _day(q.get("from"), "from", end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise BadRequest("'from' must not be after 'to'", field="from")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadRequest(f"A report covers at most {MAX_DAYS} days", field="from")
    return Period(start, end, zone)


async def report(request: Request) -> Response:
    period = period_of(request)
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "csv"):
        raise BadRequest("'format' must be json or csv", field="format")
    found = await team_report(state(request).db, period)
    if fmt == "csv":
        name = f"report-{period.start.isoformat()}-{period.end.isoformat()}.csv"
        return Response(found.to_csv(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
    return json_response({"report": found.to_json()})
