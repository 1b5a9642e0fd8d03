"""The details pane lists the contact's earlier conversations; a click opens one in place, Back returns."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, Stack

pytestmark = pytest.mark.browser


def test_an_agent_opens_the_contacts_earlier_conversation(pages: Pages, stack: Stack) -> None:
    _, visitor = stack.new_user("Ernestine Earlier")
    first = visitor.send("My first order never came")["room"]["id"]
    stack.admin.ok("POST", f"/api/admin/chat/rooms/{first}/messages", {"body": "Sent again today"})
    stack.admin.ok("POST", f"/api/admin/chat/rooms/{first}/close")
    second = visitor.send("Now the second one is late")["room"]["id"]
    assert second != first
    doc = stack.admin.ok("GET", f"/api/admin/chat/rooms/{second}")
    assert [(r["id"], r["status"]) for r in doc["earlier"]] == [(first, "closed")]

    page = pages.admin(f"/admin/chat/{second}")
    earlier = page.locator("#earlier-list li")
    expect(earlier).to_have_count(1)
    expect(earlier.first).to_have_attribute("data-id", str(first))
    expect(earlier.first.locator(".chip")).to_have_text("closed")
    expect(page.locator("#earlier-none")).to_be_hidden()
    earlier.first.locator("a").click()
    expect(page).to_have_url(re.compile(rf"/admin/chat/{first}$"))
    expect(page.locator("#room .messages")).to_contain_text("My first order never came")
    expect(page.locator("#earlier-list li")).to_have_count(1)  # from there, the later one
    expect(page.locator("#earlier-list li").first).to_have_attribute("data-id", str(second))
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/admin/chat/{second}$"))
    expect(page.locator("#room .messages")).to_contain_text("Now the second one is late")

    # A first-time contact: the pane says so.
    newcomer = stack.new_user("Nadia New")[1].send("Hello")["room"]["id"]
    page.goto(f"{stack.url}/admin/chat/{newcomer}")
    expect(page.locator("#earlier-none")).to_be_visible()
    expect(page.locator("#earlier-list li")).to_have_count(0)
