"""A chat support closed stays readable in the widget, and the visitor can start a new one."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import APIResponse, Route, expect

from tests.browser.conftest import Pages, Stack, send, visitor_page, wait_until

pytestmark = pytest.mark.browser


def test_a_closed_chat_stays_readable_after_reload_and_a_new_one_can_start(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Clara Closed")
    first_room = user.send("Can I return shoes?")["room"]["id"]
    stack.admin.post(f"/api/admin/chat/rooms/{first_room}/messages", {"body": "Yes, within 30 days."})
    page = visitor_page(pages, user)
    page.locator("chatapp-widget .launcher").click()
    bodies = page.locator("chatapp-widget .msg .body")
    expect(bodies).to_have_text(["Can I return shoes?", "Yes, within 30 days."])

    stack.admin.post(f"/api/admin/chat/rooms/{first_room}/close")
    note = page.locator("chatapp-widget .note")
    expect(note.locator(".note-text")).to_have_text("This conversation was closed.")

    page.reload()
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    expect(bodies).to_have_text(["Can I return shoes?", "Yes, within 30 days."])
    expect(page.locator("chatapp-widget .msg.system")).to_contain_text("Alice Agent closed the chat")
    expect(note.locator(".note-text")).to_have_text("This conversation was closed.")
    expect(page.get_by_role("button", name="End chat")).to_be_hidden()

    page.get_by_role("button", name="Start a new conversation").click()
    expect(page.locator("chatapp-widget .msg")).to_have_count(0)
    expect(note).to_be_hidden()
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    send(page, "A different question")
    expect(page.locator("chatapp-widget .msg.ours .status")).to_have_text(" · Sent")
    expect(bodies).to_have_text(["A different question"])

    second_room = user.ok("GET", "/api/chat/room")["room"]["id"]
    assert second_room != first_room
    assert [m["body"] for m in user.ok("GET", f"/api/chat/rooms/{second_room}/messages")["data"]] == [
        "A different question"]
    assert stack.admin.ok("GET", f"/api/admin/chat/rooms/{first_room}")["room"]["status"] == "closed"
    stack.admin.post(f"/api/admin/chat/rooms/{second_room}/messages", {"body": "Happy to help again"})
    expect(page.locator("chatapp-widget .msg.theirs .body")).to_have_text("Happy to help again")


def test_a_room_state_answered_before_the_close_does_not_reopen_the_chat(pages: Pages, stack: Stack) -> None:
    """The widget's resync asks for the room; support closes it meanwhile (a live event); the
    server's older answer ("open") then arrives. The widget keeps the newer state."""
    _, user = stack.new_user("Rita Race")
    room_id = user.send("Where is my parcel?")["room"]["id"]
    page = visitor_page(pages, user)
    page.locator("chatapp-widget .launcher").click()
    expect(page.locator("chatapp-widget .msg .body")).to_have_text(["Where is my parcel?"])
    stack.admin.post(f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Checking now."})
    expect(page.locator("chatapp-widget .msg .body")).to_have_text(["Where is my parcel?", "Checking now."])  # live
    page.wait_for_timeout(1000)  # the resync that follows the subscription is done

    held: list[tuple[Route, APIResponse]] = []
    room_state = re.compile(rf"/api/chat/rooms/{room_id}(\?|$)")

    def hold_first(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append((route, route.fetch()))  # the room as it is now: open

    page.route(room_state, hold_first)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # a resync
    wait_until(lambda: held or page.wait_for_timeout(50), what="the resync's request")
    assert held[0][1].json()["room"]["status"] != "closed"
    stack.admin.post(f"/api/admin/chat/rooms/{room_id}/close")
    note = page.locator("chatapp-widget .note .note-text")
    expect(note).to_have_text("This conversation was closed.")
    route, stale = held[0]
    route.fulfill(response=stale)
    page.wait_for_timeout(1000)
    expect(note).to_have_text("This conversation was closed.")
    expect(page.get_by_role("button", name="Start a new conversation")).to_be_visible()
    page.unroute(room_state)
