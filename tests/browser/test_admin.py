"""The admin panel: sign-in, the inbox, one conversation and its actions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Playwright, expect

from tests.browser.conftest import (
    ADMIN_PASSWORD,
    CHROMIUM,
    CHROMIUM_ARGS,
    USER_PASSWORD,
    Pages,
    Stack,
    screenshot,
    wait_until,
)

pytestmark = pytest.mark.browser


def test_admin_signs_in_sees_the_chat_opens_it_and_replies(pages: Pages, stack: Stack) -> None:
    """The brief's test 2, through the real login form."""
    customer_email, user = stack.new_user("Marta Buyer")
    room_id = user.send("My parcel arrived damaged")["room"]["id"]

    page = pages.page("/admin/chat")
    page.wait_for_url("**/admin/login?**")
    page.fill("#login-email", customer_email)
    page.fill("#login-password", USER_PASSWORD)
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text("That account is not a support admin.")
    page.fill("#login-email", stack.admin_email)
    page.fill("#login-password", "wrong-password")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text("E-mail or password is wrong")
    screenshot(page, "admin-login")
    page.fill("#login-password", ADMIN_PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{stack.url}/admin/chat")

    row = page.locator(f".room-item[data-id='{room_id}']")
    expect(row).to_contain_text("Marta Buyer")
    expect(row).to_contain_text("My parcel arrived damaged")
    expect(row.locator(".unread-badge")).to_have_text("1")
    row.locator("a").click()
    expect(page).to_have_url(f"{stack.url}/admin/chat/{room_id}")
    expect(page.locator("#room-title")).to_have_text("Marta Buyer")
    expect(page.locator("#room .msg.theirs .body")).to_have_text("My parcel arrived damaged")
    expect(row.locator(".unread-badge")).to_be_hidden()
    expect(page.locator(".details")).to_contain_text(customer_email)

    box = page.get_by_role("textbox", name="Message")
    box.fill("Sorry about that! A replacement ships today.")
    box.press("Enter")
    expect(page.locator("#room .msg.ours .body")).to_have_text("Sorry about that! A replacement ships today.")
    expect(page.locator("#room .msg.ours .status")).to_have_text(" · Sent")

    history = user.ok("GET", f"/api/chat/rooms/{room_id}/messages")["data"]
    assert [(m["sender_role"], m["body"]) for m in history] == [
        ("user", "My parcel arrived damaged"),
        ("admin", "Sorry about that! A replacement ships today."),
    ]
    room = stack.admin.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]
    assert room["status"] == "assigned" and room["assigned_admin"]["id"] == stack.admin.id
    assert user.ok("GET", "/api/chat/unread")["unread_count"] == 1
    expect(page.locator("#room .room-sub")).to_contain_text("assigned to you")
    screenshot(page, "admin-conversation")


def test_filters_and_stats_follow_assign_urgent_resolve_close_reopen(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Filip Filters")
    room_id = user.send("Where is the blue kettle? zebrafinch")["room"]["id"]
    page = pages.admin("/admin/chat")
    names = ("open", "assigned", "unassigned", "urgent", "unread", "mine")
    api_keys = {"unread": "unread_messages"}

    def shown() -> dict[str, int]:
        return {n: int(page.locator(f"#stat-{n}").inner_text()) for n in names}

    def from_api() -> dict[str, int]:
        stats = stack.admin.ok("GET", "/api/admin/chat/stats")["stats"]
        return {n: stats[api_keys.get(n, n)] for n in names}

    def settled() -> dict[str, int]:
        """The panel's numbers once they match the server's (they update live)."""
        return wait_until(lambda: (s := shown()) == from_api() and s, what="live stats")

    def filters_with_room() -> set[str]:
        found = set()
        for name in ("open", "unassigned", "assigned", "mine", "urgent", "unread", "resolved", "closed", "all"):
            page.click(f"#filters [data-filter='{name}']")
            page.wait_for_selector(f"#inbox[data-shown='{name}|']", state="attached")
            if page.locator(f".room-item[data-id='{room_id}']").count():
                found.add(name)
        return found

    before = settled()
    assert filters_with_room() == {"open", "unassigned", "unread", "all"}
    page.click("#filters [data-filter='open']")
    page.locator(f".room-item[data-id='{room_id}'] a").click()
    expect(page.locator("#room-title")).to_have_text("Filip Filters")

    page.click("[data-action='assign']")
    expect(page.locator("#room .room-sub")).to_contain_text("assigned to you")
    expect(page.locator("[data-action='assign']")).to_be_hidden()
    after = settled()
    assert (after["assigned"], after["unassigned"], after["mine"]) == (
        before["assigned"] + 1, before["unassigned"] - 1, before["mine"] + 1)
    assert after["unread"] == before["unread"] - 1, "opening the chat read its message"
    assert filters_with_room() == {"open", "assigned", "mine", "all"}

    page.click("[data-action='priority']")
    expect(page.locator("[data-action='priority']")).to_have_attribute("aria-pressed", "true")
    assert settled()["urgent"] == before["urgent"] + 1
    assert filters_with_room() == {"open", "assigned", "mine", "urgent", "all"}
    expect(page.locator(f".room-item[data-id='{room_id}']")).to_have_class(re.compile(r"\burgent\b"))
    screenshot(page, "admin-urgent")

    page.click("[data-action='resolve']")
    expect(page.locator("#room .room-sub")).to_contain_text("resolved")
    resolved = settled()
    assert (resolved["open"], resolved["assigned"], resolved["urgent"], resolved["mine"]) == (
        before["open"] - 1, before["assigned"], before["urgent"], before["mine"])
    assert filters_with_room() == {"resolved", "all"}
    expect(page.locator("#room .msg.system").last).to_contain_text("resolved the chat")

    page.click("[data-action='close']")
    expect(page.locator("#room .room-sub")).to_contain_text("closed")
    expect(page.get_by_role("textbox", name="Message")).to_be_disabled()
    assert filters_with_room() == {"closed", "all"}

    page.click("[data-action='reopen']")
    expect(page.locator("#room .room-sub")).to_contain_text("assigned")
    expect(page.get_by_role("textbox", name="Message")).to_be_enabled()
    reopened = settled()
    assert (reopened["open"], reopened["urgent"], reopened["mine"]) == (
        before["open"], before["urgent"] + 1, before["mine"] + 1)
    assert filters_with_room() == {"open", "assigned", "mine", "urgent", "all"}

    page.click("[data-action='unassign']")
    expect(page.locator("#room .room-sub")).to_contain_text("unassigned")
    assert "unassigned" in filters_with_room()

    # Search: a word from the message finds exactly this chat; nonsense finds nothing.
    page.click("#filters [data-filter='all']")
    page.fill("#search", "zebrafinch")
    page.wait_for_selector("#inbox[data-shown='all|zebrafinch']", state="attached")
    assert page.locator(".room-item").evaluate_all("(rows) => rows.map((r) => Number(r.dataset.id))") == [room_id]
    page.fill("#search", "no-such-words-anywhere")
    page.wait_for_selector("#inbox[data-shown='all|no-such-words-anywhere']", state="attached")
    expect(page.locator(".room-item")).to_have_count(0)
    expect(page.locator("#rooms-empty")).to_be_visible()


BACKGROUND_TAB = """
// Lets the test put this tab in the background, and records what the page asks the browser for.
window.__background = false;
Object.defineProperty(Document.prototype, 'visibilityState', { get: () => (window.__background ? 'hidden' : 'visible') });
Document.prototype.hasFocus = function () { return !window.__background; };
window.__notifications = [];
const RealNotification = window.Notification;
window.Notification = class extends RealNotification {
  constructor(title, options) { super(title, options); window.__notifications.push({ title, body: options && options.body }); }
};
const showNotification = ServiceWorkerRegistration.prototype.showNotification;
ServiceWorkerRegistration.prototype.showNotification = function (title, options) {
  window.__notifications.push({ title, body: options && options.body });
  return showNotification.call(this, title, options);
};
window.__tones = 0;
const createOscillator = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () { window.__tones += 1; return createOscillator.call(this); };
"""


def test_new_chats_notify_in_app_with_sound_and_in_the_background_with_a_browser_notification(
    pages: Pages, stack: Stack
) -> None:
    context = pages.context(permissions=["notifications"])
    context.add_init_script(f"localStorage.setItem('chatapp.admin.token', {stack.admin.token!r});")
    context.add_init_script(BACKGROUND_TAB)
    page = pages.page("/admin/chat", context)
    page.wait_for_selector("#inbox[data-ready='true']")
    expect(page.locator(".connection")).to_have_text("Live")
    expect(page.locator("#notify-button")).to_have_text(re.compile("^Notifications on"))
    registration = page.evaluate(
        "async () => { const r = await navigator.serviceWorker.getRegistration('/admin/'); return r && r.scope; }")
    assert registration == f"{stack.url}/admin/"

    # In front: a toast and a chime, no system notification.
    _, user = stack.new_user("Nadia New")
    room_id = user.send("Is the red parka back in stock?")["room"]["id"]
    toast = page.locator(f".toast[data-room='{room_id}']")
    expect(toast).to_contain_text("New chat from Nadia New")
    expect(toast).to_contain_text("Is the red parka back in stock?")
    assert page.evaluate("() => window.__tones") == 2  # one chime: two tones
    assert page.evaluate("() => window.__notifications") == []

    # In the background: the browser notification too.
    page.evaluate("() => { window.__background = true; }")
    user.send("Hello? Anyone?")
    wait_until(lambda: page.evaluate("() => window.__notifications.length") == 1, what="browser notification")
    assert page.evaluate("() => window.__notifications") == [{"title": "Nadia New", "body": "Hello? Anyone?"}]
    assert page.evaluate("() => window.__tones") == 4

    # Muted: no chime; the toast's link opens the conversation.
    page.evaluate("() => { window.__background = false; }")
    page.click("#sound-button")
    expect(page.locator("#sound-button")).to_have_attribute("aria-pressed", "false")
    user.send("Third message")
    expect(page.locator(f".toast[data-room='{room_id}']").last).to_contain_text("Third message")
    assert page.evaluate("() => window.__tones") == 4
    page.locator(f".toast[data-room='{room_id}']").last.get_by_role("link", name="Open").click()
    expect(page).to_have_url(f"{stack.url}/admin/chat/{room_id}")
    expect(page.locator("#room .msg.theirs .body")).to_have_text(
        ["Is the red parka back in stock?", "Hello? Anyone?", "Third message"])


def test_web_push_reaches_the_service_worker_when_no_panel_is_open(
    playwright: Playwright, stack: Stack, tmp_path: Path
) -> None:
    """A push message, as the backend sends it, shows a notification from the service worker.

    Chromium has no Push API in incognito contexts, so this one test uses a browser profile.
    """
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, permissions=["notifications"])
    try:
        context.add_init_script(f"localStorage.setItem('chatapp.admin.token', {stack.admin.token!r});")
        page = context.new_page()
        page.goto(f"{stack.url}/admin/chat")
        page.wait_for_selector("#inbox[data-ready='true']")
        page.evaluate("() => navigator.serviceWorker.ready")
        worker = context.service_workers[0]
        assert worker.url == f"{stack.url}/admin/sw.js"
        cdp = context.new_cdp_session(page)
        registrations: list[dict[str, str]] = []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
        cdp.send("ServiceWorker.enable")
        for _ in range(200):  # CDP events arrive while Playwright is being called
            if any(r["scopeURL"] == f"{stack.url}/admin/" for r in registrations):
                break
            page.wait_for_timeout(50)
        registration_id = next(r["registrationId"] for r in registrations if r["scopeURL"] == f"{stack.url}/admin/")
        payload = {"title": "Urgent: Oleh", "body": "My card was charged twice", "room_id": 7,
                   "url": "/admin/chat/7", "tag": "chat-7"}
        page.goto("about:blank")  # no panel open any more: only the service worker is left
        cdp.send("ServiceWorker.deliverPushMessage",
                 {"origin": stack.url, "registrationId": registration_id, "data": json.dumps(payload)})
        shown: list[dict[str, str]] = []
        for _ in range(200):  # poll through Playwright (a worker woken by the push waits for it to attach)
            page.wait_for_timeout(50)
            shown = worker.evaluate("self.registration.getNotifications()"
                                    ".then((all) => all.map((n) => ({title: n.title, body: n.body, url: n.data.url, tag: n.tag})))")
            if shown:
                break
        assert shown == [{"title": "Urgent: Oleh", "body": "My card was charged twice", "url": "/admin/chat/7",
                          "tag": "chat-7"}]
    finally:
        context.close()
