"""E-mail verification in the browser: the store's sign-up says "check your e-mail", the mailed link opens a
page in the customer's language, and the panel's "unverified" badge goes while the agent looks at it."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from chatapp.i18n import Catalogues
from tests.browser.conftest import USER_PASSWORD, Pages, Stack, mail_env, running_stack
from tests.chatapp.procs import Api
from tests.helpers.smtp import SmtpSink

pytestmark = pytest.mark.browser

CATALOGUES = Catalogues()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpSink) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, mail_env(smtp))


def test_sign_up_then_the_link_verifies_in_the_customers_language(pages: Pages, stack: Stack,
                                                                   smtp: SmtpSink) -> None:
    email = f"oksana-{secrets.token_hex(3)}@example.test"
    page = pages.page("/", locale="uk-UA")
    page.fill("#signin-email", email)
    page.fill("#signin-password", USER_PASSWORD)
    page.click("#register-button")
    note = page.locator("#verify-note")
    expect(note).to_have_text(re.compile(f"Check your e-mail: we sent a link to confirm {re.escape(email)}"))
    resend = page.get_by_role("button", name="Send the link again")
    resend.click()
    expect(note).to_contain_text("Sent again")
    first, _again = smtp.wait_for(email, count=2)
    assert str(first["Subject"]) == CATALOGUES.text("uk", "mail.verify.subject")  # the browser's language
    text = first.get_body(preferencelist=("plain",))
    assert text is not None
    link = re.search(r"http://\S+/api/auth/email/verify\?token=[\w-]+", str(text.get_content()))
    assert link is not None

    # support looks at the customer's chat: the address is marked unverified until the link is opened
    session = page.evaluate("JSON.parse(localStorage.getItem('northwind.session'))")
    customer = Api(stack.url, session["token"])
    room_id = customer.send("Is my address right?")["room"]["id"]
    panel = pages.admin(f"/admin/chat/{room_id}")
    details = panel.locator(".details")
    expect(details).to_contain_text(email)
    expect(details.locator(".chip.unverified")).to_have_count(1)

    mailed = pages.page(None, locale="en-GB")  # opened from a mail client set to English
    mailed.goto(link.group(0))
    expect(mailed.locator("html")).to_have_attribute("lang", "uk")
    expect(mailed.get_by_role("heading")).to_have_text(CATALOGUES.text("uk", "verify.title"))
    expect(mailed.locator("#verify-result")).to_have_text(CATALOGUES.text("uk", "verify.ok", {"email": email}))
    expect(details.locator(".chip.unverified")).to_have_count(0)  # live: no reload

    mailed.reload()
    expect(mailed.locator("#verify-result")).to_have_text(CATALOGUES.text("uk", "verify.token_used"))
    page.reload()
    expect(note).to_be_hidden()  # the store asks: verified now
