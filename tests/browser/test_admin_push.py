"""The panel's Web Push subscription when its browser's endpoint still belongs to someone else.

Headless Chromium cannot reach a real push service, so the page's ``PushManager`` hands out
subscriptions with real P-256 keys for endpoints the test chose; everything past it (the
panel's code, chatapp's API and database) is the real thing.
"""

from __future__ import annotations

import json
import secrets
import time

from playwright.sync_api import expect

from tests.browser.conftest import Pages, Stack
from tests.helpers.procs import TIME_FACTOR

FAKE_PUSH_SERVICE = """
(() => {
  const [taken, fresh] = %s;
  const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  async function subscription(endpoint) {
    const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
    const keys = { p256dh: b64(await crypto.subtle.exportKey('raw', pair.publicKey)),
                   auth: b64(crypto.getRandomValues(new Uint8Array(16))) };
    return {
      endpoint,
      toJSON: () => ({ endpoint, keys }),
      unsubscribe: async () => { window.__push.unsubscribed.push(endpoint); current = null; return true; },
    };
  }
  window.__push = { unsubscribed: [], subscribed: [] };
  let current;  // this browser already holds a subscription: the one another account registered
  const manager = {
    getSubscription: async () => (current === undefined ? (current = await subscription(taken)) : current),
    subscribe: async () => { window.__push.subscribed.push(fresh); return (current = await subscription(fresh)); },
  };
  window.PushManager = window.PushManager || function PushManager() {};
  Object.defineProperty(ServiceWorkerRegistration.prototype, 'pushManager', { get: () => manager, configurable: true });
})();
"""


def push_json(endpoint: str) -> dict[str, object]:
    """A subscription body for ``endpoint`` as another browser would send it (keys are never used here)."""
    return {"endpoint": endpoint, "keys": {"p256dh": "B" + "A" * 86, "auth": "A" * 22}}


def test_the_panel_takes_a_new_endpoint_when_its_browser_s_one_belongs_to_another_account(
    pages: Pages, stack: Stack
) -> None:
    taken, fresh = (f"http://127.0.0.1:9/push/{secrets.token_hex(8)}" for _ in range(2))
    _, before = stack.new_user("Who Used This Browser Before")
    before.ok("POST", "/api/push/subscriptions", push_json(taken), status=201)

    context = pages.context(permissions=["notifications"])
    context.add_init_script(f"localStorage.setItem('chatapp.admin.token', {stack.admin.token!r});")
    context.add_init_script(FAKE_PUSH_SERVICE % json.dumps([taken, fresh]))
    answers: list[int] = []
    context.on("response", lambda r: answers.append(r.status) if r.url.endswith("/api/push/subscriptions") else None)
    page = pages.page("/admin/chat", context)
    page.wait_for_selector("#inbox[data-ready='true']")
    expect(page.locator("#notify-button")).to_have_text("Notifications on")

    # Playwright delivers the response events while it runs, so wait with the page, not time.sleep.
    deadline = time.monotonic() + 15 * TIME_FACTOR
    while len(answers) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert answers == [409, 201], f"the taken endpoint refused, then a new one saved: {answers}"
    assert page.evaluate("() => window.__push") == {"unsubscribed": [taken], "subscribed": [fresh]}
    _, someone_else = stack.new_user("Someone Else")
    assert someone_else.post("/api/push/subscriptions", push_json(fresh)).status_code == 409, "now the admin's"
    assert before.post("/api/push/subscriptions", push_json(taken)).status_code == 201, "still its owner's"
