"""Where the visitor is: a signed-in visitor on a host site starts a chat and moves to a second page;
the agent's details pane shows their browser, both pages (newest first, live) and the site's attributes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from chatapp.identity import sign_identity_token
from tests.browser.conftest import Pages, Stack, screenshot
from tests.browser.test_widget import ShopSite
from tests.chatapp.procs import IDENTITY_SECRET

pytestmark = pytest.mark.browser

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>%(title)s</title></head>
<body>
  <h1>%(title)s</h1>
  <script src="%(base)s/widget.js" async data-title="Shop help" data-identity="%(identity)s"></script>
</body></html>
"""


@pytest.fixture
def shop(stack: Stack) -> Iterator[ShopSite]:
    now = int(time.time())
    identity = sign_identity_token(IDENTITY_SECRET, {
        "sub": f"visit-{now}", "name": "Vera Visitor", "iat": now, "exp": now + 600,
        "attributes": {"plan": "Pro", "orders": 12, "nested": {"dropped": True}},
    })
    site = ShopSite({
        "/shoes": PAGE % {"base": stack.url, "title": "Running shoes", "identity": identity},
        "/checkout": PAGE % {"base": stack.url, "title": "Checkout", "identity": identity},
    })
    yield site
    site.close()


def test_the_agent_sees_the_visitors_browser_pages_and_attributes(pages: Pages, stack: Stack, shop: ShopSite) -> None:
    visitor = pages.page()
    visitor.goto(f"{shop.url}/shoes?color=red")
    visitor.locator("chatapp-widget .launcher").click()
    box = visitor.locator("chatapp-widget textarea")
    box.fill("Do these come in size 44?")
    box.press("Enter")
    expect(visitor.locator("chatapp-widget .msg.ours .status")).to_have_text(" · Sent")
    [room] = stack.admin.ok("GET", "/api/admin/chat/rooms", params={"q": "size 44"})["data"]

    agent = pages.admin(f"/admin/chat/{room['id']}")
    trail = agent.locator("#visit-trail li")
    expect(trail).to_have_count(1)
    expect(trail.first.locator("a")).to_have_text("Running shoes")
    facts = agent.locator("#visit-facts")
    expect(facts.locator("[data-fact=browser]")).to_contain_text("Chrome")
    expect(facts.locator("[data-fact=browser]")).to_contain_text("Linux")
    expect(facts.locator("[data-fact=language]")).to_contain_text("en")
    expect(facts.locator("[data-fact=timeZone]")).not_to_be_empty()
    attributes = agent.locator("#visit-attributes")
    expect(attributes.locator("dt")).to_have_text(["plan", "orders"])
    expect(attributes.locator("dd")).to_have_text(["Pro", "12"])

    # The visitor moves on: the agent's open pane follows, without a reload.
    visitor.goto(f"{shop.url}/checkout")
    expect(visitor.locator("chatapp-widget .msg.ours .body")).to_have_text("Do these come in size 44?")
    expect(trail).to_have_count(2)
    expect(trail.locator("a")).to_have_text(["Checkout", "Running shoes"])
    current = facts.locator("[data-fact=currentPage] a")
    expect(current).to_have_text("Checkout")
    expect(current).to_have_attribute("href", f"{shop.url}/checkout")
    expect(current).to_have_attribute("target", "_blank")
    expect(current).to_have_attribute("rel", "noopener noreferrer")
    expect(trail.nth(1).locator("a")).to_have_attribute("href", f"{shop.url}/shoes?color=red")
    expect(trail.first.locator("time")).not_to_be_empty()
    agent.locator("#visit-attributes").scroll_into_view_if_needed()  # the Visit section in view
    screenshot(agent, "admin-visit")

    # A reload of the same page is no new entry.
    with visitor.expect_response(lambda r: r.url.endswith(f"/rooms/{room['id']}/pages")) as reported:
        visitor.reload()
    assert reported.value.status == 201
    agent.reload()
    expect(agent.locator("#visit-trail li")).to_have_count(2)

    # A single-page site moves on without loading a page: the widget notices the new address.
    visitor.evaluate("document.title = 'Cart'; history.pushState({}, '', '/cart?step=2')")
    trail = agent.locator("#visit-trail li")
    expect(trail).to_have_count(3)
    expect(trail.first.locator("a")).to_have_text("Cart")
    expect(trail.first.locator("a")).to_have_attribute("href", f"{shop.url}/cart?step=2")
