"""Two agents and one chat: "Assign to me" is compare-and-set, and the panel says who won."""

from __future__ import annotations

import pytest
from playwright.sync_api import Route, expect

from tests.browser.conftest import Pages, Stack

pytestmark = pytest.mark.browser


def test_the_second_agent_to_assign_hears_who_has_the_chat(pages: Pages, stack: Stack) -> None:
    _, visitor = stack.new_user("Paula Popular")
    room_id = visitor.send("Anyone there?")["room"]["id"]
    _, bob = stack.new_admin("Bob Slower")
    page = pages.admin(f"/admin/chat/{room_id}", api=bob)
    sub = page.locator("#room .room-sub")
    expect(sub).to_contain_text("unassigned")

    # Bob clicks while the chat is unassigned; his request is slow to arrive, and Alice's is not.
    held: list[Route] = []
    assign_url = f"{stack.url}/api/admin/chat/rooms/{room_id}/assign"
    page.route(assign_url, lambda route: held.append(route))
    page.get_by_role("button", name="Assign to me").click()
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(25)
    assert held, "Bob's click sent its request"
    stack.admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/assign", {})
    held[0].continue_()
    page.unroute(assign_url)

    expect(page.locator("#room .action-error")).to_have_text("Already assigned to Alice Agent")
    expect(sub).to_contain_text("assigned to Alice Agent")
    assert stack.admin.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]["assigned_admin"]["name"] == "Alice Agent"

    # Taking the chat over from Alice is still possible, now that Bob sees she has it.
    page.get_by_role("button", name="Assign to me").click()
    expect(sub).to_contain_text("assigned to you")
    expect(page.locator("#room .action-error")).to_have_text("")
    assert stack.admin.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]["assigned_admin"]["id"] == bob.id
