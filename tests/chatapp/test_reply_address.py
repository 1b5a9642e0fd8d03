"""The widget's e-mail fallback (``POST /api/chat/me/email``): a visitor who cannot take Web Push leaves an
address after writing; it is kept unverified (never over a verified one), its link is mailed at once, and
once opened support's replies reach the visitor who has left."""

from __future__ import annotations

import secrets
import time

import pytest

from chatapp.identity import sign_identity_token
from tests.chatapp import test_verification as verification
from tests.chatapp.procs import IDENTITY_SECRET, Api, ChatappProcess, admin_api
from tests.helpers.smtp import SmtpSink

pytestmark = pytest.mark.slow  # a real SMTP server and mail delays

# The mail server and the chatapp with e-mail on (SQLite and PostgreSQL) of the verification tests, and their link.
smtp, app, LINK = verification.smtp, verification.app, verification.LINK


def test_a_guest_leaves_an_address_confirms_it_and_gets_the_reply_by_mail(app: ChatappProcess, smtp: SmtpSink) -> None:
    agent = admin_api(app, "agent-password-1", "Olena")
    guest = Api.guest(app.base_url, "Mira Mail")
    room_id = guest.send("Is the blue one back in stock?")["room"]["id"]
    email = f"Mira-{secrets.token_hex(4)}@Example.test"

    for bad in ("not an address", "", "a@b"):
        refused = guest.request("POST", "/api/chat/me/email", json={"email": bad})
        assert refused.status_code == 422 and refused.json()["field"] == "email", refused.text
    assert guest.request("POST", "/api/chat/me/email", json={}).status_code == 422
    kept = guest.ok("POST", "/api/chat/me/email", {"email": f"  {email} "})
    assert kept["email_verification"] == "sent"
    assert kept["user"]["email"] == email.lower() and kept["user"]["email_verified"] is False
    assert guest.ok("GET", "/api/auth/me")["user"]["email"] == email.lower()
    [mail] = smtp.wait_for(email.lower())
    [link] = set(LINK.findall(str(mail.get_body(preferencelist=("plain",)).get_content())))  # type: ignore[union-attr]

    token = link.split("token=")[1]
    assert Api(app.base_url).get(f"/api/auth/email/verify?token={token}",
                                 headers={"Accept": "application/json"}).status_code == 200
    agent.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Yes, since this morning"})
    [_, reply] = smtp.wait_for(email.lower(), count=2)
    assert "Yes, since this morning" in str(reply.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]

    # Now verified: another address never replaces it (the offline form's rule).
    again = guest.ok("POST", "/api/chat/me/email", {"email": "someone-else@example.test"})
    assert again["email_verification"] == "verified" and again["user"]["email"] == email.lower()


def test_a_site_user_s_verified_address_stays(app: ChatappProcess) -> None:
    email = f"site-{secrets.token_hex(4)}@example.test"
    claims = {"sub": f"reply-{secrets.token_hex(4)}", "name": "Sam Site", "email": email, "exp": int(time.time()) + 600}
    doc = Api(app.base_url).ok("POST", "/api/auth/identity", {"identity": sign_identity_token(IDENTITY_SECRET, claims)})
    user = Api(app.base_url, doc["token"], doc["user"])
    answer = user.ok("POST", "/api/chat/me/email", {"email": "other@example.test"})
    assert answer == {"user": answer["user"], "email_verification": "verified"}
    assert answer["user"]["email"] == email


def test_without_mail_there_is_nothing_to_mail_to(chat: ChatappProcess) -> None:
    guest = Api.guest(chat.base_url, "No Mail")
    refused = guest.request("POST", "/api/chat/me/email", json={"email": "nomail@example.test"})
    assert refused.status_code == 409 and refused.json()["error"] == "mail_off", refused.text
    assert guest.ok("GET", "/api/auth/me")["user"].get("email") is None, "nothing kept"
