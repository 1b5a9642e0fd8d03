"""A visitor's earlier conversations (the widget's "Previous conversations"): their own rooms only,
newest first in keyset pages, their messages without support's private notes; a site's signed-in
user sees theirs from any device, a guest only those of their own browser's session."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from chatapp.identity import sign_identity_token
from tests.chatapp.procs import IDENTITY_SECRET, Api, ChatappProcess


def finished_chat(visitor: Api, admin: Api, text: str) -> int:
    """A conversation the visitor started and support answered and closed; its room id."""
    room_id = int(visitor.send(text)["room"]["id"])
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": f"Answer to: {text}"})
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/close")
    return room_id


def ids(page: dict[str, Any]) -> list[int]:
    return [room["id"] for room in page["data"]]


def test_a_visitor_pages_through_their_own_conversations_newest_first(
    chat: ChatappProcess, admin: Api, new_guest: Callable[..., Api]
) -> None:
    visitor, stranger = new_guest("Hanna History"), new_guest("Someone Else")
    assert visitor.ok("GET", "/api/chat/room") == {"room": None, "rooms": 0}
    rooms = [finished_chat(visitor, admin, f"Question {n}") for n in range(3)]
    current = int(visitor.send("And one more thing")["room"]["id"])
    strangers = finished_chat(stranger, admin, "Not yours")
    assert visitor.ok("GET", "/api/chat/room")["rooms"] == 4
    assert stranger.ok("GET", "/api/chat/room") == {"room": None, "rooms": 1}

    first = visitor.ok("GET", "/api/chat/rooms", params={"per_page": 2, "before": 2**62})
    assert ids(first) == [current, rooms[2]]
    assert first["meta"] == {"per_page": 2, "total": 4, "next_before": rooms[2]}
    second = visitor.ok("GET", "/api/chat/rooms", params={"per_page": 2, "before": first["meta"]["next_before"]})
    assert ids(second) == [rooms[1], rooms[0]] and second["meta"]["next_before"] is None
    # A chat started meanwhile does not shift the pages already read (it is newer than every cursor).
    assert ids(visitor.ok("GET", "/api/chat/rooms", params={"per_page": 2, "before": rooms[2]})) == rooms[1::-1]

    # Each row says what the list shows: when, the last message, the state.
    old = second["data"][0]
    assert old["status"] == "closed" and old["created_at"] and old["last_message_preview"]
    # The page-numbered form still answers, with the cursor too.
    numbered = visitor.ok("GET", "/api/chat/rooms", params={"per_page": 3, "page": 1})
    assert ids(numbered) == [current, *rooms[:0:-1]] and numbered["meta"]["next_before"] == rooms[1]
    assert numbered["meta"]["pages"] == 2
    assert strangers not in ids(visitor.ok("GET", "/api/chat/rooms", params={"per_page": 100}))

    for params, field in (({"before": 0}, "before"), ({"before": "x"}, "before"),
                          ({"before": 5, "page": 1}, "before"), ({"per_page": 101}, "per_page")):
        refused = visitor.get("/api/chat/rooms", params=params)
        assert refused.status_code == 422 and refused.json()["field"] == field, (params, refused.text)


def test_an_old_conversation_reads_without_private_notes_and_only_by_its_visitor(
    chat: ChatappProcess, admin: Api, new_guest: Callable[..., Api]
) -> None:
    visitor, stranger = new_guest("Nora Notes"), new_guest("Curious")
    room_id = int(visitor.send("Where is my order?")["room"]["id"])
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "On its way"})
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/notes", {"body": "Customer is a reseller, careful"})
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/close")
    visitor.send("A new question")

    listed = visitor.ok("GET", "/api/chat/rooms")["data"]
    old = next(room for room in listed if room["id"] == room_id)
    assert "reseller" not in str(old), "a note never becomes the preview"
    history = visitor.ok("GET", f"/api/chat/rooms/{room_id}/messages", params={"limit": 50})
    bodies = [m["body"] for m in history["data"]]
    assert bodies[:2] == ["Where is my order?", "On its way"] and not any("reseller" in b for b in bodies)
    assert {m["kind"] for m in history["data"]} == {"message"}
    assert "reseller" in str(admin.ok("GET", f"/api/admin/chat/rooms/{room_id}/messages")), "support still has it"

    for path in (f"/api/chat/rooms/{room_id}/messages", f"/api/chat/rooms/{room_id}"):
        other = stranger.get(path)
        assert other.status_code == 404 and other.json()["error"] == "room_not_found", other.text
    assert admin.get(f"/api/chat/rooms/{room_id}/messages").status_code == 403, "support reads through its own routes"


def test_a_site_user_sees_their_conversations_on_every_device_a_guest_only_in_their_browser(
    chat: ChatappProcess, admin: Api, anon: Api, new_guest: Callable[..., Api]
) -> None:
    sub = f"history-{chat.port}-{secrets.token_hex(4)}"

    def device() -> Api:
        token = sign_identity_token(IDENTITY_SECRET, {"sub": sub, "name": "Ida Devices", "exp": int(time.time()) + 600})
        doc = anon.ok("POST", "/api/auth/identity", {"identity": token})
        return Api(chat.base_url, doc["token"], doc["user"])

    laptop = device()
    earlier = finished_chat(laptop, admin, "Asked on the laptop")
    phone = device()
    assert phone.token != laptop.token
    assert ids(phone.ok("GET", "/api/chat/rooms")) == [earlier]
    assert phone.ok("GET", f"/api/chat/rooms/{earlier}/messages")["data"][0]["body"] == "Asked on the laptop"

    # A guest is a browser's session: another browser's guest has nothing of it.
    guest = new_guest("Gus Guest")
    finished_chat(guest, admin, "Asked as a guest")
    assert ids(new_guest("Gus on another browser").ok("GET", "/api/chat/rooms")) == []
    assert len(ids(guest.ok("GET", "/api/chat/rooms"))) == 1
