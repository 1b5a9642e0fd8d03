"""Business hours, live availability and the offline form over HTTP, on SQLite and PostgreSQL.

The schedule is site-wide, so every test leaves it removed. Nobody has a panel open here
except where a test opens one (an Echo client on presence-admins), so the site reads away
unless that test says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.chatapp.conftest import start_echo
from tests.chatapp.procs import Api, ChatappProcess, wait_until
from tests.helpers.procs import ReverbProcess

ROUTE = "/api/admin/business-hours"
ALL_WEEK = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
def hours(admin: Api) -> Iterator[Callable[..., dict[str, Any]]]:
    def put(time_zone: str = "Europe/Paris", week: dict[str, Any] | None = None,
            holidays: list[str] | None = None) -> dict[str, Any]:
        body = {"time_zone": time_zone, "week": ALL_WEEK if week is None else week, "holidays": holidays or []}
        return admin.ok("PUT", ROUTE, body)  # type: ignore[no-any-return]

    yield put
    admin.ok("DELETE", ROUTE)


def closed_today_open_tomorrow(zone: str) -> tuple[dict[str, Any], list[str], datetime]:
    """Every day 09:00-17:00 but today (in ``zone``) a holiday: the next opening is tomorrow 09:00."""
    today = datetime.now(ZoneInfo(zone)).date()
    week = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    opening = datetime.combine(today + timedelta(days=1), datetime.min.time().replace(hour=9), ZoneInfo(zone))
    return week, [today.isoformat()], opening.astimezone(UTC)


def test_without_a_schedule_and_nobody_there_the_widget_says_away(anon: Api, admin: Api) -> None:
    admin.ok("DELETE", ROUTE)
    response = anon.get("/api/chat/status", params={"prefer": "uk-UA,uk"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=5"
    doc = response.json()
    assert doc == {"status": "away", "text": "Нас зараз немає — відповімо, щойно зможемо",
                   "offer": "Залиште нам повідомлення", "in_hours": True, "next_open": None, "time_zone": None,
                   "locale": "uk"}
    assert admin.ok("GET", ROUTE)["hours"] is None


def test_outside_hours_it_says_when_it_opens_in_the_visitor_language(
    anon: Api, admin: Api, hours: Callable[..., Any],
) -> None:
    week, holidays, opening = closed_today_open_tomorrow("Europe/Paris")
    saved = hours("Europe/Paris", week, holidays)
    assert saved["hours"]["holidays"] == holidays and saved["hours"]["week"]["sun"] == [["09:00", "17:00"]]
    assert saved["status"]["status"] == "away" and not saved["status"]["in_hours"]
    logged = admin.ok("GET", "/api/admin/audit", params={"limit": 5})["data"]
    assert any(e["action"] == "hours.set" and e["details"] == {"time_zone": "Europe/Paris", "holidays": 1}
               and e["actor"]["id"] == admin.id for e in logged), logged
    french = anon.ok("GET", "/api/chat/status", params={"prefer": "fr-CA,fr"})
    assert french["text"] == "Absents — de retour demain à 09:00, heure de Paris"
    assert french["next_open"] == opening.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert french["time_zone"] == "Europe/Paris" and french["offer"] == "Laissez-nous un message"
    english = anon.ok("GET", "/api/chat/status")
    assert english["text"] == "Away — back tomorrow at 9:00\u202fAM, Paris time"  # CLDR: a narrow no-break space
    # /api/config brings the same answer, so the widget shows it without a request of its own
    assert anon.ok("GET", "/api/config", params={"prefer": "uk"})["status"]["text"] == (
        "Нас зараз немає — повернемося завтра о 09:00 за місцевим часом (Париж)")
    assert "Alice" not in str(english)


@pytest.mark.parametrize(("body", "field"), [
    ({"time_zone": "Europe/Atlantis", "week": {}}, "time_zone"),
    ({"time_zone": "Europe/Paris", "week": {"mon": [["18:00", "09:00"]]}}, "week.mon[0]"),
    ({"time_zone": "Europe/Paris", "week": {"mon": [["09:00", "13:00"], ["12:00", "18:00"]]}}, "week.mon"),
    ({"time_zone": "Europe/Paris", "week": {"funday": []}}, "week"),
    ({"time_zone": "Europe/Paris", "week": {}, "holidays": ["2026-02-30"]}, "holidays[0]"),
    ({"week": {}}, "time_zone"),
])
def test_bad_schedules_are_422_naming_the_field(admin: Api, body: dict[str, Any], field: str) -> None:
    response = admin.request("PUT", ROUTE, body)
    assert response.status_code == 422, response.text
    assert response.json()["field"].startswith(field), response.json()


@pytest.mark.slow  # a real Echo client on presence-admins, and the status answer kept a few seconds
async def test_online_only_within_hours_and_with_an_agent_there(
    chat: ChatappProcess, chat_reverb: ReverbProcess, anon: Api, admin: Api, hours: Callable[..., Any],
) -> None:
    admin.ok("PUT", "/api/admin/me/availability", {"availability": "online"})  # with a panel open: there
    panel = await start_echo(chat, chat_reverb, admin.token or "")
    try:
        panel.send(cmd="listen", kind="presence", name="admins", events=[])
        await panel.wait_for(lambda e: e["type"] == "here" and e["name"] == "admins")
        hours("Europe/Kyiv")  # open all week; a change is decided afresh
        online = wait_until(lambda: (d := anon.ok("GET", "/api/chat/status"))["status"] == "online" and d,
                            timeout=15, what="status online")
        assert online["text"] == "Online — we usually reply in a few minutes" and online["offer"] is None
        assert "Alice" not in str(online)
        week, holidays, _ = closed_today_open_tomorrow("Europe/Kyiv")
        closed = hours("Europe/Kyiv", week, holidays)["status"]  # a change is seen at once
        assert closed["status"] == "away" and closed["text"].startswith("Away — back tomorrow at 9:00\u202fAM, Kyiv")
    finally:
        await panel.close()


def test_the_offline_form_becomes_a_chat_marked_left_offline(new_guest: Callable[..., Api], admin: Api) -> None:
    visitor = new_guest("Guest")
    doc = visitor.ok("POST", "/api/chat/offline",
                     {"name": " Camille Martin ", "email": "Camille@Example.com", "message": "Rappelez-moi ?"},
                     status=201)
    room = doc["room"]
    assert room["left_offline"] is True and doc["message"]["body"] == "Rappelez-moi ?"
    seen = admin.ok("GET", f"/api/admin/chat/rooms/{room['id']}")["room"]
    assert seen["left_offline"] is True
    assert seen["user"]["name"] == "Camille Martin" and seen["user"]["email"] == "camille@example.com"
    assert seen["user"]["email_verified"] is False
    assert room["id"] in [r["id"] for r in admin.ok("GET", "/api/admin/chat/rooms", params={"q": "Rappelez"})["data"]]
    # an ordinary message afterwards goes to the same chat, still marked
    again = visitor.send("Encore moi")
    assert again["room"]["id"] == room["id"] and again["room"]["left_offline"] is True
    assert visitor.ok("GET", "/api/auth/me")["user"]["email"] == "camille@example.com"


def test_the_offline_form_names_every_bad_field(new_guest: Callable[..., Api], anon: Api) -> None:
    visitor = new_guest()
    bad = visitor.post("/api/chat/offline", {"name": "  ", "email": "not-an-address", "message": "Hello"})
    assert bad.status_code == 422
    assert bad.json()["error"] == "invalid_input" and bad.json()["fields"] == ["name", "email"]
    empty = visitor.post("/api/chat/offline", {"name": "Ana", "email": "ana@example.com", "message": " "})
    assert empty.status_code == 422 and empty.json()["fields"] == ["message"]
    missing = visitor.post("/api/chat/offline", {"name": "Ana"})
    assert missing.status_code == 422 and missing.json()["field"] in ("email", "message")
    assert anon.post("/api/chat/offline", {"name": "Ana", "email": "a@b.example", "message": "x"}).status_code == 401
    assert visitor.ok("GET", "/api/chat/room")["room"] is None  # nothing was stored


def test_the_offline_form_is_rate_limited_as_messages_are(new_guest: Callable[..., Api]) -> None:
    visitor = new_guest()
    form = {"name": "Ana", "email": "ana@example.com", "message": "Still there?"}
    codes = [visitor.post("/api/chat/offline", form).status_code for _ in range(22)]
    assert 429 in codes and codes.count(201) <= 20, codes  # CHATAPP_RATE_MESSAGES: 20 per 10 s
    assert set(codes[:codes.index(429)]) == {201}
