"""Private notes in the panel: written with the keyboard, @mentioning an agent who gets a toast,
shown to agents only, and never in the visitor's widget, while a reply right after is."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, Stack, screenshot, visitor_page, wait_until

pytestmark = pytest.mark.browser

NOTE = "can you approve a refund for this parcel?"
REPLY = "We are refunding you now."


def test_a_note_mentions_an_agent_and_never_reaches_the_visitor(pages: Pages, stack: Stack) -> None:
    _, visitor = stack.new_user("Olena Petrenko")
    room_id = visitor.send("My parcel arrived broken")["room"]["id"]
    _, boris = stack.new_admin("Boris Bondar")

    # The visitor's widget is open on the conversation.
    widget = visitor_page(pages, visitor)
    widget.locator("chatapp-widget .launcher").click()
    chat = widget.get_by_role("dialog", name="Northwind support")
    expect(chat.locator(".msg.ours .body")).to_have_text("My parcel arrived broken")

    # Boris is on his inbox; Alice opens the chat.
    boris_page = pages.admin("/admin/chat", api=boris)
    page = pages.admin(f"/admin/chat/{room_id}")
    expect(page.locator("#room .msg.theirs .body")).to_have_text("My parcel arrived broken")
    box = page.get_by_role("textbox", name="Message")

    # Reply / Note is a pair of toggle buttons the keyboard reaches.
    reply_mode = page.get_by_role("button", name="Reply", exact=True)
    note_mode = page.get_by_role("button", name="Note", exact=True)
    expect(reply_mode).to_have_attribute("aria-pressed", "true")
    note_mode.focus()
    page.keyboard.press("Space")
    expect(note_mode).to_have_attribute("aria-pressed", "true")
    expect(reply_mode).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#room form.composer")).to_have_class("composer note-mode")
    expect(box).to_be_focused()

    # "@" offers the team's agents (not me); the keyboard picks one.
    box.press_sequentially("@bo")
    options = page.locator("#mention-list [role=option]")
    expect(options).to_have_count(1)
    expect(options.nth(0)).to_contain_text("Boris Bondar")
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(page.locator("#mention-list")).to_be_hidden()
    expect(box).to_have_value("@Boris Bondar ")
    box.press_sequentially(NOTE)
    box.press("Enter")
    expect(box).to_have_value("")

    note = page.locator("#room .msg.note")
    expect(note).to_have_count(1)
    expect(note.locator(".note-label")).to_have_text("Private note")
    expect(note.locator(".body")).to_have_text(f"@Boris Bondar {NOTE}")
    background = note.locator(".bubble").evaluate("(b) => getComputedStyle(b).backgroundColor")
    assert background == "rgb(254, 243, 199)", background
    stored = wait_until(lambda: [m for m in stack.admin.ok("GET", f"/api/admin/chat/rooms/{room_id}/messages")["data"]
                                 if m["kind"] == "note"], what="the note stored")
    assert stored[0]["mentions"] == [boris.id] and stored[0]["user_id"] == stack.admin.id
    screenshot(page, "admin-private-note")

    # Boris gets a toast; its link opens the chat, where the note is, marked.
    toast = boris_page.locator(".toast.mention")
    expect(toast).to_contain_text("Alice Agent mentioned you in a note")
    expect(toast).to_contain_text(NOTE)
    toast.get_by_role("link", name="Open").click()
    expect(boris_page).to_have_url(f"{stack.url}/admin/chat/{room_id}")
    expect(boris_page.locator("#room .msg.note .body")).to_have_text(f"@Boris Bondar {NOTE}")
    expect(boris_page.locator("#room .msg.note .note-label")).to_have_text("Private note")

    # Back to a reply: it reaches the visitor's widget; the note never does.
    reply_mode.click()
    expect(page.locator("#room form.composer")).to_have_class("composer")
    box.fill(REPLY)
    box.press("Enter")
    expect(chat.locator(".msg.theirs .body")).to_have_text(REPLY)
    expect(chat).not_to_contain_text("approve a refund")
    expect(chat.locator(".msg")).to_have_count(2)
    expect(boris_page.locator("#room .msg.theirs .body")).to_have_text("My parcel arrived broken")
    expect(boris_page.locator("#room .msg.ours .body")).to_have_text([f"@Boris Bondar {NOTE}", REPLY])

    # Nor after a reload (history from the server).
    widget.reload()
    widget.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")  # it opens as it was left
    chat = widget.get_by_role("dialog", name="Northwind support")
    expect(chat.locator(".msg.theirs .body")).to_have_text(REPLY)
    expect(chat).not_to_contain_text("approve a refund")
    assert all(m["kind"] == "message" for m in visitor.ok("GET", f"/api/chat/rooms/{room_id}/messages")["data"])
