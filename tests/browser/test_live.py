"""User and admin in two browser contexts: delivery, typing, unread badges and "seen", live."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, Stack, screenshot, send, visitor_page, wait_until

pytestmark = pytest.mark.browser

LIVE_MS = 1000  # the brief: a message shows on the other side "instantly"


def test_messages_typing_unread_and_seen_flow_live_between_user_and_admin(pages: Pages, stack: Stack) -> None:
    """The brief's test 3."""
    _, user = stack.new_user("Iryna Live")
    visitor = visitor_page(pages, user)
    launcher = visitor.locator("chatapp-widget .launcher")
    launcher.click()
    send(visitor, "Hi, is anyone there?")
    room_id = wait_until(lambda: (user.ok("GET", "/api/chat/room")["room"] or {}).get("id"), what="room")

    admin = pages.admin(f"/admin/chat/{room_id}")
    expect(admin.locator("#room .msg.theirs .body")).to_have_text("Hi, is anyone there?")
    expect(admin.locator(".connection")).to_have_text("Live")

    # Admin -> visitor, within a second.
    started = send(admin, "Hello Iryna, how can I help?")
    expect(visitor.locator("chatapp-widget .msg.theirs .body")).to_have_text("Hello Iryna, how can I help?", timeout=LIVE_MS)
    to_visitor = time.monotonic() - started
    # Visitor -> admin, within a second.
    started = send(visitor, "My discount code does not work")
    expect(admin.locator("#room .msg.theirs .body").last).to_have_text("My discount code does not work", timeout=LIVE_MS)
    to_admin = time.monotonic() - started
    assert to_visitor < 1 and to_admin < 1
    print(f"admin -> visitor {to_visitor * 1000:.0f} ms, visitor -> admin {to_admin * 1000:.0f} ms (Enter to shown)")

    # Typing, both ways; a sent message ends it.
    visitor.get_by_role("textbox", name="Message").press_sequentially("Which co")
    expect(admin.locator("#room .typing")).to_have_text("Iryna Live is typing…")
    admin.get_by_role("textbox", name="Message").press_sequentially("Let me ch")
    expect(visitor.locator("chatapp-widget .typing")).to_have_text("Alice Agent is typing…")
    send(admin, "Let me check the code for you")
    expect(visitor.locator("chatapp-widget .typing")).to_have_text("")
    visitor.get_by_role("textbox", name="Message").fill("")
    visitor.get_by_role("textbox", name="Message").press("Backspace")
    expect(admin.locator("#room .typing")).to_have_text("")

    # The visitor's badge counts up while the panel is closed, and clears when it opens.
    visitor.keyboard.press("Escape")
    expect(visitor.locator("chatapp-widget .panel")).to_be_hidden()
    expect(launcher).to_be_focused()
    badge = visitor.locator("chatapp-widget .badge")
    expect(badge).to_be_hidden()
    send(admin, "Found it: the code expired yesterday.")
    expect(badge).to_have_text("1")
    send(admin, "I have made you a new one: SPRING25")
    expect(badge).to_have_text("2")
    expect(launcher).to_have_accessible_name("Open support chat, 2 unread messages")
    assert user.ok("GET", "/api/chat/unread")["unread_count"] == 2
    expect(admin.locator("#room .msg.ours .status").last).to_have_text(" · Sent")
    screenshot(visitor, "widget-unread-badge")
    launcher.click()
    expect(badge).to_be_hidden()
    expect(admin.locator("#room .msg.ours .status").last).to_have_text(" · Seen")
    assert user.ok("GET", "/api/chat/unread")["unread_count"] == 0

    # The admin's badges count up while the chat is not open, and clear when it is.
    admin.click("a.brand")
    admin.wait_for_selector("#inbox[data-ready='true']")
    row = admin.locator(f".room-item[data-id='{room_id}']")
    expect(row.locator(".unread-badge")).to_be_hidden()
    send(visitor, "Thanks! Trying it now")
    expect(row.locator(".unread-badge")).to_have_text("1")
    send(visitor, "It works!")
    expect(row.locator(".unread-badge")).to_have_text("2")
    expect(admin.locator("#stat-unread")).to_have_text("2")
    expect(admin.locator(".toast").last).to_contain_text("It works!")
    expect(visitor.locator("chatapp-widget .msg.ours .status").last).to_have_text(" · Sent")
    screenshot(admin, "admin-inbox")
    row.locator("a").click()
    expect(row.locator(".unread-badge")).to_be_hidden()
    expect(admin.locator("#stat-unread")).to_have_text("0")
    expect(visitor.locator("chatapp-widget .msg.ours .status").last).to_have_text(" · Seen")

    # Every message once, in order, on both sides.
    bodies = [m["body"] for m in user.ok("GET", f"/api/chat/rooms/{room_id}/messages")["data"]]
    assert visitor.locator("chatapp-widget .msg .body").all_text_contents() == bodies
    assert admin.locator("#room .msg .body").all_text_contents() == bodies
