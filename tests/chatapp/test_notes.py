"""Private notes: support-only messages in a conversation, with @mentions.

A note must never reach the visitor by any route: not their history or catch-up, not their
channel ``private-chat.{room}`` or ``private-user.{id}``, not their unread count, the room's
preview, a read receipt or a Web Push. Support sees it in the admin history and live on the
admin feed; a mentioned agent is notified.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.chatapp.procs import Api, ChatappProcess, PushReceiver, admin_api, decrypt_push, wait_until
from tests.chatapp.subscriber import Subscriber
from tests.chatapp.test_canned_replies import error_of
from tests.helpers.procs import ReverbProcess

ADMIN_FEED = "private-admin.chat"


def notes_of(room_id: int) -> str:
    return f"/api/admin/chat/rooms/{room_id}/notes"


@pytest.fixture
def agents(chat: ChatappProcess) -> Iterator[tuple[Api, Api]]:
    """Agent A (writes notes) and agent B (is mentioned): their own accounts, so pushes and rates are theirs."""
    a = admin_api(chat, "agent-a-password", name="Anna Agent")
    b = admin_api(chat, "agent-b-password", name="Boris Agent")
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def visitor_sees(visitor: Api, room_id: int) -> list[dict[str, object]]:
    """Every message the visitor's routes give out for the room: the newest page and a catch-up from 0."""
    page = visitor.ok("GET", f"/api/chat/rooms/{room_id}/messages", params={"limit": 100})["data"]
    caught = visitor.ok("GET", f"/api/chat/rooms/{room_id}/messages", params={"after": 0, "limit": 100})["data"]
    assert [m["id"] for m in page] == [m["id"] for m in caught]
    return page  # type: ignore[no-any-return]


async def test_a_note_reaches_support_and_never_the_visitor(
    chat: ChatappProcess,
    chat_reverb: ReverbProcess,
    agents: tuple[Api, Api],
    new_guest: Callable[..., Api],
    push_receiver: PushReceiver,
) -> None:
    anna, boris = agents
    visitor = new_guest("Vika Visitor")
    room_id = visitor.send("My order is late")["room"]["id"]
    anna.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Looking into it"})
    visitor.ok("POST", f"/api/chat/rooms/{room_id}/read")
    visitor_push = push_receiver.new_subscription()
    visitor.ok("POST", "/api/push/subscriptions", visitor_push.to_json(), status=201)
    before = anna.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]
    assert before["status"] == "assigned" and before["user_unread_count"] == 0

    channels = [f"private-chat.{room_id}", f"private-user.{visitor.id}", ADMIN_FEED]
    sub = await Subscriber.start(chat_reverb.port, channels)
    try:
        made = anna.request("POST", notes_of(room_id), json={"body": "@Boris Agent refund approved?",
                                                             "mentions": [boris.id]})
        assert made.status_code == 201, made.text
        note = made.json()["message"]
        assert note["kind"] == "note" and note["mentions"] == [boris.id] and note["user_id"] == anna.id
        assert note["sender_role"] == "admin" and note["body"] == "@Boris Agent refund approved?"

        # Live to support on the admin feed, as a chat.message whose message is the note.
        await sub.until(lambda: any(e["message"]["id"] == note["id"] for e in sub.received(ADMIN_FEED, "chat.message")),
                        10, "the note on the admin feed")
        feed = next(e for e in sub.received(ADMIN_FEED, "chat.message") if e["message"]["id"] == note["id"])
        assert feed["message"]["kind"] == "note" and feed["room"]["id"] == room_id

        # A reply right after does reach the visitor: by then the note would have, too.
        reply = anna.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Refund on its way"})["message"]
        await sub.until(lambda: any(e["id"] == reply["id"]
                                    for e in sub.received(f"private-chat.{room_id}", "message.sent")),
                        10, "the reply on the visitor's channel")
        await sub.until(lambda: any(e["unread_count"] == 1
                                    for e in sub.received(f"private-user.{visitor.id}", "unread.updated")),
                        10, "the visitor's unread count after the reply")
        on_visitor_channels = [e for c in channels[:2] for e in sub.client.events
                               if e["type"] == "event" and e["channel"] == c]
        assert on_visitor_channels, "the subscriber did hear the visitor's channels"
        assert "refund approved" not in repr(on_visitor_channels), "the note's text never reaches the visitor"
        assert all(e["data"].get("kind") != "note" for e in on_visitor_channels)
        sent = sub.received(f"private-chat.{room_id}", "message.sent")
        assert [e["id"] for e in sent] == [reply["id"]]
        assert sent[0]["previous_id"] != note["id"], "the visitor is never pointed at a message they cannot fetch"
        assert sent[0]["previous_id"] < note["id"]
        unread = sub.received(f"private-user.{visitor.id}", "unread.updated")
        assert [e["unread_count"] for e in unread] == [1], "the note counted nothing for the visitor"
    finally:
        await sub.close()

    # The visitor's routes: history, catch-up, the room, unread, the room list's preview.
    seen = visitor_sees(visitor, room_id)
    assert note["id"] not in [m["id"] for m in seen] and reply["id"] in [m["id"] for m in seen]
    assert all(m["kind"] == "message" for m in seen)
    assert visitor.ok("GET", f"/api/chat/rooms/{room_id}/messages", params={"after": reply["id"] - 1})["data"][0][
        "id"] == reply["id"]
    room = visitor.ok("GET", f"/api/chat/rooms/{room_id}")["room"]
    assert room["last_message_preview"] == "Refund on its way" and room["unread_count"] == 1
    assert visitor.ok("GET", "/api/chat/unread")["unread_count"] == 1
    assert "refund approved" not in repr(visitor.ok("GET", "/api/chat/rooms")["data"])
    assert "refund approved" not in repr(visitor.ok("GET", "/api/chat/room"))
    receipt = visitor.ok("POST", f"/api/chat/rooms/{room_id}/read")
    assert receipt["ids"] == [reply["id"]], "a read receipt never names the note"

    # Web Push to the visitor (widget closed now): a reply, never a note.
    sdk = chat_reverb.pusher_client()
    wait_until(lambda: not sdk.channel_info(f"private-user.{visitor.id}")["occupied"], what="widget gone")
    anna.ok("POST", notes_of(room_id), {"body": "second note, not for pushing"}, status=201)
    anna.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Second reply"})
    pushed = [decrypt_push(visitor_push, r) for r in push_receiver.wait_for(visitor_push)]
    assert [p["body"] for p in pushed] == ["Second reply"]
    assert visitor.ok("GET", "/api/chat/unread")["unread_count"] == 1

    # Support's history holds the note in its place, marked; other agents see it too.
    history = boris.ok("GET", f"/api/admin/chat/rooms/{room_id}/messages", params={"limit": 100})["data"]
    ids = [m["id"] for m in history]
    assert ids.index(note["id"]) < ids.index(reply["id"]) and len(ids) == len(seen) + 3
    stored = history[ids.index(note["id"])]
    assert stored["kind"] == "note" and stored["mentions"] == [boris.id] and stored["read_at"] is None
    caught = boris.ok("GET", f"/api/admin/chat/rooms/{room_id}/messages", params={"after": note["id"] - 1})["data"]
    assert caught[0]["id"] == note["id"]
    detail = boris.ok("GET", f"/api/admin/chat/rooms/{room_id}")
    assert note["id"] in [m["id"] for m in detail["messages"]["data"]]


def test_a_note_changes_nothing_about_the_room(agents: tuple[Api, Api], new_guest: Callable[..., Api]) -> None:
    anna, _ = agents
    visitor = new_guest("Quiet Quentin")
    room_id = visitor.send("hello?")["room"]["id"]
    before = anna.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]
    note = anna.ok("POST", notes_of(room_id), {"body": "Probably the one who called yesterday"}, status=201)
    after = anna.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]
    assert note["created"] is True and note["message"]["mentions"] == []
    assert after["status"] == "open" and after["assigned_admin"] is None, "a note does not assign"
    for key in ("status", "last_message_preview", "last_message_at", "user_unread_count", "unread_count"):
        assert after[key] == before[key], key
    assert visitor.ok("GET", "/api/chat/unread")["unread_count"] == 0
    # Notes are allowed once the chat is resolved or closed (hand-over notes), and change nothing then either.
    anna.ok("POST", f"/api/admin/chat/rooms/{room_id}/close")
    anna.ok("POST", notes_of(room_id), {"body": "Closed: he found the parcel"}, status=201)
    closed = anna.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]
    assert closed["status"] == "closed" and closed["last_message_system"]["code"] == "chat.closed"
    seen_by_visitor = visitor.ok("GET", f"/api/chat/rooms/{room_id}")["room"]
    assert seen_by_visitor["last_message_system"]["code"] == "chat.closed", "the preview passes over the note"
    assert all(m["kind"] == "message" for m in visitor_sees(visitor, room_id))


def test_idempotent_notes(agents: tuple[Api, Api], new_guest: Callable[..., Api]) -> None:
    anna, _ = agents
    room_id = new_guest().send("hi")["room"]["id"]
    body = {"body": "once only", "idempotency_key": "note-key-1"}
    first = anna.ok("POST", notes_of(room_id), body, status=201)
    again = anna.ok("POST", notes_of(room_id), body, status=200)
    assert again["created"] is False and again["message"]["id"] == first["message"]["id"]
    error_of(anna.post(notes_of(room_id), {"body": "another text", "idempotency_key": "note-key-1"}), 409,
             "idempotency_key_reused")
    error_of(anna.post(f"/api/admin/chat/rooms/{room_id}/messages", {"body": "once only",
                                                                    "idempotency_key": "note-key-1"}),
             409, "idempotency_key_reused")


def test_bad_notes_get_clear_errors(
    chat: ChatappProcess, agents: tuple[Api, Api], new_guest: Callable[..., Api]
) -> None:
    anna, _ = agents
    visitor = new_guest()
    room_id = visitor.send("hi")["room"]["id"]
    limit = chat.ok_json("/api/config")["limits"]["max_message_length"]
    error_of(anna.post(notes_of(room_id), {"body": "   "}), 422, "message_empty")
    error_of(anna.post(notes_of(room_id), {}), 422, "message_empty")
    too_long = anna.post(notes_of(room_id), {"body": "x" * (limit + 1)})
    assert too_long.status_code == 422 and too_long.json()["field"] == "body"
    for mentions in ("2", [True], [0], ["x"], [1.5], list(range(1, 30))):
        bad = error_of(anna.post(notes_of(room_id), {"body": "hi", "mentions": mentions}), 422, "invalid_input")
        assert bad["field"] == "mentions", mentions
    not_agent = error_of(anna.post(notes_of(room_id), {"body": "hi", "mentions": [visitor.id]}), 422, "not_an_admin")
    assert not_agent["ids"] == [visitor.id]
    error_of(anna.post(notes_of(2**62), {"body": "hi"}), 404, "room_not_found")
    error_of(visitor.post(notes_of(room_id), {"body": "hi"}), 403, "admin_only")
    assert all(m["kind"] == "message" for m in visitor_sees(visitor, room_id))


def test_a_mentioned_offline_agent_gets_a_push(
    agents: tuple[Api, Api], new_guest: Callable[..., Api], push_receiver: PushReceiver
) -> None:
    anna, boris = agents
    room_id = new_guest("Petro").send("where is my refund")["room"]["id"]
    anna.ok("POST", f"/api/admin/chat/rooms/{room_id}/assign", {})
    anna_push, boris_push = push_receiver.new_subscription(), push_receiver.new_subscription()
    anna.ok("POST", "/api/push/subscriptions", anna_push.to_json(), status=201)
    boris.ok("POST", "/api/push/subscriptions", boris_push.to_json(), status=201)
    note = anna.ok("POST", notes_of(room_id), {"body": "@Boris Agent can you check the bank?",
                                               "mentions": [boris.id, anna.id, boris.id]}, status=201)["message"]
    assert note["mentions"] == [boris.id, anna.id], "mentions are stored once each, in order"

    def mention_pushes() -> list[dict[str, object]]:
        payloads = [decrypt_push(boris_push, r) for r in push_receiver.received_by(boris_push)]
        return [p for p in payloads if p.get("tag") == f"note-{note['id']}"]

    pushed = wait_until(mention_pushes, what="the mention's push")[0]
    assert pushed["title"] == "Anna Agent mentioned you in a note"
    assert pushed["body"] == "@Boris Agent can you check the bank?"
    assert pushed["url"] == f"/admin/chat/{room_id}" and pushed["room_id"] == room_id
    anna.ok("POST", notes_of(room_id), {"body": "no mention"}, status=201)
    assert not [r for r in push_receiver.received_by(anna_push)
                if decrypt_push(anna_push, r).get("tag", "").startswith("note-")], "nobody is told of their own note"
