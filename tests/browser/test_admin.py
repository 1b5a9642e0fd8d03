"""The admin panel: sign-in, the inbox, one conversation and its actions."""

from __future__ import annotations

import re

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


def test_filters_and_stats_follow_assign_urgent_resolve_close_reopen(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Filip Filters")
    room_id = user.send("Where is the blue kettle? zebrafinch")["room"]["id"]
    page = pages.admin("/admin/chat")
    names = ("open", "assigned", "unassigned", "urgent", "unread", "mine")
    api_keys = {"unread": "unread_messages"}

    def shown() -> dict[str, int]:
        return {n: int(page.locator(f"#stat-{n}").inner_text()) for n in names}

    def from_api() -> dict[str, int]:
        stats = stack.admin.ok("GET", "/api/admin/chat/stats")["stats"]
        return {n: stats[api_keys.get(n, n)] for n in names}

    def settled() -> dict[str, int]:
        """The panel's numbers once they match the server's (they update live)."""
        return wait_until(lambda: (s := shown()) == from_api() and s, what="live stats")

    def filters_with_room() -> set[str]:
        found = set()
        for name in ("open", "unassigned", "assigned", "mine", "urgent", "unread", "resolved", "closed", "all"):
            page.click(f"#filters [data-filter='{name}']")
            page.wait_for_selector(f"#inbox[data-shown='{name}|']", state="attached")
            if page.locator(f".room-item[data-id='{room_id}']").count():
                found.add(name)
        return found

    before = settled()
    assert filters_with_room() == {"open", "unassigned", "unread", "all"}
    page.click("#filters [data-filter='open']")
    page.locator(f".room-item[data-id='{room_id}'] a").click()
    expect(page.locator("#room-title")).to_have_text("Filip Filters")

    page.click("[data-action='assign']")
    expect(page.locator("#room .room-sub")).to_contain_text("assigned to you")
    expect(page.locator("[data-action='assign']")).to_be_hidden()
    after = settled()
    assert (after["assigned"], after["unassigned"], after["mine"]) == (
        before["assigned"] + 1, before["unassigned"] - 1, before["mine"] + 1)
    assert after["unread"] == before["unread"] - 1, "opening the chat read its message"
    assert filters_with_room() == {"open", "assigned", "mine", "all"}

    page.click("[data-action='priority']")
    expect(page.locator("[data-action='priority']")).to_have_attribute("aria-pressed", "true")
    assert settled()["urgent"] == before["urgent"] + 1
    assert filters_with_room() == {"open", "assigned", "mine", "urgent", "all"}
    expect(page.locator(f".room-item[data-id='{room_id}']")).to_have_class(re.compile(r"\burgent\b"))
    screenshot(page, "admin-urgent")

    page.click("[data-action='resolve']")
    expect(page.locator("#room .room-sub")).to_contain_text("resolved")
    resolved = settled()
    assert (resolved["open"], resolved["assigned"], resolved["urgent"], resolved["mine"]) == (
        before["open"] - 1, before["assigned"], before["urgent"], before["mine"])
    assert filters_with_room() == {"resolved", "all"}
    expect(page.locator("#room .msg.system").last).to_contain_text("resolved the chat")

    page.click("[data-action='close']")
    expect(page.locator("#room .room-sub")).to_contain_text("closed")
    expect(page.get_by_role("textbox", name="Message")).to_be_disabled()
    assert filters_with_room() == {"closed", "all"}

    page.click("[data-action='reopen']")
    expect(page.locator("#room .room-sub")).to_contain_text("assigned")
    expect(page.get_by_role("textbox", name="Message")).to_be_enabled()
    reopened = settled()
    assert (reopened["open"], reopened["urgent"], reopened["mine"]) == (
        before["open"], before["urgent"] + 1, before["mine"] + 1)
    assert filters_with_room() == {"open", "assigned", "mine", "urgent", "all"}

    page.click("[data-action='unassign']")
    expect(page.locator("#room .room-sub")).to_contain_text("unassigned")
    assert "unassigned" in filters_with_room()

    # Search: a word from the message finds exactly this chat; nonsense finds nothing.
    page.click("#filters [data-filter='all']")
    page.fill("#search", "zebrafinch")
    page.wait_for_selector("#inbox[data-shown='all|zebrafinch']", state="attached")
    assert page.locator(".room-item").evaluate_all("(rows) => rows.map((r) => Number(r.dataset.id))") == [room_id]
    page.fill("#search", "no-such-words-anywhere")
    page.wait_for_selector("#inbox[data-shown='all|no-such-words-anywhere']", state="attached")
    expect(page.locator(".room-item")).to_have_count(0)
    expect(page.locator("#rooms-empty")).to_be_visible()
