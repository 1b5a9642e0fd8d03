"""What the panel tells support about accounts: sign-in lockouts."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, Stack, screenshot
from tests.chatapp.procs import Api

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
