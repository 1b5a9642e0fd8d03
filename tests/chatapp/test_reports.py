"""Team reports (chatapp.reports, GET /api/admin/reports): exact figures from known times, on
SQLite and PostgreSQL; the times the rooms keep as chats are answered and assigned; the API's
range, time-zone and CSV answers and its refusals."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chatapp import repository as repo
from chatapp.db import Database, connect
from chatapp.reports import Period, percentile, team_report
from chatapp.schema import migrate
from tests.chatapp.conftest import POSTGRES
from tests.chatapp.procs import Api, ChatappProcess, guest_api, throwaway_database

PARIS = ZoneInfo("Europe/Paris")
DAY = date(2026, 3, 28)  # Paris moves its clocks on the 29th: that day has 23 hours


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    values = [float(v) for v in range(1, 11)]
    assert (percentile(values, 50), percentile(values, 90), percentile(values, 100)) == (5.0, 9.0, 10.0)


def test_a_period_is_whole_local_days_across_a_clock_change() -> None:
    period = Period(DAY, DAY + timedelta(days=1), PARIS)
    low, high = period.bounds()
    assert low == datetime(2026, 3, 27, 23, 0, tzinfo=UTC)  # midnight in Paris, winter time
    assert high == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)  # midnight after the change, summer time
    assert (high - low) == timedelta(hours=47)
    assert period.day_of(datetime(2026, 3, 28, 23, 30, tzinfo=UTC)) == date(2026, 3, 29)


async def seed(db: Database) -> dict[str, Any]:
    """Four chats of 28-29 March in Paris (one just outside), two agents, one label."""
    t0 = datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # 09:00 in Paris
    async with db.transaction() as conn:
        ann = await repo.create_user(conn, role="admin", name="Ann Agent")
        bo = await repo.create_user(conn, role="admin", name="Bo Agent")
        label_id = await conn.fetch_val(
            "INSERT INTO labels (name, name_key, color, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            "Billing", "billing", "#aa3300", t0, t0)
        rooms = []
        # (created, assignee, first assigned +s, first response +s, resolved +s, the visitor's rating)
        for created, agent, assigned, answered, resolved, rating in (
            (t0, ann, 30, 60, 600, 4),
            (t0 + timedelta(hours=2), ann, 90, 120, None, None),
            (t0 + timedelta(hours=16), bo, 10, 300, 3600, None),  # 01:00 on the 29th in Paris
            (t0 + timedelta(hours=17), None, None, None, None, None),  # nobody yet
            (t0 - timedelta(hours=9, minutes=1), ann, 1, 1, 1, 1),  # 22:59 on the 27th in Paris: outside
        ):
            user = await repo.create_user(conn, role="guest", name="Visitor")
            room_id = await repo.create_room(conn, user.id, "a question")
            times = [None if s is None else created + timedelta(seconds=s) for s in (assigned, answered, resolved)]
            await conn.execute(
                "UPDATE support_chat_rooms SET created_at = ?, assigned_admin_id = ?, first_assigned_at = ?, "
                "first_response_at = ?, resolved_at = ?, status = ?, rating = ? WHERE id = ?",
                created, agent and agent.id, *times,
                "resolved" if resolved else ("assigned" if agent else "open"), rating, room_id)
            rooms.append(room_id)
        for room_id in rooms[:2]:
            await conn.execute("INSERT INTO room_labels (room_id, label_id, added_at) VALUES (?, ?, ?)",
                               room_id, label_id, t0)
    return {"ann": ann.id, "bo": bo.id, "label": label_id, "rooms": rooms}


async def report_of(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    db = await connect(url)
    try:
        await migrate(db)
        seeded = await seed(db)
        found = await team_report(db, Period(DAY, DAY + timedelta(days=1), PARIS))
        return seeded, found.to_json()
    finally:
        await db.close()


@pytest.mark.parametrize("kind", ["sqlite", POSTGRES])
def test_the_figures_of_known_chats(kind: str, tmp_path: Path) -> None:
    with throwaway_database(kind, tmp_path) as url:
        seeded, doc = asyncio.run(report_of(url))
    assert doc["per_day"] == [{"date": "2026-03-28", "conversations": 2}, {"date": "2026-03-29", "conversations": 2}]
    overall = doc["overall"]
    assert overall["conversations"] == 4
    assert overall["first_response"] == {"count": 3, "median_s": 120.0, "p90_s": 300.0}
    assert overall["resolution"] == {"count": 2, "median_s": 600.0, "p90_s": 3600.0}
    assert overall["queue_wait"] == {"count": 3, "median_s": 30.0, "p90_s": 90.0}
    assert overall["csat"] == {"asked": 2, "rated": 1, "average": 4.0, "answer_rate": 0.5}
    agents = {a["id"]: a for a in doc["agents"]}
    assert agents[seeded["ann"]]["name"] == "Ann Agent" and agents[seeded["ann"]]["conversations"] == 2
    assert agents[seeded["ann"]]["first_response"] == {"count": 2, "median_s": 60.0, "p90_s": 120.0}
    assert agents[seeded["bo"]]["resolution"]["median_s"] == 3600.0
    assert agents[seeded["ann"]]["csat"] == {"asked": 1, "rated": 1, "average": 4.0, "answer_rate": 1.0}
    assert agents[seeded["bo"]]["csat"] == {"asked": 1, "rated": 0, "average": None, "answer_rate": 0.0}
    assert agents[None]["csat"]["answer_rate"] is None, "nothing was asked of unassigned open chats"
    assert agents[None]["conversations"] == 1 and agents[None]["first_response"]["count"] == 0
    assert [a["id"] for a in doc["agents"]][-1] is None, "unassigned chats come last"
    [label] = doc["labels"]
    assert (label["id"], label["name"], label["color"], label["conversations"]) == (seeded["label"], "Billing",
                                                                                     "#aa3300", 2)
    assert label["queue_wait"] == {"count": 2, "median_s": 30.0, "p90_s": 90.0}


# ------------------------------------------------------------------------- through the API


def test_a_chat_keeps_when_it_was_first_assigned_and_answered(chat: ChatappProcess, admin: Api) -> None:
    visitor = guest_api(chat, "Rita Report")
    room_id = visitor.send("Where is my order?")["room"]["id"]
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/notes", {"body": "checking the warehouse"})
    today = datetime.now(UTC).date().isoformat()
    params = {"from": today, "to": today, "tz": "UTC"}
    before = admin.ok("GET", "/api/admin/reports", params=params)["report"]["overall"]
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/assign", {})
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "On its way"})
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/unassign")
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Tracking: 123"})  # takes it again
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/resolve")
    doc = admin.ok("GET", "/api/admin/reports", params=params)["report"]
    after = doc["overall"]
    assert after["conversations"] == before["conversations"]
    assert after["first_response"]["count"] == before["first_response"]["count"] + 1, "a note is no answer"
    assert after["queue_wait"]["count"] == before["queue_wait"]["count"] + 1
    assert after["resolution"]["count"] == before["resolution"]["count"] + 1
    mine = next(a for a in doc["agents"] if a["id"] == admin.id)
    assert mine["name"] == admin.user["name"] and mine["resolution"]["count"] >= 1
    assert doc["per_day"] == [{"date": today, "conversations": after["conversations"]}]

    sheet = admin.request("GET", "/api/admin/reports", params={**params, "format": "csv"})
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/csv")
    assert f'filename="report-{today}-{today}.csv"' in sheet.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(sheet.text)))
    assert rows[0][:4] == ["group", "id", "name", "conversations"]
    assert rows[1][0] == "overall" and int(rows[1][3]) == after["conversations"]
    mine_row = next(r for r in rows if r[:2] == ["agent", str(admin.id)])
    assert mine_row[2] == admin.user["name"]
    assert [today, str(after["conversations"])] in rows


def test_the_report_refuses_what_it_cannot_read(chat: ChatappProcess, admin: Api) -> None:
    for params, field in (({"from": "2026-13-01"}, "from"), ({"to": "yesterday"}, "to"),
                          ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
                          ({"from": "2024-01-01", "to": "2026-01-01"}, "from"),
                          ({"tz": "Mars/Olympus"}, "tz"), ({"format": "xlsx"}, "format")):
        answer = admin.request("GET", "/api/admin/reports", params=params)
        assert answer.status_code == 422 and answer.json()["field"] == field, (params, answer.text)
    default = admin.ok("GET", "/api/admin/reports", params={"tz": "Europe/Kyiv"})["report"]
    assert len(default["per_day"]) == 30 and default["tz"] == "Europe/Kyiv"
    visitor = guest_api(chat, "Nosy")
    assert visitor.request("GET", "/api/admin/reports").status_code == 403
