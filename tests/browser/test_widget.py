"""The widget on the demo store page, as a visitor uses it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import USER_PASSWORD, Pages, Stack, screenshot, wait_until

pytestmark = pytest.mark.browser


def test_logged_in_user_clicks_chat_button_and_first_message_creates_room(pages: Pages, stack: Stack) -> None:
    """The brief's test 1."""
    email, user = stack.new_user("Olena Customer")
    page = pages.page("/")
    page.fill("#signin-email", email)
    page.fill("#signin-password", USER_PASSWORD)
    page.click("#signin-button")
    expect(page.locator("#signed-in-name")).to_have_text("Olena Customer")

    launcher = page.locator("chatapp-widget .launcher")
    expect(launcher).to_have_accessible_name("Open support chat")
    launcher.click()
    panel = page.get_by_role("dialog", name="Northwind support")
    expect(panel).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    assert user.ok("GET", "/api/chat/room")["room"] is None

    box = panel.get_by_role("textbox", name="Message")
    expect(box).to_be_focused()
    box.fill("Hello, where is my order #1234?")
    box.press("Enter")
    expect(box).to_have_value("")
    mine = panel.locator(".msg.ours")
    expect(mine).to_have_count(1)
    expect(mine.locator(".body")).to_have_text("Hello, where is my order #1234?")
    expect(mine.locator(".status")).to_have_text(" · Sent")

    room = wait_until(lambda: user.ok("GET", "/api/chat/room")["room"], what="room created")
    assert room["status"] == "open"
    history = user.ok("GET", f"/api/chat/rooms/{room['id']}/messages")["data"]
    assert [(m["body"], m["sender_role"], m["user_id"]) for m in history] == [
        ("Hello, where is my order #1234?", "user", user.id)
    ]
    screenshot(page, "widget-open")
