"""Satisfaction (CSAT) in the widget: asked under a resolved chat, answered once, seen by the agent at once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, Stack, screenshot, visitor_page
from tests.browser.test_accessibility import assert_accessible

pytestmark = pytest.mark.browser


def test_a_visitor_rates_the_resolved_chat_and_the_agent_sees_it(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Stella Stars")
    room_id = user.send("My discount code fails")["room"]["id"]
    stack.admin.post(f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Fixed, try again"})
    page = visitor_page(pages, user, bypass_csp=True)
    page.locator("chatapp-widget .launcher").click()
    expect(page.locator("chatapp-widget .msg.theirs .body")).to_have_text("Fixed, try again")
    card = page.locator("chatapp-widget .rating")
    expect(card).to_have_count(0)  # not while the chat is open
    agent = pages.admin(f"/admin/chat/{room_id}")

    stack.admin.post(f"/api/admin/chat/rooms/{room_id}/resolve")
    expect(card.get_by_text("How did we do?")).to_be_visible()
    stars = card.get_by_role("radio")
    expect(stars).to_have_count(5)
    assert_accessible(page)
    card.get_by_role("radio", name="4 out of 5").click()
    expect(stars.nth(3)).to_have_attribute("aria-checked", "true")
    expect(stars.nth(4)).to_have_attribute("aria-checked", "false")
    card.get_by_role("textbox").fill("Quick fix, thanks")
    screenshot(page, "widget-rating")
    card.get_by_role("button", name="Send").click()
    expect(card).to_have_text("Thank you for your feedback!")

    # The agent's open conversation shows it at once; the report counts it.
    rating = agent.locator("#room-details .rating")
    expect(rating).to_have_attribute("data-score", "4")
    expect(rating).to_contain_text("4 out of 5")
    expect(rating.locator(".rating-comment")).to_have_text("Quick fix, thanks")
    assert stack.admin.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]["rating"]["score"] == 4

    # Asked once: a reload shows the chat without the question.
    page.reload()
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    page.locator("chatapp-widget .launcher").click()
    expect(page.locator("chatapp-widget .msg.theirs .body").first).to_have_text("Fixed, try again")
    expect(card).to_have_count(0)
