"""A team's inbox in Chromium. Unread per agent: a supervisor opening a chat leaves its assignee's
badge, Unread filter and tab title as they were. Labels: an admin defines them, an agent puts them
on a chat and on several at once, other panels follow live, the inbox filters by them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Pages, Stack, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def manual_assignment(stack: Stack) -> Iterator[None]:
    """Chats wait for a person to assign them, so the test says who has which."""
    stack.admin.ok("PUT", "/api/admin/routing", {"auto_assign": False})
    try:
        yield
    finally:
        stack.admin.ok("PUT", "/api/admin/routing", {"auto_assign": True})


def badge(page: Page, room_id: int) -> object:
    return page.locator(f"#rooms .room-item[data-id='{room_id}'] .unread-badge")


def test_a_supervisor_opening_a_chat_leaves_the_assignees_unread(
    pages: Pages, stack: Stack, manual_assignment: None
) -> None:
    _, bob = stack.new_admin("Bob Assignee")
    _, visitor = stack.new_user("Una Unread")
    room_id = visitor.send("first question")["room"]["id"]
    visitor.send("second question")
    stack.admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/assign", {"admin_id": bob.id})

    assignee = pages.admin("/admin/chat?filter=open", api=bob)
    expect(badge(assignee, room_id)).to_have_text("2")
    expect(assignee).to_have_title("(2) Support inbox")

    # The supervisor opens the chat: it is read for them (and the visitor sees "Seen")...
    supervisor = pages.admin(f"/admin/chat/{room_id}")
    expect(supervisor.locator("#room")).to_contain_text("second question")
    expect(badge(supervisor, room_id)).to_be_hidden()
    # ...and not for the assignee, whose count goes on with the visitor's next message.
    visitor.send("third question")
    expect(badge(assignee, room_id)).to_have_text("3")
    expect(assignee).to_have_title("(3) Support inbox")
    screenshot(assignee, "admin-unread-per-agent")
    expect(badge(supervisor, room_id)).to_be_hidden()  # they are reading it

    assignee.locator("#filters [data-filter='unread']").click()
    expect(assignee.locator(f"#rooms .room-item[data-id='{room_id}']")).to_be_visible()
    supervisor.locator("#filters [data-filter='unread']").click()
    expect(supervisor.locator(f"#rooms .room-item[data-id='{room_id}']")).to_have_count(0)

    # The assignee reads it: their badge and title clear.
    assignee.locator(f"#rooms .room-item[data-id='{room_id}'] a").click()
    expect(assignee.locator("#room")).to_contain_text("third question")
    expect(assignee).to_have_title("Una Unread · Support inbox")
    assert stack.admin.ok("GET", "/api/admin/chat/stats")["stats"]["unread_messages"] == 0


def test_labels_and_bulk_actions(pages: Pages, stack: Stack, manual_assignment: None) -> None:
    rooms = [stack.new_user(f"Bulk Visitor {i}")[1].send(f"order {i} is late")["room"]["id"] for i in range(3)]
    _, agent = stack.new_admin("Ada Agent")
    stack.admin.ok("PUT", f"/api/admin/team/{agent.id}/role", {"role": "agent"})
    manager = pages.admin("/admin/chat?filter=open")

    # The admin defines a label in the Labels dialog.
    manager.locator("#labels-button").click()
    dialog = manager.locator("#labels-dialog")
    dialog.locator("#label-name").fill("")
    dialog.locator("#label-add").click()
    expect(dialog.locator("#labels-error")).to_have_text("The name is 1 to 40 characters.")
    dialog.locator("#label-name").fill("Delivery")
    dialog.locator("#label-color").fill("#eb5757")
    dialog.locator("#label-add").click()
    item = dialog.locator("#labels-list .label-item", has_text="Delivery")
    expect(item).to_have_count(1)
    label_id = int(item.get_attribute("data-id") or 0)
    dialog.locator("#label-name").fill("delivery")
    dialog.locator("#label-add").click()
    expect(dialog.locator("#labels-error")).to_have_text("A label with that name exists already.")
    dialog.locator("#labels-close").click()

    # An agent's panel learns of it live, and puts it on a chat from the conversation.
    desk = pages.admin(f"/admin/chat/{rooms[0]}", api=agent)
    expect(desk.locator("#labels-button")).to_be_hidden()  # agents use labels, admins define them
    desk.locator("#room .label-picker").select_option(str(label_id))
    room_chip = desk.locator("#room .room-labels .label-chip")
    expect(room_chip).to_contain_text("Delivery")
    room_chip.get_by_role("button", name="Remove the label Delivery").click()
    expect(room_chip).to_have_count(0)
    desk.locator("#room .label-picker").select_option(str(label_id))
    expect(room_chip).to_contain_text("Delivery")
    chip = manager.locator(f"#rooms .room-item[data-id='{rooms[0]}'] .label-chip")
    expect(chip).to_have_text("Delivery")  # the admin's inbox follows through the feed

    # Bulk: the agent ticks the two other chats, labels them, assigns them, resolves one.
    desk.goto(f"{stack.url}/admin/chat?filter=open")
    desk.wait_for_selector("#inbox[data-ready='true']")
    for room_id in rooms[1:]:
        desk.locator(f"#rooms .room-item[data-id='{room_id}'] .room-select").check()
    expect(desk.locator("#bulk-bar")).to_contain_text("2 selected")
    desk.locator("#bulk-label").select_option(str(label_id))
    expect(desk.locator("#bulk-result")).to_have_text("2 of 2 changed.")
    for room_id in rooms:
        expect(desk.locator(f"#rooms .room-item[data-id='{room_id}'] .label-chip")).to_have_text("Delivery")
    desk.locator("#label-filter").select_option(str(label_id))
    expect(desk.locator("#rooms .room-item")).to_have_count(3)
    for room_id in rooms[1:]:
        desk.locator(f"#rooms .room-item[data-id='{room_id}'] .room-select").check()
    desk.locator("#bulk-assign").select_option(str(agent.id))
    expect(desk.locator("#bulk-result")).to_have_text("2 of 2 changed.")
    for room_id in rooms[1:]:
        expect(desk.locator(f"#rooms .room-item[data-id='{room_id}']")).to_contain_text("→ You")
    desk.locator(f"#rooms .room-item[data-id='{rooms[2]}'] .room-select").check()
    desk.locator("#bulk-resolve").click()
    expect(desk.locator(f"#rooms .room-item[data-id='{rooms[2]}']")).to_have_count(0)  # open chats only
    assert stack.admin.ok("GET", f"/api/admin/chat/rooms/{rooms[2]}")["room"]["status"] == "resolved"
    screenshot(desk, "admin-labels-bulk")

    # The search box names a label too.
    desk.locator("#label-filter").select_option("")
    desk.locator("#search").fill("label:delivery")
    expect(desk.locator("#rooms .room-item")).to_have_count(2)  # the open ones
    expect(desk.locator("#rooms .room-item .label-chip")).to_have_count(2)
    desk.locator("#search").fill("")

    # The admin deletes the label: it leaves every chat, in both panels.
    manager.locator("#labels-button").click()
    dialog.locator(f"#labels-list .label-item[data-id='{label_id}'] [data-action='delete']").click()
    expect(dialog.locator("#labels-list .label-item")).to_have_count(0)
    expect(desk.locator("#rooms .label-chip")).to_have_count(0)
    expect(desk.locator("#label-filter")).to_have_value("")
