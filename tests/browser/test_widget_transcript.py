"""The widget's "E-mail me the transcript": shown only when e-mail is on and the visitor has an address,
and the mail reaches a real SMTP server (aiosmtpd, started here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Pages, Stack, mail_env, running_stack, visitor_page
from tests.chatapp.procs import Api
from tests.helpers.smtp import SmtpSink

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpSink) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, mail_env(smtp))


def test_the_transcript_button_mails_the_conversation(pages: Pages, stack: Stack, smtp: SmtpSink) -> None:
    email, user = stack.new_user("Tina Transcript")
    room_id = user.send("Do you ship to Lviv?")["room"]["id"]
    stack.admin.post(f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Yes, in three days."})
    page = visitor_page(pages, user)
    page.locator("chatapp-widget .launcher").click()
    expect(page.locator("chatapp-widget .msg .body")).to_have_text(["Do you ship to Lviv?", "Yes, in three days."])
    button = page.get_by_role("button", name="E-mail me the transcript")
    button.click()
    expect(page.locator("chatapp-widget .foot button:disabled")).to_have_text("✓")
    verification, mail = smtp.wait_for(email, count=2)  # the sign-up's verification link came first
    assert str(verification["Subject"]) == "Confirm your e-mail address"
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    body = str(text.get_content())
    assert "Do you ship to Lviv?" in body and "Yes, in three days." in body
    assert str(mail["Subject"]) == "Transcript of your conversation with support"


def test_no_button_without_an_address(pages: Pages, stack: Stack) -> None:
    guest = Api.guest(stack.url, "Gina Guest")
    guest.send("hello")
    page = visitor_page(pages, guest)
    page.locator("chatapp-widget .launcher").click()
    expect(page.locator("chatapp-widget .msg .body")).to_have_text(["hello"])
    expect(page.get_by_role("button", name="E-mail me the transcript")).to_be_hidden()


def test_the_panel_says_when_mail_is_off(pages: Pages, browser: Browser,
                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    page = pages.admin()
    expect(page.locator("#connection")).to_be_visible()
    expect(page.locator("#mail-off")).to_have_count(0)  # on here
    off = running_stack(tmp_path_factory, {})
    stack_off = next(off)
    other = Pages(browser, stack_off)
    try:
        panel = other.admin()
        expect(panel.locator("#mail-off")).to_have_text("E-mail off")
        assert "CHATAPP_SMTP_URL" in (panel.locator("#mail-off").get_attribute("title") or "")
        assert stack_off.admin.ok("GET", "/api/admin/status")["mail"]["enabled"] is False
    finally:
        other.close()
        off.close()
    assert not other.errors, other.errors
