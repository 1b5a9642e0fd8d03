"""What the panel tells support about accounts: sign-in lockouts, unverified e-mail addresses."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from chatapp.identity import sign_identity_token
from tests.browser.conftest import Pages, Stack, screenshot
from tests.chatapp.procs import IDENTITY_SECRET, Api

pytestmark = pytest.mark.browser


def test_the_panel_lists_recent_sign_in_lockouts(pages: Pages, stack: Stack) -> None:
    email, _ = stack.new_user("Locked Lena")
    anon = Api(stack.url)
    page = pages.admin("/admin/chat")
    expect(page.locator("#lockouts")).to_be_hidden()  # nothing to report yet

    statuses = [anon.post("/api/auth/login", {"email": email, "password": f"wrong-guess-{i}"}).status_code
                for i in range(6)]
    assert statuses == [401] * 5 + [429]

    page.reload()
    page.wait_for_selector("#inbox[data-ready='true']")
    lockouts = page.locator("#lockouts")
    expect(lockouts).to_be_visible()
    expect(page.locator("#lockouts-summary")).to_have_text("1 sign-in lockout recently")
    page.locator("#lockouts-summary").click()
    entry = page.locator(f"#lockouts-list li[data-account='{email}']")
    expect(entry).to_contain_text(f"{email}: 5 failed sign-ins from 127.0.0.1")
    screenshot(page, "admin-lockouts")


def test_an_unverified_email_is_marked_in_the_customer_details(pages: Pages, stack: Stack) -> None:
    email, signed_up = stack.new_user("Sam Signup")
    unverified_room = signed_up.send("I typed my address at sign-up")["room"]["id"]
    site_email = f"site-{time.time_ns()}@shop.test"
    token = sign_identity_token(IDENTITY_SECRET, {"sub": f"b-{time.time_ns()}", "name": "Vera Verified",
                                                  "email": site_email, "exp": int(time.time()) + 600})
    doc = Api(stack.url).ok("POST", "/api/auth/identity", {"identity": token})
    verified_room = Api(stack.url, doc["token"]).send("The shop vouches for me")["room"]["id"]

    page = pages.admin(f"/admin/chat/{unverified_room}")
    details = page.locator(".details")
    expect(details).to_contain_text(email)
    badge = details.locator(".chip.unverified")
    expect(badge).to_have_text("unverified")
    expect(details).not_to_contain_text("Registered customer")
    screenshot(page, "admin-unverified-email")

    page.goto(f"{stack.url}/admin/chat/{verified_room}")
    expect(details).to_contain_text(site_email)
    expect(details.locator(".chip.unverified")).to_have_count(0)
