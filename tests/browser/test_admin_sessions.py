"""The panel's own account: sign out, sign out everywhere, change the password.

Each test signs its own admin in (twice where two devices are needed), since the
tests revoke that admin's tokens.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ADMIN_PASSWORD, Pages, Stack, screenshot
from tests.chatapp.procs import Api

pytestmark = pytest.mark.browser


def second_device(stack: Stack, email: str, password: str = ADMIN_PASSWORD) -> Api:
    doc = Api(stack.url).ok("POST", "/api/auth/login", {"email": email, "password": password})
    return Api(stack.url, doc["token"], doc["user"])


def signed_in(pages: Pages, api: Api) -> Page:
    """The panel with ``api``'s token stored once (an init script would put it back on every page)."""
    page = pages.page("/admin/login")
    page.evaluate("token => localStorage.setItem('chatapp.admin.token', token)", api.token)
    page.goto(f"{pages.stack.url}/admin/chat")
    page.wait_for_selector("#inbox[data-ready='true']")
    return page


def live(page: Page) -> None:
    expect(page.locator("#connection")).to_have_attribute("data-status", "connected")
    expect(page.locator("#agents")).to_contain_text("online")  # joined presence-admins as this admin


def two_browsers(pages: Pages, stack: Stack, name: str) -> tuple[str, Api, Api, Page, Page]:
    """One admin signed in twice (two sessions), each in its own live browser context."""
    email, admin = stack.new_admin(name)
    other = second_device(stack, email)
    here, there = signed_in(pages, admin), signed_in(pages, other)
    live(here)
    live(there)
    return email, admin, other, here, there


def assert_refused(api: Api) -> None:
    response = api.get("/api/auth/me")
    assert response.status_code == 401 and response.json()["error"] == "token_revoked", response.text


def kicked_to_login(page: Page) -> None:
    page.wait_for_url("**/admin/login?**")
    expect(page.locator("#login-error")).to_have_text("You were signed out. Please sign in again.")
    assert page.evaluate("localStorage.getItem('chatapp.admin.token')") is None


def test_sign_out_returns_to_login_and_the_token_is_refused(pages: Pages, stack: Stack) -> None:
    email, admin = stack.new_admin("Olga Out")
    page = signed_in(pages, admin)
    live(page)
    page.get_by_role("button", name="Sign out", exact=True).click()
    # Its own socket is ended too: the click's answer or the ended socket, whichever comes first,
    # takes it to the login page once (the latter with a reason in the query).
    page.wait_for_url(re.compile(re.escape(f"{stack.url}/admin/login") + r"(\?.*)?$"))
    assert page.evaluate("localStorage.getItem('chatapp.admin.token')") is None
    assert_refused(admin)
    page.goto(f"{stack.url}/admin/chat")
    page.wait_for_url("**/admin/login?**")


def test_sign_out_everywhere_ends_the_other_browser(pages: Pages, stack: Stack) -> None:
    _, admin, other, here, there = two_browsers(pages, stack, "Eve Everywhere")

    here.get_by_role("button", name="Sign out everywhere").click()
    # This browser's own socket is ended too: whichever comes first, the answer to the click or
    # the refused reconnect, takes it to the login page (the latter with a reason in the query).
    here.wait_for_url(re.compile(re.escape(f"{stack.url}/admin/login") + r"(\?.*)?$"))
    # The other browser asks nothing by itself: its socket is ended, and reconnecting with
    # the revoked token is refused, which takes it to the login page.
    kicked_to_login(there)
    screenshot(there, "admin-signed-out-elsewhere")
    assert_refused(admin)
    assert_refused(other)


def test_password_change_ends_the_other_browser_and_keeps_this_one(pages: Pages, stack: Stack) -> None:
    email, admin, other, here, there = two_browsers(pages, stack, "Paul Password")

    here.get_by_role("button", name="Change password").click()
    dialog = here.locator("#password-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Current password").fill("not-the-password")
    dialog.get_by_label("New password (at least 8 characters)").fill("a better password")
    dialog.get_by_label("New password again").fill("a better password")
    dialog.get_by_role("button", name="Change password").click()
    expect(here.locator("#password-error")).to_have_text("The current password is wrong")
    screenshot(here, "admin-change-password")
    dialog.get_by_label("Current password").fill(ADMIN_PASSWORD)
    dialog.get_by_label("New password again").fill("a different one")
    dialog.get_by_role("button", name="Change password").click()
    expect(here.locator("#password-error")).to_have_text("The new passwords do not match.")
    live(there)  # nothing was changed yet

    dialog.get_by_label("New password again").fill("a better password")
    dialog.get_by_role("button", name="Change password").click()
    expect(dialog).to_be_hidden()
    expect(here.locator("#account-notice")).to_have_text("Password changed. Every other device has been signed out.")

    kicked_to_login(there)
    assert_refused(other)
    assert_refused(admin)
    # This browser keeps working with its new token: live again after its socket was ended, and after a reload.
    live(here)
    here.reload()
    here.wait_for_selector("#inbox[data-ready='true']")
    live(here)
    assert here.url.startswith(f"{stack.url}/admin/chat")
    second_device(stack, email, "a better password")
