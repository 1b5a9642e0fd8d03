"""E-mail verification through a real SMTP server (aiosmtpd), on SQLite and PostgreSQL: the link mailed at
sign-up and on a change of address, used once, expiring, voided by a new address, resent at most 3 an
hour; and what a verified address changes (docs/chatapp.md, "E-mail verification")."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from chatapp.i18n import Catalogues
from tests.chatapp.procs import Api, ChatappProcess, admin_api, mail_stack
from tests.chatapp.test_shapes import Described
from tests.helpers.procs import TIME_FACTOR
from tests.helpers.smtp import SmtpSink, running_smtp

pytestmark = pytest.mark.slow  # a real SMTP server and mail delays

PASSWORD = "visitor-pass-1"
CATALOGUES = Catalogues()
LINK = re.compile(r"http://[^\s\"<>]+/api/auth/email/verify\?token=[\w-]+")


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    with running_smtp() as sink:
        yield sink


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres])])
def app(request: pytest.FixtureRequest, smtp: SmtpSink, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[ChatappProcess]:
    with mail_stack(request.param, smtp.url, tmp_path_factory.mktemp("verify")) as process:
        yield process


def address() -> str:
    return f"v-{secrets.token_hex(4)}@example.test"


def sign_up(app: ChatappProcess, email: str, language: str = "en", name: str = "Petro") -> Api:
    doc = Api(app.base_url).ok("POST", "/api/auth/register", {"email": email, "password": PASSWORD, "name": name},
                               headers={"Accept-Language": language})
    assert doc["email_verification"] == "sent" and doc["user"]["email_verified"] is False
    return Api(app.base_url, doc["token"], doc["user"])


def link_in(mail: EmailMessage) -> str:
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "a text and an HTML part"
    [link] = set(LINK.findall(str(text.get_content())))
    assert link.replace("&", "&amp;") in str(html.get_content())
    return link


def open_link(link: str, json: bool = True, language: str = "en") -> Any:
    token = link.split("token=")[1]
    accept = "application/json" if json else "text/html"
    base = link.split("/api/")[0]
    return Api(base).get(f"/api/auth/email/verify?token={token}", headers={"Accept": accept,
                                                                          "Accept-Language": language})


def sql(app: ChatappProcess, statement: str, *args: Any) -> Any:
    """Run one statement on ``app``'s database (SQLite or PostgreSQL); a SELECT's first value."""
    from chatapp.db import connect

    async def run() -> Any:
        db = await connect(app.database_url)
        try:
            if statement.startswith("SELECT"):
                return await db.fetch_val(statement, *args)
            return await db.execute(statement, *args)
        finally:
            await db.close()

    return asyncio.run(run())


@pytest.mark.parametrize("language", ["uk", "fr"])
def test_sign_up_mails_a_link_that_verifies_once(app: ChatappProcess, smtp: SmtpSink, language: str) -> None:
    email = address()
    petro = sign_up(app, email, language)
    [mail] = smtp.wait_for(email)
    assert str(mail["Subject"]) == CATALOGUES.text(language, "mail.verify.subject")
    assert str(mail["Content-Language"]) == language and mail["Reply-To"] is None
    text = str(mail.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    assert CATALOGUES.text(language, "mail.verify.intro", {"name": "Petro", "email": email}) in text
    assert CATALOGUES.text(language, "mail.verify.footer") in text
    link = link_in(mail)

    page = open_link(link, json=False, language="en")  # the account's language, not the browser's
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'<html lang="{language}">' in page.text
    assert CATALOGUES.text(language, "verify.ok", {"email": email}) in page.text
    assert "script" not in page.text and "style=" not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert petro.ok("GET", "/api/auth/me")["user"]["email_verified"] is True

    again = open_link(link)
    assert again.status_code == 410 and again.json()["error"] == "token_used", again.text
    again_page = open_link(link, json=False)
    assert again_page.status_code == 410 and CATALOGUES.text(language, "verify.token_used") in again_page.text
    assert petro.post("/api/auth/email/resend").json()["error"] == "already_verified"


def test_answers_fit_their_shapes(app: ChatappProcess, smtp: SmtpSink) -> None:
    d = Described()
    email = address()
    signed_up = d.call(Api(app.base_url), "POST", "/api/auth/register",
                       json={"email": email, "password": PASSWORD})
    user = Api(app.base_url, signed_up["token"], signed_up["user"])
    d.call(user, "POST", "/api/auth/email/resend")
    moved = address()
    d.call(user, "POST", "/api/auth/email", json={"email": moved, "current_password": PASSWORD})
    token = link_in(smtp.wait_for(moved)[0]).split("token=")[1]
    d.call(Api(app.base_url), "POST", "/api/auth/email/verify", json={"token": token})
    d.fits("Error", Api(app.base_url).post("/api/auth/email/verify", {"token": token}).json())
    assert {"TokenResponse", "VerificationSent", "EmailChanged", "EmailVerified"} <= d.checked


def test_an_expired_or_unknown_token_fails(app: ChatappProcess, smtp: SmtpSink) -> None:
    email = address()
    ivan = sign_up(app, email)
    link = link_in(smtp.wait_for(email)[0])
    sql(app, "UPDATE email_verifications SET expires_at = created_at WHERE email = ?", email)
    token = link.split("token=")[1]
    expired = Api(app.base_url).post("/api/auth/email/verify", {"token": token})
    assert expired.status_code == 410 and expired.json()["error"] == "token_expired", expired.text
    assert ivan.ok("GET", "/api/auth/me")["user"]["email_verified"] is False
    ivan.ok("POST", "/api/auth/email/resend", status=202)  # a new link; the dead one is dropped
    assert sql(app, "SELECT COUNT(*) FROM email_verifications WHERE user_id = ?", ivan.id) == 1

    unknown = Api(app.base_url).post("/api/auth/email/verify", {"token": token[:-2] + "xx"})
    assert unknown.status_code == 404 and unknown.json()["error"] == "token_unknown"
    page = Api(app.base_url).get("/api/auth/email/verify?token=nope",
                                 headers={"Accept": "text/html,*/*;q=0.8", "Accept-Language": "fr"})
    assert page.status_code == 404 and CATALOGUES.text("fr", "verify.token_unknown") in page.text
    missing = Api(app.base_url).get("/api/auth/email/verify")
    assert missing.status_code == 422 and missing.json()["field"] == "token"


def test_a_new_address_voids_the_old_link(app: ChatappProcess, smtp: SmtpSink, tmp_path: Path) -> None:
    first, second = address(), address()
    olga = sign_up(app, first)
    old_link = link_in(smtp.wait_for(first)[0])
    wrong = olga.post("/api/auth/email", {"email": second, "current_password": "not my password"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "wrong_password"
    changed = olga.ok("POST", "/api/auth/email", {"email": second, "current_password": PASSWORD})
    assert changed["email_verification"] == "sent"
    assert changed["user"]["email"] == second and changed["user"]["email_verified"] is False
    new_link = link_in(smtp.wait_for(second)[0])

    void = open_link(old_link)
    assert void.status_code == 409 and void.json()["error"] == "email_changed", void.text
    done = open_link(new_link)
    assert done.status_code == 200 and done.json() == {"verified": True, "email": second, "user_id": olga.id}
    me = olga.ok("GET", "/api/auth/me")["user"]
    assert me["email"] == second and me["email_verified"] is True
    # signing in with the verified address opens this account
    login = Api(app.base_url).ok("POST", "/api/auth/login", {"email": second, "password": PASSWORD})
    assert login["user"]["id"] == olga.id


def test_a_verified_address_is_one_accounts(app: ChatappProcess, smtp: SmtpSink) -> None:
    email = address()
    owner, squatter = sign_up(app, email), sign_up(app, email)
    owner_link, squatter_link = (link_in(m) for m in smtp.wait_for(email, count=2))
    assert open_link(owner_link).status_code == 200
    taken = open_link(squatter_link)
    assert taken.status_code == 409 and taken.json()["error"] == "email_taken", taken.text
    assert squatter.ok("GET", "/api/auth/me")["user"]["email_verified"] is False
    assert owner.ok("GET", "/api/auth/me")["user"]["email_verified"] is True


def test_two_clicks_at_once_verify_once(app: ChatappProcess, smtp: SmtpSink) -> None:
    email = address()
    sign_up(app, email)
    link = link_in(smtp.wait_for(email)[0])
    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(r.status_code for r in pool.map(lambda _: open_link(link), range(4)))
    assert statuses == [200, 410, 410, 410]


def test_resend_is_limited_to_three_an_hour(app: ChatappProcess, smtp: SmtpSink) -> None:
    email = address()
    anna = sign_up(app, email)
    for _ in range(3):
        assert anna.ok("POST", "/api/auth/email/resend", status=202) == {"sent": True, "to": email}
    limited = anna.post("/api/auth/email/resend")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0, limited.text
    changing = anna.post("/api/auth/email", {"email": address(), "current_password": PASSWORD})
    assert changing.status_code == 429, "a new address is a mail too"
    mails = smtp.wait_for(email, count=4)
    links = [link_in(m) for m in mails]
    assert len(set(links)) == 4, "each mail its own token"
    assert open_link(links[0]).status_code == 200, "an earlier link still works"
    assert Api(app.base_url).post("/api/auth/email/resend").status_code == 401
    guest = Api.guest(app.base_url, "No Mail")
    assert guest.post("/api/auth/email/resend").json()["error"] == "no_email"


def test_replies_are_mailed_to_verified_addresses_and_offline_form_ones(app: ChatappProcess, smtp: SmtpSink) -> None:
    agent = admin_api(app, "agent-password-1", "Olena")
    email = address()
    visitor = sign_up(app, email)
    link = link_in(smtp.wait_for(email)[0])
    room_id = visitor.send("Where is my order?")["message"]["room_id"]
    agent.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Before verification"})
    detail = agent.ok("GET", f"/api/admin/chat/rooms/{room_id}")
    assert detail["room"]["user"]["email_verified"] is False  # the panel marks it
    time.sleep(3 * TIME_FACTOR)  # past the mail delay: a reply mail would have been written by now
    assert len(smtp.to(email)) == 1, "only the verification mail: the address is not proven"

    assert open_link(link).status_code == 200
    detail = agent.ok("GET", f"/api/admin/chat/rooms/{room_id}")
    assert detail["room"]["user"]["email_verified"] is True  # the mark goes (room.updated said so at once)
    [_, unread] = smtp.wait_for(email, count=2)  # the reply still unread goes now
    assert "Before verification" in str(unread.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    agent.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Verified: mailed"})
    [*_, reply] = smtp.wait_for(email, count=3)
    body = str(reply.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
    assert "Verified: mailed" in body and "Before verification" not in body

    # the address a visitor types into the offline form is mailed, unverified as it is
    typed = address()
    guest = Api.guest(app.base_url, "Form")
    sent = guest.ok("POST", "/api/chat/offline", {"name": "Form", "email": typed, "message": "Call me back"})
    agent.ok("POST", f"/api/admin/chat/rooms/{sent['message']['room_id']}/messages", {"body": "Calling you"})
    [answer] = smtp.wait_for(typed)
    assert "Calling you" in str(answer.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]


def test_mail_off_signs_up_and_says_verification_is_unavailable(chat: ChatappProcess) -> None:
    """The suite's shared chatapp has no CHATAPP_SMTP_URL."""
    email = address()
    doc = Api(chat.base_url).ok("POST", "/api/auth/register", {"email": email, "password": PASSWORD})
    assert doc["email_verification"] == "unavailable" and doc["user"]["email_verified"] is False
    user = Api(chat.base_url, doc["token"], doc["user"])
    refused = user.post("/api/auth/email/resend")
    assert refused.status_code == 409 and refused.json()["error"] == "mail_off"
    changed = user.ok("POST", "/api/auth/email", {"email": address(), "current_password": PASSWORD})
    assert changed["email_verification"] == "unavailable"
    assert sql(chat, "SELECT COUNT(*) FROM email_verifications WHERE user_id = ?", user.id) == 0, "no link waits"
    assert sql(chat, "SELECT COUNT(*) FROM mail_outbox WHERE recipient_id = ?", user.id) == 0, "nor a mail"
