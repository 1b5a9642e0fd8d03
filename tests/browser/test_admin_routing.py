"""Availability, automatic assignment, the queue and the reassign picker, in two agents' panels."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, Stack, running_stack, screenshot, visitor_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """This module's chatapp assigns new chats automatically (the other browser suites do not)."""
    yield from running_stack(tmp_path_factory, {"CHATAPP_AUTO_ASSIGN": "true"})


def test_availability_auto_assignment_queue_and_reassign(pages: Pages, stack: Stack) -> None:
    alice = stack.admin
    _, bob = stack.new_admin("Bob Second")
    alice_page = pages.admin(api=alice)
    bob_page = pages.admin(api=bob)

    # Bob's team list shows Alice online; she switches to busy and Bob sees it.
    bob_page.locator("#agents").click()
    alice_in_bobs = bob_page.locator(f"#team-list .team-agent[data-agent-id='{alice.id}']")
    expect(alice_in_bobs).to_have_attribute("data-status", "online")
    alice_page.locator("#availability-select").select_option("busy")
    expect(alice_in_bobs).to_have_attribute("data-status", "busy")
    expect(alice_in_bobs.locator(".team-status")).to_have_text("Busy")
    expect(alice_page.locator("#availability-select")).to_have_value("busy")
    assert {a["id"]: a for a in alice.ok("GET", "/api/admin/agents")["data"]}[alice.id]["availability"] == "busy"
    # Alice's team list shows Bob, whose panel opened after hers, online.
    alice_page.locator("#agents").click()
    expect(alice_page.locator(f"#team-list .team-agent[data-agent-id='{bob.id}']")).to_have_attribute(
        "data-status", "online")

    # A new chat goes to Bob, the one agent online: a toast says so and it is among his.
    _, visitor = stack.new_user("Quentin Queue")
    first = visitor.send("My order is late")["room"]["id"]
    expect(bob_page.locator(".toast").filter(has_text="Chat assigned to you: Quentin Queue")).to_contain_text(
        "My order is late")
    expect(bob_page.locator("#stat-mine")).to_have_text("1")
    bob_page.locator("#filters [data-filter='mine']").click()
    expect(bob_page.locator("#rooms")).to_contain_text("Quentin Queue")
    assert alice.ok("GET", f"/api/admin/chat/rooms/{first}")["room"]["assigned_admin"]["id"] == bob.id

    # Bob is full at one chat: the next one waits in the queue, shown in both panels.
    alice.ok("PUT", f"/api/admin/agents/{bob.id}/capacity", {"capacity": 1})
    _, waiting_visitor = stack.new_user("Wanda Waiting")
    second = waiting_visitor.send("Hello?")["room"]["id"]
    for page in (alice_page, bob_page):
        expect(page.locator("#queue .queue-summary")).to_have_text("Queue: 1 chat waiting")
        expect(page.locator(f"#queue-list .queue-room[data-room-id='{second}']")).to_contain_text("Wanda Waiting")
    screenshot(bob_page, "admin-routing-team-and-queue")

    # The visitor's thread says who joined.
    shop = visitor_page(pages, visitor)
    shop.locator("chatapp-widget .launcher").click()
    joined = shop.locator("chatapp-widget .msg.system")
    expect(joined).to_have_text(["Bob Second joined the chat"])

    # Bob hands his chat to Alice: the picker shows her status and load.
    bob_page.locator("#rooms").get_by_text("Quentin Queue").click()
    expect(bob_page.locator("#room .room-sub")).to_contain_text("assigned to you")
    picker = bob_page.locator("#room select.reassign")
    option = picker.locator(f"option[value='{alice.id}']")
    expect(option).to_have_text("Alice Agent · Busy · 0/5")
    picker.select_option(str(alice.id))
    expect(bob_page.locator("#room .room-sub")).to_contain_text("assigned to Alice Agent")
    expect(alice_page.locator(".toast").filter(has_text="Chat assigned to you: Quentin Queue")).to_be_visible()
    expect(joined).to_have_text(["Bob Second joined the chat", "Alice Agent joined the chat"])
    # ... and the slot it freed takes the waiting chat at once.
    expect(bob_page.locator("#queue .queue-summary")).to_have_text("Queue: nobody waiting")
    assert alice.ok("GET", f"/api/admin/chat/rooms/{second}")["room"]["assigned_admin"]["id"] == bob.id
    notes = [m["body"] for m in visitor.ok("GET", f"/api/chat/rooms/{first}/messages")["data"]
             if m["sender_role"] == "system"]
    assert notes == ["Bob Second joined the chat", "Alice Agent joined the chat"]
