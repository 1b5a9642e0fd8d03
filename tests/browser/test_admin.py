"""The admin panel: sign-in, the inbox, one conversation and its actions."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_PASSWORD, USER_PASSWORD, Pages, Stack, screenshot, wait_until

pytestmark = pytest.mark.browser


def test_admin_signs_in_sees_the_chat_opens_it_and_replies(pages: Pages, stack: Stack) -> None:
    """The brief's test 2, through the real login form."""
    customer_email, user = stack.new_user("Marta Buyer")
    room_id = user.send("My parcel arrived damaged")["room"]["id"]

    page = pages.page("/admin/chat")
    page.wait_for_url("**/admin/login?**")
    page.fill("#login-email", customer_email)
    page.fill("#login-password", USER_PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text("That account is not a support admin.")
    page.fill("#login-email", stack.admin_email)
    page.fill("#login-password", "wrong-password")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text("E-mail or password is wrong")
    screenshot(page, "admin-login")
    page.fill("#login-password", ADMIN_PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{stack.url}/admin/chat")

    row = page.locator(f".room-item[data-id='{room_id}']")
    expect(row).to_contain_text("Marta Buyer")
    expect(row).to_contain_text("My parcel arrived damaged")
    expect(row.locator(".unread-badge")).to_have_text("1")
    row.locator("a").click()
    expect(page).to_have_url(f"{stack.url}/admin/chat/{room_id}")
    expect(page.locator("#room-title")).to_have_text("Marta Buyer")
    expect(page.locator("#room .msg.theirs .body")).to_have_text("My parcel arrived damaged")
    expect(row.locator(".unread-badge")).to_be_hidden()
    expect(page.locator(".details")).to_contain_text(customer_email)

    box = page.get_by_role("textbox", name="Message")
    box.fill("Sorry about that! A replacement ships today.")
    box.press("Enter")
    expect(page.locator("#room .msg.ours .body")).to_have_text("Sorry about that! A replacement ships today.")
    expect(page.locator("#room .msg.ours .status")).to_have_text(" · Sent")

    history = user.ok("GET", f"/api/chat/rooms/{room_id}/messages")["data"]
    assert [(m["sender_role"], m["body"]) for m in history] == [
        ("user", "My parcel arrived damaged"),
        ("admin", "Sorry about that! A replacement ships today."),
    ]
    room = stack.admin.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]
    assert room["status"] == "assigned" and room["assigned_admin"]["id"] == stack.admin.id
    assert user.ok("GET", "/api/chat/unread")["unread_count"] == 1
    expect(page.locator("#room .room-sub")).to_contain_text("assigned to you")
    screenshot(page, "admin-conversation")
