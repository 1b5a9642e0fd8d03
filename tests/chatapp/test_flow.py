"""The brief's user and admin flows over the real HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from tests.chatapp.procs import Api


def test_first_message_creates_room_and_admin_replies(admin: Api, new_guest: Callable[..., Api]) -> None:
    """Brief tests 1 and 2: the visitor writes, a room appears, support sees and answers it."""
    visitor = new_guest("Olena")
    assert visitor.ok("GET", "/api/chat/room")["room"] is None

    sent = visitor.send("Hello, my order is late")
    room = sent["room"]
    assert sent["created"] is True
    assert room["status"] == "open" and room["channel"] == f"private-chat.{room['id']}"
    assert sent["message"]["sender_role"] == "user" and sent["message"]["user_id"] == visitor.id
    assert visitor.ok("GET", "/api/chat/room")["room"]["id"] == room["id"]

    listed = admin.ok("GET", "/api/admin/chat/rooms", params={"filter": "unassigned"})["data"]
    mine = next(r for r in listed if r["id"] == room["id"])
    assert mine["user"]["name"] == "Olena" and mine["unread_count"] == 1

    detail = admin.ok("GET", f"/api/admin/chat/rooms/{room['id']}")
    assert [m["body"] for m in detail["messages"]["data"]] == ["Hello, my order is late"]

    reply = admin.ok("POST", f"/api/admin/chat/rooms/{room['id']}/messages", {"body": "Let me check that for you"})
    assert reply["room"]["status"] == "assigned", "the first reply assigns the chat to the replier"
    assert reply["room"]["assigned_admin"]["id"] == admin.id

    assert visitor.ok("GET", "/api/chat/unread")["unread_count"] == 1
    history = visitor.ok("GET", f"/api/chat/rooms/{room['id']}/messages")["data"]
    assert [m["sender_role"] for m in history] == ["user", "admin"]

    receipt = visitor.ok("POST", f"/api/chat/rooms/{room['id']}/read")
    assert receipt["marked"] == 1 and receipt["up_to_id"] == reply["message"]["id"]
    assert visitor.ok("GET", "/api/chat/unread")["unread_count"] == 0
    read = visitor.ok("GET", f"/api/chat/rooms/{room['id']}/messages")["data"]
    assert read[1]["read_at"] is not None and read[0]["read_at"] is None

    admin_receipt = admin.ok("POST", f"/api/admin/chat/rooms/{room['id']}/read")
    assert admin_receipt["marked"] == 1
    assert admin.ok("GET", f"/api/admin/chat/rooms/{room['id']}")["room"]["unread_count"] == 0


def test_open_room_is_get_or_create(new_guest: Callable[..., Api]) -> None:
    visitor = new_guest()
    first = visitor.request("POST", "/api/chat/room", json={"subject": "Billing"})
    assert first.status_code == 201 and first.json()["room"]["subject"] == "Billing"
    again = visitor.request("POST", "/api/chat/room", json={})
    assert again.status_code == 200 and again.json()["room"]["id"] == first.json()["room"]["id"]
    sent = visitor.send("my invoice")
    assert sent["room"]["id"] == first.json()["room"]["id"], "messages go to the open room"


def test_history_pages_and_catch_up(new_guest: Callable[..., Api]) -> None:
    visitor = new_guest()
    ids = [visitor.send(f"m{i}")["message"]["id"] for i in range(7)]
    room_id = visitor.ok("GET", "/api/chat/room")["room"]["id"]
    path = f"/api/chat/rooms/{room_id}/messages"

    newest = visitor.ok("GET", path, params={"limit": 3})
    assert [m["id"] for m in newest["data"]] == ids[-3:] and newest["has_more"] is True
    older = visitor.ok("GET", path, params={"limit": 3, "before": newest["first_id"]})
    assert [m["id"] for m in older["data"]] == ids[1:4] and older["has_more"] is True
    oldest = visitor.ok("GET", path, params={"limit": 3, "before": older["first_id"]})
    assert [m["id"] for m in oldest["data"]] == ids[:1] and oldest["has_more"] is False

    after = visitor.ok("GET", path, params={"after": ids[2], "limit": 2})
    assert [m["id"] for m in after["data"]] == ids[3:5] and after["has_more"] is True
    rest = visitor.ok("GET", path, params={"after": after["last_id"]})
    assert [m["id"] for m in rest["data"]] == ids[5:] and rest["has_more"] is False


def test_lifecycle_resolve_reopen_close(admin: Api, new_guest: Callable[..., Api]) -> None:
    visitor = new_guest()
    room_id = visitor.send("help")["room"]["id"]
    base = f"/api/admin/chat/rooms/{room_id}"

    assert admin.ok("POST", f"{base}/assign", {})["room"]["status"] == "assigned"
    assert admin.ok("POST", f"{base}/priority", {"priority": "urgent"})["room"]["priority"] == "urgent"
    urgent = admin.ok("GET", "/api/admin/chat/rooms", params={"filter": "urgent", "per_page": 100})["data"]
    assert room_id in [r["id"] for r in urgent]
    assert room_id in [r["id"] for r in admin.ok("GET", "/api/admin/chat/rooms", params={"filter": "mine"})["data"]]

    resolved = admin.ok("POST", f"{base}/resolve")["room"]
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    # The visitor writing again reopens a resolved chat, still assigned.
    again = visitor.send("one more question")
    assert again["room"]["id"] == room_id and again["room"]["status"] == "assigned"

    assert admin.ok("POST", f"{base}/unassign")["room"]["status"] == "open"
    closed = admin.ok("POST", f"{base}/close")["room"]
    assert closed["status"] == "closed" and closed["closed_at"]
    reopened = admin.ok("POST", f"{base}/reopen")["room"]
    assert reopened["status"] == "open" and reopened["closed_at"] is None

    bodies = [m for m in admin.ok("GET", f"{base}/messages")["data"] if m["sender_role"] == "system"]
    assert [m["body"] for m in bodies] == [
        "Alice Admin joined the chat",
        "Alice Admin resolved the chat",
        "Unassigned",
        "Alice Admin closed the chat",
        "Alice Admin reopened the chat",
    ]

    # The visitor closes it; the next message starts a new conversation.
    assert visitor.ok("POST", f"/api/chat/rooms/{room_id}/close")["room"]["status"] == "closed"
    fresh = visitor.send("new topic")
    assert fresh["room"]["id"] != room_id
    mine = visitor.ok("GET", "/api/chat/rooms")
    assert [r["id"] for r in mine["data"]] == [fresh["room"]["id"], room_id] and mine["meta"]["total"] == 2


def test_stats_and_filters(admin: Api, new_guest: Callable[..., Api]) -> None:
    before = admin.ok("GET", "/api/admin/chat/stats")["stats"]
    a, b = new_guest("Stat A"), new_guest("Stat B")
    room_a = a.send("first")["room"]["id"]
    a.send("second")
    room_b = b.send("other")["room"]["id"]
    admin.ok("POST", f"/api/admin/chat/rooms/{room_b}/priority", {"priority": "urgent"})
    admin.ok("POST", f"/api/admin/chat/rooms/{room_b}/assign", {})

    after = admin.ok("GET", "/api/admin/chat/stats")["stats"]
    assert after["open"] - before["open"] == 2
    assert after["assigned"] - before["assigned"] == 1
    assert after["unassigned"] - before["unassigned"] == 1
    assert after["urgent"] - before["urgent"] == 1
    assert after["unread_messages"] - before["unread_messages"] == 3
    assert after["mine"] - before["mine"] == 1

    unread = [r["id"] for r in admin.ok("GET", "/api/admin/chat/rooms", params={"filter": "unread", "per_page": 100})["data"]]
    assert room_a in unread and room_b in unread
    ordered = admin.ok("GET", "/api/admin/chat/rooms", params={"filter": "open", "per_page": 100})["data"]
    assert ordered[0]["priority"] == "urgent", "urgent chats come first"


def test_search_and_pagination(admin: Api, new_guest: Callable[..., Api]) -> None:
    needle = "zanzibar-parcel-42"
    visitor = new_guest("Searchable Sam")
    room_id = visitor.send(f"Where is my {needle}?")["room"]["id"]
    for q in (needle, needle.upper(), "Searchable sam", str(room_id)):
        found = admin.ok("GET", "/api/admin/chat/rooms", params={"q": q})["data"]
        assert room_id in [r["id"] for r in found], q
    assert admin.ok("GET", "/api/admin/chat/rooms", params={"q": "100%_no-such"})["data"] == []

    page1 = admin.ok("GET", "/api/admin/chat/rooms", params={"per_page": 2, "page": 1})
    page2 = admin.ok("GET", "/api/admin/chat/rooms", params={"per_page": 2, "page": 2})
    assert page1["meta"]["total"] >= 3 and len(page1["data"]) == 2
    assert not {r["id"] for r in page1["data"]} & {r["id"] for r in page2["data"]}


def test_assign_to_another_admin(chat, admin: Api, new_guest: Callable[..., Api]) -> None:  # type: ignore[no-untyped-def]
    email = f"bob-{admin.id}@support.test"
    chat.cli("create-admin", "--email", email, "--name", "Bob Admin", "--password", "bob-password")
    listed = admin.ok("GET", "/api/admin/admins")["data"]
    bob = next(a for a in listed if a["name"] == "Bob Admin")
    room_id = new_guest().send("hi")["room"]["id"]
    room = admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/assign", {"admin_id": bob["id"]})["room"]
    assert room["assigned_admin"] == {"id": bob["id"], "name": "Bob Admin"}
    visitor = new_guest()
    not_admin = admin.request("POST", f"/api/admin/chat/rooms/{room_id}/assign", json={"admin_id": visitor.id})
    assert not_admin.status_code == 422 and not_admin.json()["error"] == "not_an_admin"


def test_openapi_lists_every_route(anon: Api) -> None:
    doc = anon.ok("GET", "/api/openapi.json")
    assert doc["openapi"].startswith("3.")
    for path in ("/api/chat/messages", "/api/chat/upload", "/api/admin/chat/rooms/{room_id}/assign",
                 "/broadcasting/auth", "/api/admin/chat/stats"):
        assert path in doc["paths"], path
