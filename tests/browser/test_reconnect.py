"""pyreverb restarts in the middle of a conversation: nothing is lost on either side."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, Stack, screenshot, send, visitor_page
from tests.browser.test_live import LIVE_MS

pytestmark = pytest.mark.browser


def test_pyreverb_restart_mid_conversation_loses_no_message(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Roman Restart")
    visitor = visitor_page(pages, user)
    visitor.locator("chatapp-widget .launcher").click()
    send(visitor, "Before the outage")
    expect(visitor.locator("chatapp-widget .msg.ours .status")).to_have_text(" · Sent")
    room_id = user.ok("GET", "/api/chat/room")["room"]["id"]
    admin = pages.admin(f"/admin/chat/{room_id}")
    expect(admin.locator(".connection")).to_have_text("Live")
    send(admin, "Hi Roman, go ahead")
    expect(visitor.locator("chatapp-widget .msg.theirs .body")).to_have_text("Hi Roman, go ahead", timeout=LIVE_MS)

    stack.stop_reverb()
    banner = visitor.locator("chatapp-widget .banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("messages are saved")
    expect(admin.locator(".connection")).not_to_have_text("Live")
    screenshot(visitor, "widget-reconnecting")

    # Both sides keep writing while the realtime server is down: the API stores every message.
    send(visitor, "Sent while it was down (1)")
    send(visitor, "Sent while it was down (2)")
    send(admin, "Support wrote while it was down")
    expect(visitor.locator("chatapp-widget .msg.ours .status").last).to_have_text(" · Sent")
    expect(admin.locator("#room .msg.ours .status").last).to_have_text(" · Sent")

    down_at = time.monotonic()
    stack.start_reverb_again()
    expect(banner).to_be_hidden(timeout=30_000)
    expect(admin.locator(".connection")).to_have_text("Live", timeout=30_000)
    reconnect_s = time.monotonic() - down_at
    expected = [
        "Before the outage",
        "Hi Roman, go ahead",
        "Sent while it was down (1)",
        "Sent while it was down (2)",
        "Support wrote while it was down",
    ]
    stored = [m["body"] for m in user.ok("GET", f"/api/chat/rooms/{room_id}/messages")["data"]]
    assert stored == expected
    expect(visitor.locator("chatapp-widget .msg .body")).to_have_text(expected)
    expect(admin.locator("#room .msg .body")).to_have_text(expected)

    # Live again, both ways.
    send(admin, "Back online")
    expect(visitor.locator("chatapp-widget .msg.theirs .body").last).to_have_text("Back online", timeout=LIVE_MS)
    send(visitor, "Great")
    expect(admin.locator("#room .msg.theirs .body").last).to_have_text("Great", timeout=LIVE_MS)
    print(f"reconnected and caught up {reconnect_s:.1f}s after pyreverb came back")
