"""E-mail through a real SMTP server (aiosmtpd, started here): notifications, transcripts, retries,
replies by mail, and three instances sharing one queue (docs/chatapp.md, "E-mail")."""

from __future__ import annotations

import itertools
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from chatapp.config import ConfigError, Settings
from chatapp.i18n import Catalogues
from chatapp.mail.config import parse_smtp_url
from chatapp.mail.inbound import html_to_text, parse_inbound, strip_quoted
from tests.chatapp.procs import Api, ChatappProcess, admin_api, chatapp_reverb, chatapp_stack, throwaway_database
from tests.helpers.procs import TIME_FACTOR
from tests.helpers.smtp import SmtpSink, running_smtp

# A real SMTP server and mail delays: in `make test`, not in `make test-fast`.
pytestmark = pytest.mark.slow

PASSWORD = "mail-admin-password"
SECRET = "inbound-secret-for-the-tests-0123"
DELAY = 2.0  # CHATAPP_MAIL_DELAY_SECONDS
FROM = "Support Team <support@mail.test>"
CATALOGUES = Catalogues()
_ids = itertools.count(1)


def mail_env(smtp: SmtpSink, **extra: str) -> dict[str, str]:
    return {
        "CHATAPP_SMTP_URL": smtp.url,
        "CHATAPP_MAIL_FROM": FROM,
        "CHATAPP_MAIL_DELAY_SECONDS": str(DELAY),
        "CHATAPP_MAIL_INTERVAL": "0.3",
        "CHATAPP_INBOUND_MAIL_SECRET": SECRET,
        "CHATAPP_PUBLIC_URL": "https://chat.example.test",
        "CHATAPP_MAIL_TRANSCRIPT_ON_CLOSE": "true",
        **extra,
    }


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    with running_smtp() as sink:
        yield sink


@pytest.fixture(scope="module")
def app(smtp: SmtpSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatappProcess]:
    work = tmp_path_factory.mktemp("mail")
    with chatapp_stack(f"sqlite:///{work / 'mail.sqlite3'}", work, mail_env(smtp)) as process:
        yield process


@pytest.fixture(scope="module")
def agent(app: ChatappProcess) -> Api:
    return admin_api(app, PASSWORD, "Olena Agent")


def visitor(app: ChatappProcess, smtp: SmtpSink, locale: str | None = None, name: str = "Petro",
            email: str | None = None) -> Api:
    """A signed-up visitor whose address is verified (replies are mailed only to those), its link's mail taken
    out of ``smtp`` so the tests count only what follows."""
    address = email or f"visitor{next(_ids)}-{secrets.token_hex(3)}@example.test"
    doc = Api(app.base_url).ok("POST", "/api/auth/register", {"email": address, "password": "visitor-pass-1",
                                                             "name": name})
    [verification] = smtp.wait_for(address)
    link = re.search(r"token=([\w-]+)", parts(verification)[0])
    assert link is not None
    Api(app.base_url).ok("POST", "/api/auth/email/verify", {"token": link.group(1)})
    smtp.forget(verification)
    api = Api(app.base_url, doc["token"], {**doc["user"], "email_verified": True})
    if locale:
        api.ok("POST", "/api/auth/locale", {"locale": locale})
    return api


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "a text and an HTML part"
    return str(text.get_content()).replace("\r\n", "\n"), str(html.get_content())


def db_rows(app: ChatappProcess, sql: str, *args: Any) -> list[sqlite3.Row]:
    path = app.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, args))


def settle() -> None:
    """Long enough for a second mail of the same burst, were one to be written."""
    time.sleep((DELAY + 1.5) * TIME_FACTOR)


# ------------------------------------------------------------------ units


def test_smtp_url_forms() -> None:
    plain = parse_smtp_url("smtp://mailer:p%40ss@mx.example.com:2525")
    assert (plain.host, plain.port, plain.username, plain.password, plain.use_tls, plain.start_tls) == (
        "mx.example.com", 2525, "mailer", "p@ss", False, False)
    assert parse_smtp_url("smtps://mx.example.com").port == 465 and parse_smtp_url("smtps://x").use_tls
    assert parse_smtp_url("smtp://x:587?starttls=1").start_tls
    assert "p@ss" not in plain.describe()
    for bad in ("http://x", "smtp://", "smtps://x?starttls=1", "smtp://x?tls=1"):
        with pytest.raises(ConfigError):
            Settings.from_env({"CHATAPP_SMTP_URL": bad, "CHATAPP_MAIL_FROM": "a@b.test"})
    with pytest.raises(ConfigError, match="CHATAPP_MAIL_FROM"):
        Settings.from_env({"CHATAPP_SMTP_URL": "smtp://x"})
    assert Settings.from_env({}).mail_delay == 300  # 5 minutes by default
    assert Settings.from_env({"CHATAPP_MAIL_DELAY_MINUTES": "1.5"}).mail_delay == 90
    assert Settings.from_env({"CHATAPP_MAIL_DELAY_MINUTES": "9", "CHATAPP_MAIL_DELAY_SECONDS": "2"}).mail_delay == 2


@pytest.mark.parametrize(
    "reply",
    [
        "Thanks, it works!\n\nOn Mon, 1 Dec 2025 at 10:00, Support <reply+1.ab@mail.test> wrote:\n> Try again\n> now",
        "Thanks, it works!\nOn Mon, 1 Dec 2025 at 10:00, Support Team\n<reply+1.ab@mail.test> wrote:\n> old",
        "Thanks, it works!\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\nTry again",
        "Thanks, it works!\n\nFrom: Support <support@mail.test>\nSent: Monday, 1 December 2025 10:00\nTo: me\nold",
        "Thanks, it works!\n\nпн, 1 груд. 2025 р. о 10:00 Support <reply+1.ab@mail.test> пише:\n> Спробуйте ще",  # noqa: RUF001
        "Thanks, it works!\n\nLe lun. 1 déc. 2025 à 10:00, Support <reply+1.ab@mail.test> a écrit :\n> Réessayez",
        "Thanks, it works!\n\n-------- Message d'origine --------\nDe : Support\n",
        "Thanks, it works!\n-- \nPetro, sent from my phone",
        "> quoted first\nThanks, it works!",
    ],
)
def test_quoted_history_is_stripped(reply: str) -> None:
    assert strip_quoted(reply) == "Thanks, it works!"


def test_html_only_reply_loses_its_quote() -> None:
    markup = '<div dir="ltr">Thanks, <b>it works</b>!</div><div class="gmail_quote">On Mon wrote:' \
             "<blockquote>old</blockquote></div>"
    assert html_to_text(markup) == "Thanks, it works!"
    raw = (b"From: p@example.test\r\nTo: reply+1.0123456789abcdef0123@mail.test\r\nSubject: Re\r\n"
           b"Content-Type: text/html; charset=utf-8\r\n\r\n" + markup.encode())
    assert parse_inbound(raw).text == "Thanks, it works!"


# ------------------------------------------------ the relay, in process


async def relay_world(tmp_path: Path, smtp_url: str, **settings: Any) -> tuple[Any, Any, Any, int]:
    """A migrated SQLite database with one visitor's room, and two mailers on it (two instances)."""
    from chatapp import repository as repo
    from chatapp.db import connect
    from chatapp.mail import Mailer
    from chatapp.schema import migrate

    url = f"sqlite:///{tmp_path / 'relay.sqlite3'}"
    db = await connect(url)
    await migrate(db)
    config = Settings(database_url=url, smtp_url=smtp_url, mail_from=FROM, **settings)
    user = await repo.create_user(db, role="user", name="Rita", email="rita@example.test", password_hash=None)
    async with db.transaction() as conn:
        room_id = await repo.create_room(conn, user.id, "s")
    assert room_id is not None
    one, two = (Mailer(config, db, CATALOGUES, b"k" * 32) for _ in range(2))
    async with db.transaction() as conn:
        await one.queue_transcript(conn, room_id, {"id": user.id, "name": "Rita", "email": "rita@example.test"})
    return db, one, two, room_id


async def test_a_resend_after_a_crash_carries_the_same_message_id(tmp_path: Path) -> None:
    with running_smtp() as sink:
        db, one, two, _ = await relay_world(tmp_path, sink.url)
        try:
            [claimed] = await one.relay.claim()  # instance one takes the mail, then dies before sending it
            assert await two.relay.claim() == [], "leased: the other instance leaves it alone"
            await db.execute("UPDATE mail_outbox SET lease_until = ?", claimed["created_at"])  # the lease runs out
            await two.relay.pass_once()
            await one.relay._deliver(claimed)  # ... or one was only slow: its late copy
            [row] = await db.fetch_all("SELECT status, message_id, lease_owner FROM mail_outbox")
            assert row["status"] == "sent" and row["lease_owner"] == two.instance
            assert [str(m["Message-ID"]) for m in sink.messages] == [row["message_id"]] * 2
            assert (one.counters.sent, two.counters.sent) == (1, 1)
        finally:
            await db.close()


async def test_temporary_refusals_are_retried_until_the_mail_is_too_old(tmp_path: Path) -> None:
    with running_smtp() as sink:
        sink.refuse["rita@example.test"] = "451 4.3.0 Mailbox busy, try later"
        db, one, _, _ = await relay_world(tmp_path, sink.url, mail_max_age=0.5)
        try:
            await one.relay.pass_once()
            [row] = await db.fetch_all("SELECT status, attempts, last_error, next_attempt_at FROM mail_outbox")
            assert (row["status"], row["attempts"]) == ("pending", 1) and row["last_error"].startswith("451")
            time.sleep(0.6)
            await db.execute("UPDATE mail_outbox SET next_attempt_at = created_at")
            await one.relay.pass_once()
            [row] = await db.fetch_all("SELECT status, attempts, last_error FROM mail_outbox")
            assert (row["status"], row["attempts"]) == ("failed", 2), dict(row)
            assert row["last_error"].startswith("gave up after 2 attempts: 451")
            assert sink.messages == []
        finally:
            await db.close()


# ----------------------------------------------------------- notifications


@pytest.mark.parametrize("locale", ["uk", "fr"])
def test_a_burst_of_replies_unread_is_one_mail_in_the_visitors_language(
    app: ChatappProcess, agent: Api, smtp: SmtpSink, locale: str
) -> None:
    petro = visitor(app, smtp, locale)
    room_id = petro.send("My order is late")["message"]["room_id"]
    bodies = [f"Reply {i} ({locale}): we are on it" for i in range(3)]
    for body in bodies:
        agent.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": body})
    address = petro.user["email"]
    [mail] = smtp.wait_for(address)
    settle()
    assert len(smtp.to(address)) == 1, "one mail for the burst"
    assert str(mail["Subject"]) == CATALOGUES.text(locale, "mail.reply.subject")
    assert str(mail["Content-Language"]) == locale
    assert str(mail["From"]) == FROM
    assert re.fullmatch(r"reply\+\d+\.[0-9a-f]{20}@mail\.test", str(mail["Reply-To"])), mail["Reply-To"]
    assert str(mail["Reply-To"]).startswith(f"reply+{room_id}.")
    assert mail["Message-ID"] and str(mail["Auto-Submitted"]) == "auto-generated"
    text, html = parts(mail)
    link = "https://chat.example.test/?chat=open"
    intro = CATALOGUES.text(locale, "mail.reply.intro", {"name": "Petro"})
    for part in (text, html):
        assert all(body in part for body in bodies), part
        assert link in part
    assert intro in text and CATALOGUES.text(locale, "mail.reply.continue") in html
    assert "My order is late" not in text, "only the unread replies"


def test_a_reply_read_in_time_is_not_mailed(app: ChatappProcess, agent: Api, smtp: SmtpSink) -> None:
    ivan = visitor(app, smtp, "uk", "Ivan")
    room_id = ivan.send("Hello")["message"]["room_id"]
    agent.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Seen quickly"})
    ivan.ok("POST", f"/api/chat/rooms/{room_id}/read")
    settle()
    assert smtp.to(ivan.user["email"]) == []


def test_agents_hear_of_visitor_messages_they_have_not_seen(app: ChatappProcess, smtp: SmtpSink) -> None:
    first = admin_api(app, PASSWORD, "Taras")
    second = admin_api(app, PASSWORD, "Marie")
    second.ok("POST", "/api/auth/locale", {"locale": "fr"})
    guest = Api.guest(app.base_url, "Anna")  # no e-mail of her own: support is still told
    room_id = guest.send("Is anyone there?")["message"]["room_id"]
    guest.send("Hello?")
    [to_first] = smtp.wait_for(first.user["email"])
    [to_second] = smtp.wait_for(second.user["email"])  # unassigned: every agent
    assert str(to_second["Subject"]) == CATALOGUES.text("fr", "mail.agent.subject", {"name": "Anna"})
    text, html = parts(to_first)
    assert "Is anyone there?" in text and "Hello?" in html
    assert f"https://chat.example.test/admin/chat/{room_id}" in text
    assert CATALOGUES.text("en", "mail.agent.intro", {"name": "Anna", "count": 2}) in text
    assert to_first["Reply-To"] is None

    first.ok("POST", f"/api/admin/chat/rooms/{room_id}/assign", {})
    first.ok("POST", f"/api/admin/chat/rooms/{room_id}/read")
    guest.send("Still waiting")
    smtp.wait_for(first.user["email"], count=2)
    settle()
    assert len(smtp.to(second.user["email"])) == 1, "assigned: only the assignee"
    assert len(smtp.to(first.user["email"])) == 2


def test_transcript_on_request_and_on_close(app: ChatappProcess, agent: Api, smtp: SmtpSink) -> None:
    marie = visitor(app, smtp, "fr", "Marie")
    room_id = marie.send("Bonjour")["message"]["room_id"]
    agent.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Bonjour Marie"})
    done = marie.ok("POST", f"/api/chat/rooms/{room_id}/transcript", status=202)
    assert done["to"] == marie.user["email"]
    [mail] = smtp.wait_for(marie.user["email"])
    assert str(mail["Subject"]) == CATALOGUES.text("fr", "mail.transcript.subject")
    text, html = parts(mail)
    assert "Bonjour\n" in text and "Bonjour Marie" in html and CATALOGUES.text("fr", "thread.you") in text

    marie.ok("POST", f"/api/chat/rooms/{room_id}/close")
    mails = smtp.wait_for(marie.user["email"], count=2)
    closing = parts(mails[-1])[0]
    # the closing transcript, its system message in the visitor's language
    assert CATALOGUES.text("fr", "chat.closed", {"name": "Marie"}) in closing and "Bonjour Marie" in closing

    guest = Api.guest(app.base_url, "No Mail")
    guest_room = guest.send("hi")["message"]["room_id"]
    refused = guest.post(f"/api/chat/rooms/{guest_room}/transcript")
    assert refused.status_code == 409 and refused.json()["error"] == "no_email"
    other = visitor(app, smtp)
    assert other.post(f"/api/chat/rooms/{room_id}/transcript").status_code == 404


# ------------------------------------------------------------- delivery


def test_smtp_down_then_up_delivers_once(app: ChatappProcess, agent: Api, smtp: SmtpSink) -> None:
    olga = visitor(app, smtp, name="Olga")
    room_id = olga.send("hi")["message"]["room_id"]
    smtp.stop()
    try:
        olga.ok("POST", f"/api/chat/rooms/{room_id}/transcript", status=202)
        deadline = time.monotonic() + 10 * TIME_FACTOR
        while time.monotonic() < deadline:
            rows = db_rows(app, "SELECT attempts, last_error, status FROM mail_outbox WHERE recipient = ? "
                           "AND kind = 'transcript'", olga.user["email"])
            if rows and rows[0]["attempts"] >= 1 and rows[0]["last_error"]:
                break
            time.sleep(0.1)
        [row] = rows
        assert row["status"] == "pending" and row["last_error"], dict(row)
    finally:
        smtp.start()
    [mail] = smtp.wait_for(olga.user["email"], timeout=20)
    time.sleep(2 * TIME_FACTOR)
    assert len(smtp.to(olga.user["email"])) == 1
    [row] = db_rows(app, "SELECT status, message_id FROM mail_outbox WHERE recipient = ? "
                        "AND kind = 'transcript'", olga.user["email"])
    assert row["status"] == "sent" and row["message_id"] == str(mail["Message-ID"])
    status = agent.ok("GET", "/api/admin/status")["mail"]
    assert status["enabled"] and status["retried"] >= 1 and status["smtp"] == smtp.url


def test_a_permanent_refusal_is_given_up_and_recorded(app: ChatappProcess, agent: Api, smtp: SmtpSink) -> None:
    gone = visitor(app, smtp, name="Gone")
    address = gone.user["email"]
    smtp.refuse[address] = "550 5.1.1 Mailbox does not exist"
    room_id = gone.send("hi")["message"]["room_id"]
    gone.ok("POST", f"/api/chat/rooms/{room_id}/transcript", status=202)
    deadline = time.monotonic() + 10 * TIME_FACTOR
    while time.monotonic() < deadline:
        [row] = db_rows(app, "SELECT status, attempts, last_error FROM mail_outbox WHERE recipient = ? "
                            "AND kind = 'transcript'", address)
        if row["status"] != "pending":
            break
        time.sleep(0.1)
    assert row["status"] == "failed" and row["attempts"] == 1, dict(row)
    assert "550" in row["last_error"] and "Mailbox does not exist" in row["last_error"]
    assert agent.ok("GET", "/api/admin/status")["mail"]["queue"]["failed"] >= 1


# --------------------------------------------------------------- inbound


def raw_reply(to: str, sender: str, text: str, in_reply_to: str | None = None) -> bytes:
    headers = [f"From: Petro <{sender}>", f"To: {to}", "Subject: Re: New reply from support",
               f"Message-ID: <{secrets.token_hex(8)}@client.example.test>",
               "Content-Type: text/plain; charset=utf-8", "MIME-Version: 1.0"]
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to}")
    return ("\r\n".join(headers) + "\r\n\r\n" + text.replace("\n", "\r\n")).encode()


def inbound(app: ChatappProcess, raw: bytes, secret: str = SECRET) -> Any:
    return Api(app.base_url).post("/api/mail/inbound", content=raw, headers={
        "Content-Type": "message/rfc822", "X-Inbound-Secret": secret})


def test_a_reply_by_mail_comes_back_into_the_chat(app: ChatappProcess, agent: Api, smtp: SmtpSink) -> None:
    petro = visitor(app, smtp, "uk")
    room_id = petro.send("Where is my parcel?")["message"]["room_id"]
    agent.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "It left today"})
    [mail] = smtp.wait_for(petro.user["email"])
    text = "Great, thank you!\n\nпн, 1 груд. 2025 р. о 10:00 Support <x@mail.test> пише:\n> It left today\n"  # noqa: RUF001
    raw = raw_reply(str(mail["Reply-To"]), petro.user["email"], text)
    answer = inbound(app, raw)
    assert answer.status_code == 201, answer.text
    assert answer.json()["room_id"] == room_id
    assert inbound(app, raw).status_code == 200, "the same message posted twice is stored once"
    history = agent.ok("GET", f"/api/admin/chat/rooms/{room_id}/messages")["data"]
    last = history[-1]
    assert last["body"] == "Great, thank you!" and last["sender_role"] == "user" and last["user_id"] == petro.id
    assert [m["body"] for m in history].count("Great, thank you!") == 1

    # threaded by In-Reply-To alone (the reply went to the plain From address)
    by_thread = raw_reply("support@mail.test", petro.user["email"], "One more thing\n> old",
                          in_reply_to=str(mail["Message-ID"]))
    assert inbound(app, by_thread).status_code == 201
    assert agent.ok("GET", f"/api/admin/chat/rooms/{room_id}/messages")["data"][-1]["body"] == "One more thing"
    # a mail service that posts a form (SendGrid's "raw" inbound parse: the message in the field email)
    form = raw_reply(str(mail["Reply-To"]), petro.user["email"], "Sent as a form\n\n> quoted")
    posted = Api(app.base_url).post(f"/api/mail/inbound?secret={SECRET}", files={"email": (None, form)})
    assert posted.status_code == 201, posted.text
    assert agent.ok("GET", f"/api/admin/chat/rooms/{room_id}/messages")["data"][-1]["body"] == "Sent as a form"
    # ... but not from somebody else's address
    stranger = raw_reply("support@mail.test", "stranger@example.test", "hi", in_reply_to=str(mail["Message-ID"]))
    assert inbound(app, stranger).status_code == 422


def test_a_deactivated_visitor_cannot_write_by_mail(app: ChatappProcess, smtp: SmtpSink) -> None:
    gone = visitor(app, smtp, name="Leaving")
    room_id = gone.send("hi")["message"]["room_id"]
    gone.ok("POST", f"/api/chat/rooms/{room_id}/transcript", status=202)
    [mail] = smtp.wait_for(gone.user["email"])
    app.cli("deactivate", "--email", gone.user["email"])
    answer = inbound(app, raw_reply(str(mail["Reply-To"]), gone.user["email"], "Let me back in"))
    assert answer.status_code == 403 and answer.json()["error"] == "account_deactivated", answer.text


def test_inbound_refuses_wrong_secrets_and_unknown_conversations(app: ChatappProcess) -> None:
    raw = raw_reply("reply+1.0123456789abcdef0123@mail.test", "p@example.test", "hello")
    for secret in ("", "wrong-secret-of-some-length"):
        answer = inbound(app, raw, secret)
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_secret"
    by_query = Api(app.base_url).post(f"/api/mail/inbound?secret={SECRET}", content=raw,
                                      headers={"Content-Type": "message/rfc822"})
    assert by_query.status_code == 404 and by_query.json()["error"] == "conversation_not_found", by_query.text
    assert "no conversation" in by_query.json()["message"]
    unknown = inbound(app, raw_reply("help@mail.test", "p@example.test", "hello"))
    assert unknown.status_code == 422 and unknown.json()["error"] == "not_a_reply"


def test_mail_off_says_so(chat: ChatappProcess, new_guest: Any) -> None:
    """The suite's shared chatapp has no CHATAPP_SMTP_URL."""
    assert chat.ok_json("/api/config")["features"]["mail"] is False
    guest = new_guest("Offline")
    room_id = guest.send("hi")["message"]["room_id"]
    answer = guest.post(f"/api/chat/rooms/{room_id}/transcript")
    assert answer.status_code == 409 and answer.json()["error"] == "mail_off"
    assert Api(chat.base_url).post("/api/mail/inbound", content=b"x").status_code == 404


# --------------------------------------------------- three instances, one queue


@pytest.mark.postgres
@pytest.mark.slow
def test_three_instances_on_one_postgres_send_each_mail_once(tmp_path: Path) -> None:
    """Three instances, one database, every scheduler and relay running: every mail goes out once."""
    reverb = chatapp_reverb()
    try:
        with running_smtp() as sink, throwaway_database("postgres", tmp_path) as url:
            env = mail_env(sink, CHATAPP_MAIL_INTERVAL="0.2")
            a = ChatappProcess(url, reverb.port, tmp_path / "a", env=env).start()
            b = ChatappProcess(url, reverb.port, tmp_path / "b", env=env).start(migrate=False)
            c = ChatappProcess(url, reverb.port, tmp_path / "c", env=env).start(migrate=False)
            instances = (a, b, c)
            try:
                pg_agent = admin_api(a, PASSWORD, "Pg Agent")
                visitors = [visitor(instances[i % 3], sink, name=f"V{i}") for i in range(16)]
                sink.stop()  # the queue fills while the server is down; then all three relays race for it
                rooms = []
                for v in visitors:
                    rooms.append(v.send("hi")["message"]["room_id"])
                    v.ok("POST", f"/api/chat/rooms/{rooms[-1]}/transcript", status=202)
                time.sleep(1.0 * TIME_FACTOR)
                sink.start()
                for v in visitors:
                    sink.wait_for(v.user["email"], timeout=30)
                alerts = sink.wait_for(pg_agent.user["email"], count=16, timeout=30)  # one per unseen room
                # a burst of replies, written through B, the schedulers of all three looking at it
                on_b = Api(b.base_url, pg_agent.token, pg_agent.user)
                for body in ("one", "two", "three"):
                    on_b.ok("POST", f"/api/admin/chat/rooms/{rooms[0]}/messages", {"body": body})
                sink.wait_for(visitors[0].user["email"], count=2, timeout=30)
                settle()
                assert len(sink.to(visitors[0].user["email"])) == 2  # the transcript and one reply mail
                assert all(len(sink.to(v.user["email"])) == 1 for v in visitors[1:])
                assert len(sink.to(pg_agent.user["email"])) == 16
                assert sorted(re.search(r"/admin/chat/(\d+)", parts(m)[0]).group(1) for m in alerts) == sorted(
                    str(r) for r in rooms)
                ids = [str(m["Message-ID"]) for m in sink.messages]
                assert len(ids) == 33 and len(set(ids)) == 33, ids
                sent_by = [{line.split("mail ")[1].split(" ")[0] for line in p.log().splitlines()
                            if " sent to " in line and "(verify)" not in line} for p in instances]
                assert sum(map(len, sent_by)) == len(set().union(*sent_by)) == 33, sent_by  # each by one
            finally:
                c.stop()
                b.stop()
                a.stop()
    finally:
        reverb.stop()
