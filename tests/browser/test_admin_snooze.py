"""Snooze in the panel: the agent snoozes from the conversation's menu (z opens it), the chat leaves
the open inbox for "Snoozed" with its wake time, and comes back live when the visitor writes and
when its time comes (a toast tells its agent). The presets are the agent's own time zone's (the
context's is Kyiv's)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Pages, Stack, running_stack, screenshot, wait_until

pytestmark = pytest.mark.browser

KYIV = ZoneInfo("Europe/Kyiv")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, {"CHATAPP_SNOOZE_INTERVAL": "0.3"})


def item(page: Page, room_id: int):  # type: ignore[no-untyped-def]
    return page.locator(f"#rooms .room-item[data-id='{room_id}']")


def present(stack: Stack, agent_id: int) -> bool:
    """pyreverb counts ``agent_id`` among the admins with a panel open (what a wake by time asks)."""
    return bool({a["id"]: a for a in stack.admin.ok("GET", "/api/admin/agents")["data"]}[agent_id]["online"])


def test_an_agent_snoozes_a_chat_and_it_comes_back(pages: Pages, stack: Stack) -> None:
    _, visitor = stack.new_user("Sofia Snooze")
    room_id = visitor.send("I will send the photos tomorrow")["room"]["id"]
    page = pages.admin(f"/admin/chat/{room_id}", timezone_id="Europe/Kyiv")
    sub = page.locator("#room .room-sub")
    expect(item(page, room_id)).to_be_visible()  # the "Open" view
    page.get_by_role("button", name="Assign to me").click()
    expect(sub).to_contain_text("assigned to you")

    # The keyboard opens the menu (z), then "Until the next reply".
    page.locator("#reply-input").press("Escape")
    page.keyboard.press("z")
    menu = page.locator("#snooze-menu")
    expect(menu).to_be_visible()
    expect(page.get_by_role("button", name="Snooze", exact=True)).to_have_attribute("aria-expanded", "true")
    screenshot(page, "admin-snooze-menu")
    menu.get_by_role("button", name="Until the next reply").click()
    expect(sub).to_contain_text("Snoozed until the next reply")
    expect(item(page, room_id)).to_have_count(0)  # it left the open inbox
    expect(page.locator("#room .msg.system").last).to_have_text("Alice Agent snoozed the chat until the visitor writes")
    expect(page.get_by_role("button", name="Unsnooze")).to_be_visible()

    page.locator("#filters [data-filter='snoozed']").click()
    expect(item(page, room_id).locator(".chip.snoozed")).to_have_text("Snoozed until the next reply")
    screenshot(page, "admin-snoozed-view")

    # The visitor writes: the chat is back at once, in every view the panel shows.
    visitor.send("Here they are")
    expect(item(page, room_id)).to_have_count(0)
    expect(sub).not_to_contain_text("Snoozed")
    expect(page.locator("#room .msg.system").last).to_have_text("The visitor wrote: the snooze ended")
    page.locator("#filters [data-filter='open']").click()
    expect(item(page, room_id)).to_be_visible()

    # "Tomorrow, 09:00" is 09:00 tomorrow in the agent's time zone, sent as UTC.
    page.get_by_role("button", name="Snooze", exact=True).click()
    page.locator("#snooze-menu").get_by_role("button", name="Tomorrow, 09:00").click()
    expect(sub).to_contain_text("Snoozed until")
    tomorrow = (datetime.now(KYIV) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    until = stack.admin.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]["snooze"]["until"]
    assert datetime.fromisoformat(until) == tomorrow.astimezone(UTC)
    expect(item(page, room_id)).to_have_count(0)

    # Another agent moves the wake time to a moment from now; the agent has gone back to the list. At
    # that time the chat returns by itself, to them (their panel is open), with a toast that opens it.
    page.goto(f"{stack.url}/admin/chat")
    page.wait_for_selector("#inbox[data-ready='true']")
    # The reloaded panel must have joined presence-admins before the wake, or the chat rightly goes
    # back through routing instead of to its agent (a loaded machine can take seconds to subscribe).
    wait_until(lambda: present(stack, stack.admin.id), what="the reloaded panel to be present")
    soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()  # still ahead when it arrives on a loaded machine
    stack.admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/snooze", {"until": soon})
    toast = page.locator(".toast.snooze")
    expect(toast).to_contain_text("A snoozed chat is back")
    expect(toast).to_contain_text("Sofia Snooze")
    expect(item(page, room_id)).to_be_visible()
    toast.get_by_role("link", name="Open").click()
    expect(sub).to_contain_text("assigned to you")
    expect(sub).not_to_contain_text("Snoozed")
    expect(page.locator("#room .msg.system").last).to_have_text("The snooze ended: the chat is back in the inbox")
    expect(page.get_by_role("button", name="Unsnooze")).to_be_hidden()

    # A picked date and time, then Unsnooze.
    page.get_by_role("button", name="Snooze", exact=True).click()
    page.locator("#snooze-menu").get_by_role("button", name="Pick a date and time…").click()
    page.locator("#snooze-when").fill("2099-01-01T10:00")  # too far: the server says why
    page.locator("#snooze-menu").get_by_role("button", name="Snooze").click()
    expect(page.locator("#room .action-error")).to_have_text("A chat can be snoozed at most 90 days ahead.")
    later = datetime.now(KYIV) + timedelta(days=3)
    page.get_by_role("button", name="Snooze", exact=True).click()
    page.locator("#snooze-menu").get_by_role("button", name="Pick a date and time…").click()
    page.locator("#snooze-when").fill(later.strftime("%Y-%m-%dT15:30"))
    page.locator("#snooze-menu").get_by_role("button", name="Snooze").click()
    expect(sub).to_contain_text("Snoozed until")
    until = stack.admin.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]["snooze"]["until"]
    assert datetime.fromisoformat(until) == later.replace(hour=15, minute=30, second=0, microsecond=0).astimezone(UTC)
    page.get_by_role("button", name="Unsnooze").click()
    expect(sub).not_to_contain_text("Snoozed")
    expect(item(page, room_id)).to_be_visible()
    expect(page.locator("#room .msg.system").last).to_have_text("Alice Agent unsnoozed the chat")
