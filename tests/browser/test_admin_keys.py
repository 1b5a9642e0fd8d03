"""The panel without a mouse: j/k through the inbox, r to reply, a to assign, e to resolve, ? for the sheet."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, Stack, screenshot
from tests.browser.test_accessibility import assert_accessible

pytestmark = pytest.mark.browser


def test_an_agent_works_through_the_inbox_with_the_keyboard(pages: Pages, stack: Stack) -> None:
    for name in ("Kira Keys", "Lev Later"):
        stack.new_user(name)[1].send(f"Hello, this is {name}")
    _, agent = stack.new_admin("Kim Keyboard")
    page = pages.admin(api=agent, bypass_csp=True)
    items = page.locator("#rooms .room-item")
    expect(items.first).to_be_visible()
    shown = [int(i) for i in items.evaluate_all("els => els.map(e => e.dataset.id)")]
    assert len(shown) >= 2

    # j opens the first conversation, then the next; k goes back.
    for key, room_id in (("j", shown[0]), ("j", shown[1]), ("k", shown[0])):
        page.keyboard.press(key)
        expect(page).to_have_url(re.compile(rf"/admin/chat/{room_id}$"))
        expect(page.locator("#room .room-sub")).to_contain_text(f"#{room_id} ·")

    # a assigns the open chat to me, e resolves it: the same buttons, pressed by key.
    sub = page.locator("#room .room-sub")
    # the conversation's own buttons are drawn once its details are in (a key presses a button shown)
    expect(page.locator("#room .actions button[data-action='assign']")).to_be_enabled()
    page.keyboard.press("a")
    expect(sub).to_contain_text("assigned to you")
    page.keyboard.press("e")
    expect(page.locator("#room [data-action='reopen']")).to_be_visible()
    room = agent.ok("GET", f"/api/admin/chat/rooms/{shown[0]}")["room"]
    assert room["status"] == "resolved" and room["assigned_admin"]["id"] == agent.id

    # r puts the caret in the reply box, where keys are text; Esc leaves it, Esc again the chat.
    page.keyboard.press("r")
    reply = page.locator("#reply-input")
    expect(reply).to_be_focused()
    page.keyboard.type("jake")
    expect(reply).to_have_value("jake")
    expect(page).to_have_url(re.compile(rf"/admin/chat/{shown[0]}$"))
    page.keyboard.press("Escape")
    expect(reply).not_to_be_focused()
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"/admin/chat$"))

    # / searches; ? shows the sheet (in a field it is just a question mark).
    page.keyboard.press("/")
    search = page.locator("#search")
    expect(search).to_be_focused()
    page.keyboard.type("?")
    expect(search).to_have_value("?")
    expect(page.locator("#keys-dialog")).to_have_count(0)
    page.keyboard.press("Escape")
    page.keyboard.press("Shift+?")
    sheet = page.locator("#keys-dialog")
    expect(sheet).to_be_visible()
    expect(sheet.locator("dt")).to_have_count(9)
    expect(sheet).to_contain_text("Assign the conversation to me")
    expect(sheet).to_contain_text("Snooze the conversation")  # z (tests/browser/test_admin_snooze.py)
    screenshot(page, "admin-keyboard-sheet")
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    page.locator("#keys-button").click()
    expect(sheet).to_be_visible()
    assert_accessible(page)
