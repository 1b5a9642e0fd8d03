"""axe-core (npm, chatapp/web devDependencies) on the widget and the panel: no serious or
critical violation, light and dark; and the panel used with the keyboard alone."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from chatapp.pages import WEB_DIR
from tests.browser.conftest import ADMIN_PASSWORD, Pages, Stack, visitor_page

pytestmark = pytest.mark.browser

AXE = WEB_DIR / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def violations(page: Page) -> list[str]:
    """axe's serious and critical findings on the whole page, shadow roots included."""
    if not page.evaluate("() => Boolean(window.axe)"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async (blocking) => {
            const result = await axe.run(document, { resultTypes: ['violations'] });
            return result.violations.filter((v) => blocking.includes(v.impact)).map((v) =>
              `${v.impact} ${v.id}: ${v.help} -> ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
        }""",
        list(BLOCKING),
    )
    return list(found)


def assert_accessible(page: Page) -> None:
    found = violations(page)
    assert not found, "\n".join(found)


def audit_context(pages: Pages, **options: object) -> BrowserContext:
    # axe is injected as an inline script, which chatapp's own pages' CSP would (rightly) refuse.
    return pages.context(bypass_csp=True, **options)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_widget_closed_open_and_with_messages(pages: Pages, stack: Stack, scheme: str) -> None:
    _, user = stack.new_user("Ada Audit")
    room_id = user.send("Where is my order?")["room"]["id"]
    stack.admin.post(f"/api/admin/chat/rooms/{room_id}/messages", {"body": "It ships tomorrow."})
    page = visitor_page(pages, user, audit_context(pages, color_scheme=scheme))
    assert_accessible(page)
    page.locator("chatapp-widget .launcher").click()
    expect(page.locator("chatapp-widget .msg.theirs .body")).to_have_text("It ships tomorrow.")
    assert_accessible(page)
    page.locator("chatapp-widget textarea").fill("Thanks!")
    page.keyboard.press("Enter")
    expect(page.locator("chatapp-widget .msg.ours .body").last).to_have_text("Thanks!")
    assert_accessible(page)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_panel_login_inbox_and_conversation(pages: Pages, stack: Stack, scheme: str) -> None:
    _, user = stack.new_user("Ben Browser")
    room_id = user.send("The zip on my jacket broke")["room"]["id"]
    login = pages.page("/admin/login", audit_context(pages, color_scheme=scheme))
    expect(login.locator("#login-email")).to_be_visible()
    assert_accessible(login)

    page = pages.admin(bypass_csp=True, color_scheme=scheme)
    expect(page.locator(f".room-item[data-id='{room_id}']")).to_be_visible()
    assert_accessible(page)
    page.locator(f".room-item[data-id='{room_id}'] a").click()
    expect(page.locator("#room .msg.theirs .body")).to_have_text("The zip on my jacket broke")
    assert_accessible(page)


def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until ``selector`` has the focus (as a keyboard user would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    focused = page.evaluate("() => { const e = document.activeElement; return e ? e.outerHTML.slice(0, 200) : null; }")
    raise AssertionError(f"Tab never reached {selector}; the focus is on {focused}")


def test_panel_inbox_and_reply_with_the_keyboard_alone(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Kim Keyboard")
    room_id = user.send("Can I change my delivery address?")["room"]["id"]
    page = pages.page("/admin/login")
    page.locator("#login-email").focus()
    page.keyboard.type(stack.admin_email)
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{stack.url}/admin/chat")
    page.wait_for_selector("#inbox[data-ready='true']")
    expect(page.locator(f".room-item[data-id='{room_id}'] a")).to_be_visible()  # what a keyboard user tabs to

    tab_to(page, f".room-item[data-id='{room_id}'] a")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{stack.url}/admin/chat/{room_id}")
    expect(page.locator("#room .msg.theirs .body")).to_have_text("Can I change my delivery address?")
    tab_to(page, "#room textarea")
    page.keyboard.type("Yes, reply with the new one.")
    page.keyboard.press("Enter")
    expect(page.locator("#room .msg.ours .body")).to_have_text("Yes, reply with the new one.")
    history = user.ok("GET", f"/api/chat/rooms/{room_id}/messages")["data"]
    assert [m["body"] for m in history] == ["Can I change my delivery address?", "Yes, reply with the new one."]
