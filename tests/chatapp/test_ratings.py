"""Satisfaction ratings (CSAT): the visitor rates their resolved chat once; agents see it, reports count it."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.chatapp.procs import Api, ChatappProcess, guest_api


def test_a_visitor_rates_their_resolved_chat_once(chat: ChatappProcess, admin: Api) -> None:
    visitor = guest_api(chat, "Rosa Rating")
    room_id = visitor.send("My parcel is stuck")["room"]["id"]
    route = f"/api/chat/rooms/{room_id}/rating"
    early = visitor.request("POST", route, json={"score": 5})
    assert early.status_code == 409 and early.json()["error"] == "invalid_state", early.text
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Released it"})
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/resolve")

    for body, field in (({"score": 0}, "score"), ({"score": 6}, "score"), ({"score": "5"}, "score"), ({}, "score"),
                        ({"score": 4, "comment": "x" * 1001}, "comment")):
        refused = visitor.request("POST", route, json=body)
        assert refused.status_code == 422 and refused.json()["field"] == field, (body, refused.text)
    assert guest_api(chat, "Someone else").request("POST", route, json={"score": 1}).status_code == 404
    assert admin.request("POST", route, json={"score": 5}).status_code == 403, "agents do not rate their own work"

    today = datetime.now(UTC).date().isoformat()
    before = admin.ok("GET", "/api/admin/reports", params={"from": today, "to": today})["report"]["overall"]["csat"]
    rated = visitor.ok("POST", route, {"score": 4, "comment": "  Quick, thanks!  "})["room"]
    assert rated["rating"]["score"] == 4 and rated["rating"]["comment"] == "Quick, thanks!"
    again = visitor.request("POST", route, json={"score": 1})
    assert again.status_code == 409 and again.json()["error"] == "already_rated"

    # The agents see it on the chat; the visitor's own view keeps it (a reload does not ask again).
    seen = admin.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]["rating"]
    assert seen["score"] == 4 and seen["rated_at"]
    assert visitor.ok("GET", "/api/chat/room")["room"]["rating"]["score"] == 4
    after = admin.ok("GET", "/api/admin/reports", params={"from": today, "to": today})["report"]["overall"]["csat"]
    assert after["rated"] == before["rated"] + 1 and after["asked"] == before["asked"]
    assert after["average"] is not None and 1 <= after["average"] <= 5
