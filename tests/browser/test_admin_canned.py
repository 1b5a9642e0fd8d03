"""Canned replies in the panel: managed in their dialog, inserted with "/" and the keyboard, variables filled."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, Stack, screenshot, visitor_page
from tests.browser.pseudo import serve_pseudo_locale, untranslated
from tests.browser.test_accessibility import assert_accessible

pytestmark = pytest.mark.browser

BODY = "Hi {{visitor.name}}, your refund is on its way. {{agent.name}}, support"
FILLED = "Hi Olena Petrenko, your refund is on its way. Alice Agent, support"


def test_an_agent_adds_a_reply_then_inserts_it_with_the_keyboard_and_the_visitor_gets_it(
    pages: Pages, stack: Stack
) -> None:
    _, visitor = stack.new_user("Olena Petrenko")
    room_id = visitor.send("I would like my money back")["room"]["id"]
    # Another reply whose code also starts with "ref", listed first: the keyboard has to move to ours.
    stack.admin.ok("POST", "/api/admin/canned-replies", {"code": "referral", "body": "Our referral programme: ..."})
    _, bob = stack.new_admin("Bob Other")
    bob.ok("POST", "/api/admin/canned-replies", {"code": "refs-bob", "body": "Bob's own", "scope": "personal"})

    page = pages.admin("/admin/chat")
    page.get_by_role("button", name="Canned replies").click()
    dialog = page.locator("#canned-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#canned-team .canned-item")).to_have_count(1)
    expect(dialog.locator("#canned-personal .canned-item")).to_have_count(0)  # Bob's personal one is his alone

    # A clash and a typo in a variable are refused with a clear message, and nothing is added.
    dialog.get_by_label("Code (typed after /)").fill("Referral")
    dialog.get_by_label("Text", exact=True).fill("Hello")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator("#canned-error")).to_have_text("That code is already taken; choose another one.")
    dialog.get_by_label("Code (typed after /)").fill("refund")
    dialog.get_by_label("Text", exact=True).fill("Hello {{visitor.nmae}}")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator("#canned-error")).to_contain_text("no variables other than those listed")
    expect(dialog.locator("#canned-team .canned-item")).to_have_count(1)

    dialog.get_by_label("Text", exact=True).fill(BODY)
    dialog.get_by_label("Who can use it").select_option("team")
    dialog.get_by_role("button", name="Save").click()
    item = dialog.locator("#canned-team .canned-item[data-code='refund']")
    expect(item).to_contain_text("/refund")
    expect(item.locator(".canned-body")).to_have_text(BODY)
    expect(dialog.locator("#canned-error")).to_have_text("")
    saved = [r for r in stack.admin.ok("GET", "/api/admin/canned-replies")["data"] if r["code"] == "refund"]
    assert [(r["scope"], r["body"]) for r in saved] == [("team", BODY)]
    screenshot(page, "admin-canned-replies")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    page.locator(f".room-item[data-id='{room_id}'] a").click()
    expect(page.locator("#room .msg.theirs .body")).to_have_text("I would like my money back")
    box = page.get_by_role("textbox", name="Message")
    box.press_sequentially("/ref")
    options = page.locator("#canned-list [role=option]")
    expect(options).to_have_count(2)
    expect(options.locator(".canned-code")).to_have_text(["/referral", "/refund"])
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", "canned-option-0")

    # Filtering as one types, Escape closing, and typing again opening it.
    box.press_sequentially("u")
    expect(options.locator(".canned-code")).to_have_text(["/refund"])
    box.press("Escape")
    expect(page.locator("#canned-list")).to_be_hidden()
    expect(box).to_have_value("/refu")
    box.press("Backspace")
    expect(options).to_have_count(2)

    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(options.nth(0)).to_have_attribute("aria-selected", "false")
    box.press("ArrowUp")
    box.press("ArrowUp")  # wraps round to the last
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    box.press("Enter")  # inserts, and does not send
    expect(page.locator("#canned-list")).to_be_hidden()
    expect(box).to_have_value(FILLED)
    expect(page.locator("#room .msg.ours")).to_have_count(0)

    box.press("Enter")
    expect(page.locator("#room .msg.ours .body")).to_have_text(FILLED)
    history = visitor.ok("GET", f"/api/chat/rooms/{room_id}/messages")["data"]
    assert [(m["sender_role"], m["body"]) for m in history][-1] == ("admin", FILLED)

    # The visitor's widget shows the filled-in text.
    widget = visitor_page(pages, visitor)
    widget.locator("chatapp-widget .launcher").click()
    expect(widget.locator("chatapp-widget .msg.theirs .body").last).to_have_text(FILLED)

    # A click inserts too; with nothing matching, Enter sends what was typed.
    box.press_sequentially("/referral")
    page.locator("#canned-list [role=option]").first.click()
    expect(box).to_have_value("Our referral programme: ...")
    box.fill("")
    box.press_sequentially("/nothing-like-this")
    expect(page.locator(".canned-empty")).to_have_text("No canned reply matches /nothing-like-this")
    box.press("Escape")
    expect(page.locator(".canned-empty")).to_be_hidden()


def test_personal_replies_are_managed_in_the_dialog_and_stay_the_agents_own(pages: Pages, stack: Stack) -> None:
    _, carol = stack.new_admin("Carol Own")
    page = pages.admin("/admin/chat", api=carol)
    page.get_by_role("button", name="Canned replies").click()
    dialog = page.locator("#canned-dialog")
    dialog.get_by_label("Code (typed after /)").fill("sig")
    dialog.get_by_label("Text", exact=True).fill("Best regards, {{agent.name}}")
    dialog.get_by_label("Who can use it").select_option("personal")
    dialog.get_by_role("button", name="Save").click()
    item = dialog.locator("#canned-personal .canned-item[data-code='sig']")
    expect(item).to_contain_text("Best regards, {{agent.name}}")

    # Edit it, then delete it.
    item.get_by_role("button", name="Edit /sig").click()
    expect(dialog.get_by_label("Text")).to_have_value("Best regards, {{agent.name}}")
    dialog.get_by_label("Text", exact=True).fill("Kind regards, {{agent.name}}")
    dialog.get_by_role("button", name="Save").click()
    expect(item.locator(".canned-body")).to_have_text("Kind regards, {{agent.name}}")
    mine = [r for r in carol.ok("GET", "/api/admin/canned-replies")["data"] if r["code"] == "sig"]
    assert [(r["scope"], r["owner_id"], r["body"]) for r in mine] == [
        ("personal", carol.id, "Kind regards, {{agent.name}}")]
    assert "sig" not in [r["code"] for r in stack.admin.ok("GET", "/api/admin/canned-replies")["data"]]

    item.get_by_role("button", name="Delete /sig").click()
    expect(item).to_have_count(0)
    expect(dialog.locator("#canned-personal + p")).to_have_text("No personal replies yet.")
    assert "sig" not in [r["code"] for r in carol.ok("GET", "/api/admin/canned-replies")["data"]]


def test_the_dialog_and_the_open_list_pass_axe(pages: Pages, stack: Stack) -> None:
    _, visitor = stack.new_user("Axel Audit")
    room_id = visitor.send("Checking")["room"]["id"]
    stack.admin.ok("POST", "/api/admin/canned-replies", {"code": "audit", "body": "Audited, {{visitor.name}}."})
    page = pages.admin(f"/admin/chat/{room_id}", bypass_csp=True)  # axe is an inline script
    page.get_by_role("button", name="Canned replies").click()
    expect(page.locator("#canned-team .canned-item[data-code='audit']")).to_be_visible()
    assert_accessible(page)
    page.locator("#canned-close").click()
    box = page.get_by_role("textbox", name="Message")
    box.press_sequentially("/aud")
    expect(page.locator("#canned-list [role=option]")).to_have_count(1)
    assert_accessible(page)
    box.press("Tab")
    expect(box).to_have_value("Audited, Axel Audit.")


def test_the_dialog_and_the_list_leave_no_untranslated_string(pages: Pages, stack: Stack) -> None:
    _, visitor = stack.new_user("Petra Pseudo")
    room_id = visitor.send("Translate me")["room"]["id"]
    stack.admin.ok("POST", "/api/admin/canned-replies", {"code": "pseudo", "body": "Hello {{visitor.name}}"})
    context = pages.context()
    context.add_init_script(f"localStorage.setItem('chatapp.admin.token', {stack.admin.token!r});")
    page = pages.page(None, context)
    serve_pseudo_locale(page)
    page.goto(f"{stack.url}/admin/chat/{room_id}")
    page.wait_for_selector("#inbox[data-ready='true']")
    page.locator("#canned-button").click()
    expect(page.locator("#canned-team .canned-item[data-code='pseudo']")).to_be_visible()
    page.locator("#canned-save").click()  # an empty form: the error is translated too
    expect(page.locator("#canned-error")).not_to_be_empty()
    assert untranslated(page) == [], "the canned replies dialog"
    page.locator("#canned-close").click()
    box = page.locator("#reply-input")
    box.press_sequentially("/pse")
    expect(page.locator("#canned-list [role=option]")).to_have_count(1)
    assert untranslated(page) == [], "the list in the composer"
    box.press_sequentially("x")
    expect(page.locator(".canned-empty")).to_be_visible()
    assert untranslated(page) == [], "nothing matches"
