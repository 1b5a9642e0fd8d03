"""The visitor's earlier conversations in the widget: the footer's "Previous conversations" (only with more
than the one on screen) lists them, opens one read-only, and leads back, or to a new chat."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, Stack, screenshot, visitor_page, wait_until
from tests.browser.test_accessibility import assert_accessible
from tests.chatapp.procs import Api

pytestmark = pytest.mark.browser


def closed_chat(stack: Stack, user: Api, question: str, answer: str) -> int:
    room_id = int(user.send(question)["room"]["id"])
    stack.admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": answer})
    stack.admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/close")
    return room_id


def test_a_visitor_reads_an_earlier_conversation_and_comes_back(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Petra Previous")
    first = closed_chat(stack, user, "Do you deliver to Odesa?", "Yes, in two days.")
    stack.admin.ok("POST", f"/api/admin/chat/rooms/{first}/notes", {"body": "Asked twice about Odesa"})
    second = closed_chat(stack, user, "Can I pay by card?", "Visa and Mastercard.")
    stack.admin.ok("POST", f"/api/admin/chat/rooms/{second}/reopen")
    stack.admin.ok("POST", f"/api/admin/chat/rooms/{second}/messages", {"body": "Also Apple Pay now"})
    stack.admin.ok("POST", f"/api/admin/chat/rooms/{second}/close")
    user.send("Where is my parcel?")  # the current chat, on screen

    page = visitor_page(pages, user, bypass_csp=True)  # axe-core is injected
    page.locator("chatapp-widget .launcher").click()
    widget = page.locator("chatapp-widget")
    expect(widget.locator(".msg.ours .body")).to_have_text(["Where is my parcel?"])
    entry = widget.get_by_role("button", name="Previous conversations")
    entry.click()

    listing = widget.get_by_role("region", name="Previous conversations")
    rows = listing.locator("button.room")
    expect(rows).to_have_count(2)  # the chat on screen is not an earlier one
    expect(rows.nth(0)).to_have_attribute("data-room", str(second))  # newest first
    expect(rows.nth(0).locator(".preview")).to_contain_text("closed the chat")  # the system line, translated
    expect(rows.nth(0).locator(".status")).to_have_text("Closed")
    expect(rows.nth(1).locator("time")).not_to_be_empty()
    expect(widget.locator("textarea.input")).to_be_hidden()  # reading, not writing
    expect(listing.get_by_role("button", name="Start a new conversation")).to_be_hidden()  # the current one is open
    assert_accessible(page)

    assert user.ok("GET", f"/api/chat/rooms/{first}")["room"]["unread_count"] == 1
    rows.nth(1).click()
    old = widget.get_by_role("region", name="Conversation")
    expect(old.locator(".msg .body")).to_have_text(["Do you deliver to Odesa?", "Yes, in two days."])
    expect(old).not_to_contain_text("Asked twice")  # support's notes never reach the visitor
    expect(old.locator(".read-only")).to_have_text("This conversation was closed.")
    # Support's reply there was never read: reading it here marks it read.
    wait_until(lambda: user.ok("GET", f"/api/chat/rooms/{first}")["room"]["unread_count"] == 0, what="read")
    screenshot(page, "widget-history")
    old.get_by_role("button", name="Back").click()
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_be_focused()
    listing.get_by_role("button", name="Back").click()
    expect(widget.locator(".msg.ours .body")).to_have_text(["Where is my parcel?"])
    expect(widget.locator("textarea.input")).to_be_visible()
    expect(entry).to_be_focused()

    # Escape leaves the list too, not the widget.
    entry.click()
    expect(rows).to_have_count(2)
    page.keyboard.press("Escape")
    expect(listing).to_have_count(0)
    expect(widget.locator(".panel")).to_be_visible()


def test_under_a_closed_chat_the_list_starts_a_new_one(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Ned New")
    closed_chat(stack, user, "First question", "First answer")
    latest = closed_chat(stack, user, "Second question", "Second answer")

    page = visitor_page(pages, user)
    page.locator("chatapp-widget .launcher").click()
    widget = page.locator("chatapp-widget")
    expect(widget.locator(".msg .body")).to_have_text(["Second question", "Second answer"])  # the latest, closed
    widget.get_by_role("button", name="Previous conversations").click()
    listing = widget.get_by_role("region", name="Previous conversations")
    expect(listing.locator("button.room")).to_have_count(1)
    assert listing.locator("button.room").get_attribute("data-room") != str(latest)
    listing.get_by_role("button", name="Start a new conversation").click()
    expect(listing).to_have_count(0)
    expect(widget.locator(".msg")).to_have_count(0)  # an empty thread: the first message starts a new chat
    expect(widget.locator("textarea.input")).to_be_focused()


def test_a_visitor_with_one_conversation_is_not_offered_a_list(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Olga Once")
    user.send("Only this one")
    page = visitor_page(pages, user)
    page.locator("chatapp-widget .launcher").click()
    expect(page.locator("chatapp-widget .msg .body")).to_have_text(["Only this one"])
    expect(page.locator("chatapp-widget").get_by_role("button", name="End chat")).to_be_visible()
    expect(page.locator("chatapp-widget").get_by_role("button", name="Previous conversations")).to_have_count(0)


def test_a_long_history_comes_twenty_at_a_time(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Lena Long")
    rooms = [closed_chat(stack, user, f"Question number {n}", f"Answer {n}") for n in range(23)]
    page = visitor_page(pages, user)
    page.locator("chatapp-widget .launcher").click()
    widget = page.locator("chatapp-widget")
    widget.get_by_role("button", name="Previous conversations").click()
    listing = widget.get_by_role("region", name="Previous conversations")
    rows = listing.locator("button.room")
    expect(rows).to_have_count(19)  # the first page of 20, less the latest chat, which is on screen
    more = listing.get_by_role("button", name="Show more")
    more.click()
    expect(rows).to_have_count(22)
    expect(more).to_be_hidden()
    shown = [int(rows.nth(i).get_attribute("data-room") or 0) for i in range(22)]
    assert shown == rooms[-2::-1], "newest first, each once"
