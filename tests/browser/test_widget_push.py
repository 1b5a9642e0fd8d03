"""Telling a visitor who has left that support replied: Web Push through the host site's own service worker
(which imports chatapp's /widget-sw.js), else e-mail. Offered only after the visitor has written, once.

Headless Chromium cannot reach a real push service, so the page's ``PushManager`` hands out the subscription
of a local push receiver (real P-256 keys, an endpoint the test chose); everything else is the real thing:
the widget's offer, the permission, the registration of the site's worker, chatapp's API and database, the
encrypted push chatapp sends, and the worker showing it (delivered through the DevTools protocol).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Pages, Stack, mail_env, running_stack, screenshot, wait_until
from tests.browser.test_accessibility import assert_accessible
from tests.browser.test_widget import ShopSite
from tests.chatapp.procs import PushReceiver, decrypt_push
from tests.helpers.procs import TIME_FACTOR
from tests.helpers.smtp import SmtpSink

pytestmark = pytest.mark.browser

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Outdoor shop</title></head>
<body><h1>Outdoor shop</h1>
<script src="%(base)s/widget.js" async %(option)s></script>
</body></html>
"""
# The documented snippet: the site's own worker script, one line.
SITE_WORKER = "importScripts('%(base)s/widget-sw.js');\n"
FAKE_PUSH_SERVICE = """
(() => {
  if (!window.ServiceWorkerRegistration) return;  // about:blank
  const subscription = %s;
  window.__push = { subscribed: [] };
  let current = null;
  const b64 = (key) => btoa(String.fromCharCode(...new Uint8Array(key)))
    .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const manager = {
    getSubscription: async () => current,
    subscribe: async (options) => {
      const key = b64(options.applicationServerKey);
      window.__push.subscribed.push({ userVisibleOnly: options.userVisibleOnly, key });
      current = { endpoint: subscription.endpoint, toJSON: () => subscription, unsubscribe: async () => true };
      return current;
    },
  };
  Object.defineProperty(ServiceWorkerRegistration.prototype, 'pushManager', { get: () => manager, configurable: true });
})();
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpSink) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, mail_env(smtp))


@pytest.fixture(scope="module")
def site(stack: Stack) -> Iterator[ShopSite]:
    host = ShopSite({
        "/": HOST_PAGE % {"base": stack.url, "option": 'data-service-worker="/chat-sw.js"'},
        "/plain": HOST_PAGE % {"base": stack.url, "option": ""},
        "/chat-sw.js": ("text/javascript", SITE_WORKER % {"base": stack.url}),
    })
    try:
        yield host
    finally:
        host.close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[PushReceiver]:
    push = PushReceiver()
    try:
        yield push
    finally:
        push.close()


def open_widget(pages: Pages, context: BrowserContext, url: str) -> Page:
    page = pages.page(None, context)
    page.goto(url)
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    page.locator("chatapp-widget .launcher").click()
    expect(page.locator("chatapp-widget textarea")).to_be_focused()
    return page


def write(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")
    expect(page.locator("chatapp-widget .msg.ours .body").last).to_have_text(text)


def test_after_writing_the_visitor_turns_on_push_and_gets_the_reply(
    pages: Pages, stack: Stack, site: ShopSite, receiver: PushReceiver
) -> None:
    subscription = receiver.new_subscription()
    context = pages.context(permissions=["notifications"])
    context.add_init_script(FAKE_PUSH_SERVICE % json.dumps(subscription.to_json()))
    page = open_widget(pages, context, site.url + "/")
    offer = page.locator("chatapp-widget .push-offer")
    page.wait_for_load_state("networkidle")
    expect(offer).to_have_count(0)  # never before the visitor has written

    write(page, "Is the green tent waterproof?")
    expect(offer.get_by_text("Want to know when we reply")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "widget-push-offer")
    offer.get_by_role("button", name="Notify me").click()
    expect(offer).to_have_text("Done: we will notify you when we reply.")

    # The site's own worker is registered (and active) on the site's origin, with chatapp's key.
    worker = page.evaluate("""async () => {
        const r = await navigator.serviceWorker.getRegistration('/');
        return r && r.active ? r.active.scriptURL : null; }""")
    assert worker == site.url + "/chat-sw.js"
    vapid = stack.chat.ok_json("/api/config")["vapid_public_key"]
    assert page.evaluate("() => window.__push.subscribed") == [{"userVisibleOnly": True, "key": vapid}]
    assert page.evaluate(f"() => localStorage.getItem('chatapp.widget.push:{stack.url}')") == "push"

    # The visitor leaves; support's reply reaches the push service, encrypted for this subscription.
    [room] = stack.admin.ok("GET", "/api/admin/chat/rooms", params={"q": "green tent"})["data"]
    room_id, channel = room["id"], f"private-user.{room['user']['id']}"
    page.goto("about:blank")  # no page with the widget: chatapp finds the visitor's channel empty and pushes
    pyreverb = stack.reverb.pusher_client()
    wait_until(lambda: not pyreverb.channel_info(channel)["occupied"], what="the visitor's widget gone")
    stack.admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Yes, 3000 mm."})
    [delivery] = receiver.wait_for(subscription, timeout=20)
    payload = decrypt_push(subscription, delivery)
    assert payload["body"] == "Yes, 3000 mm." and payload["room_id"] == room_id and payload["url"] == "/?chat=open"

    # The same payload, delivered to the site's worker, shows as a notification.
    page.goto(site.url + "/")
    shown = deliver_to_worker(context, page, site.url, payload)
    assert shown == [[payload["title"], "Yes, 3000 mm.", f"chat-{room_id}"]]

    # Once answered, never offered again, and writing again keeps the subscription for this visitor.
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    page.evaluate("() => ChatWidget.open()")  # the panel stays open across the tab's pages: open() keeps it so
    write(page, "Thanks!")
    page.wait_for_load_state("networkidle")
    expect(offer).to_have_count(0)


def deliver_to_worker(context: BrowserContext, page: Page, origin: str, payload: dict[str, Any]) -> Any:
    """Push ``payload`` to the site's worker as a push service would (DevTools), and list its notifications."""
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    # Playwright hands over CDP events while it runs a call: wait with the page, not time.sleep.
    deadline = time.monotonic() + 10 * TIME_FACTOR
    found: list[dict[str, Any]] = []
    while not found and time.monotonic() < deadline:
        page.wait_for_timeout(50)
        found = [r for r in registrations if r["scopeURL"] == origin + "/" and not r["isDeleted"]]
    assert found, f"the site's worker registration, among {registrations}"
    cdp.send("ServiceWorker.deliverPushMessage",
             {"origin": origin + "/", "registrationId": found[0]["registrationId"], "data": json.dumps(payload)})
    page.wait_for_function("""async () => {
        const r = await navigator.serviceWorker.getRegistration('/');
        return (await r.getNotifications()).length > 0; }""")
    return page.evaluate("""async () => {
        const r = await navigator.serviceWorker.getRegistration('/');
        return (await r.getNotifications()).map((n) => [n.title, n.body, n.tag]); }""")


def test_a_click_on_the_notification_brings_the_site_back(pages: Pages, site: ShopSite) -> None:
    """widget-sw.js's click: a tab of the site comes to the front, else the pushed page opens on the site."""
    context = pages.context()
    page = pages.page(None, context)
    page.goto(site.url + "/")
    page.evaluate("() => navigator.serviceWorker.register('/chat-sw.js').then(() => navigator.serviceWorker.ready)")
    worker = context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")
    # A click is a user gesture Playwright cannot make on a notification: the browser's two calls are watched.
    worker.evaluate("""() => {
        self.__calls = [];
        WindowClient.prototype.focus = async function () { self.__calls.push(['focus', this.url]); return this; };
        self.clients.openWindow = async (url) => { self.__calls.push(['open', url]); return null; };
    }""")
    worker.evaluate("() => self.chatappOpenChat('/?chat=open')")
    assert worker.evaluate("() => self.__calls") == [["focus", site.url + "/"]]
    page.close()
    wait_until(lambda: not [p for p in context.pages if not p.is_closed()], what="no tab of the site")
    worker.evaluate("() => { self.__calls = []; return self.chatappOpenChat('https://elsewhere.example/steal'); }")
    assert worker.evaluate("() => self.__calls") == [["open", site.url + "/?chat=open"]], "only ever this site"


def test_a_visitor_who_says_no_is_not_asked_again(pages: Pages, site: ShopSite) -> None:
    context = pages.context(permissions=["notifications"])
    page = open_widget(pages, context, site.url + "/")
    write(page, "Just browsing")
    offer = page.locator("chatapp-widget .push-offer")
    offer.get_by_role("button", name="No thanks").click()
    expect(offer).to_have_count(0)
    expect(page.locator("chatapp-widget textarea")).to_be_focused()

    page.reload()
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    page.evaluate("() => ChatWidget.open()")
    write(page, "One more question")
    page.wait_for_load_state("networkidle")
    expect(offer).to_have_count(0)
    assert page.evaluate("() => navigator.serviceWorker.getRegistrations().then((r) => r.length)") == 0


def test_with_notifications_blocked_for_the_site_the_offer_is_e_mail(pages: Pages, site: ShopSite) -> None:
    context = pages.context()
    context.add_init_script("Object.defineProperty(Notification, 'permission', { get: () => 'denied' });")
    page = open_widget(pages, context, site.url + "/")
    write(page, "Blocked notifications here")
    offer = page.locator("chatapp-widget .push-offer")
    expect(offer.get_by_role("textbox", name="E-mail address")).to_be_visible()
    expect(offer.get_by_role("button", name="Notify me")).to_have_count(0)


def test_without_a_service_worker_the_visitor_leaves_an_address(
    pages: Pages, stack: Stack, site: ShopSite, smtp: SmtpSink
) -> None:
    page = open_widget(pages, pages.context(), site.url + "/plain")
    offer = page.locator("chatapp-widget .push-offer")
    expect(offer).to_have_count(0)
    write(page, "Can you call me back about my order?")
    expect(offer.get_by_text("Leave your e-mail address")).to_be_visible()
    assert_accessible(page)
    field = offer.get_by_role("textbox", name="E-mail address")
    field.fill("not an address")
    offer.get_by_role("button", name="Send").click()
    expect(offer.get_by_role("alert")).to_have_text("Enter an e-mail address, like name@example.com.")
    expect(field).to_have_attribute("aria-invalid", "true")
    field.fill("lea.fallback@example.test")
    field.press("Enter")
    expect(offer).to_contain_text("We will e-mail our replies to lea.fallback@example.test.")

    rooms = stack.admin.ok("GET", "/api/admin/chat/rooms", params={"q": "call me back"})["data"]
    assert rooms[0]["user"]["email"] == "lea.fallback@example.test"
    assert rooms[0]["user"]["email_verified"] is False
    [mail] = smtp.wait_for("lea.fallback@example.test")
    assert "/api/auth/email/verify?token=" in str(mail.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
