"""The mail outbox: rows written in a transaction, a scheduler that finds due notifications,
and a relay that sends them over SMTP. Safe with several instances on one database.

Rows. ``mail_outbox`` holds each mail rendered whole (subject, text, HTML, recipient,
Message-ID). A transcript the visitor asks for is written in the request's transaction; the
notifications are written by :class:`MailScheduler`, which moves the room's marks in
``mail_rooms`` forward with a compare-and-set in the same transaction, so of two instances
looking at one burst exactly one writes its mail.

Relay. :class:`MailRelay` claims due rows by setting a lease (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite has one writer), sends each with aiosmtplib and marks it sent. A temporary
refusal (4xx, the server unreachable) is retried with back-off (1 s doubling to 10 min) until
the row is ``CHATAPP_MAIL_MAX_AGE`` old; a permanent one (5xx) is given up at once. Either
way the reason stays in ``last_error``. An instance that dies mid-send leaves its lease to
run out; another instance then sends the row again with the same Message-ID (at least once,
never lost; a second copy only after a crash between the SMTP answer and the database write).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosmtplib

from chatapp import repository as repo
from chatapp.background import BackgroundLoop
from chatapp.config import Settings
from chatapp.db import Connection, Database, DatabaseUnavailable, Row, utcnow
from chatapp.i18n import DEFAULT_LOCALE, Catalogues
from chatapp.mail.config import Sender, SmtpConfig, parse_mail_from, parse_smtp_url
from chatapp.mail.render import Line, Rendered, compose, line_of, render

__all__ = ["Mailer", "MailRelay", "MailScheduler", "VISITOR_KINDS", "status"]

log = logging.getLogger("chatapp.mail")

BATCH = 10  # rows one relay pass claims
FIRST_RETRY = 1.0
LAST_RETRY = 600.0
TRANSCRIPT_LIMIT = 2000  # messages in one transcript
CLOSED_WINDOW = timedelta(hours=1)  # rooms closed this recently get their closing transcript
# Unread messages older than this are not mailed any more (nor, when e-mail is switched on, the backlog).
NOTIFY_WINDOW = timedelta(days=1)
VISITOR_KINDS = ("reply", "transcript")  # mails to the visitor, whose replies come back into the chat
# The unread messages of one side in a burst: room, sender role, after id, up to id.
_BURST = ("m.room_id = ? AND m.sender_role = ? AND m.kind = 'message' AND m.read_at IS NULL AND m.id > ? "
          "AND m.id <= ?")

_MESSAGE_COLUMNS = (
    "m.id, m.sender_role, m.body, m.system_code, m.system_params, m.created_at, u.name AS sender_name, "
    "a.original_name AS file_name"
)
_MESSAGE_FROM = (
    "FROM support_chat_messages m LEFT JOIN users u ON u.id = m.sender_id "
    "LEFT JOIN chat_attachments a ON a.id = m.attachment_id"
)


class Permanent(Exception):  # noqa: N818 (a verdict on one mail)
    """The SMTP server refused the mail for good (5xx)."""


@dataclass
class Counters:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def _locale(catalogues: Catalogues, value: str | None) -> str:
    return catalogues.negotiate([value]) if value else DEFAULT_LOCALE


class Mailer:
    """Everything about mail one instance holds; ``enabled`` only with CHATAPP_SMTP_URL and CHATAPP_MAIL_FROM."""

    def __init__(self, settings: Settings, db: Database, catalogues: Catalogues, key: bytes) -> None:
        self.settings = settings
        self.db = db
        self.catalogues = catalogues
        self._key = key
        self.smtp: SmtpConfig | None = parse_smtp_url(settings.smtp_url) if settings.smtp_url else None
        self.sender: Sender | None = parse_mail_from(settings.mail_from) if settings.mail_from else None
        self.enabled = self.smtp is not None and self.sender is not None
        self.instance = secrets.token_hex(6)
        self.counters = Counters()
        self.relay = MailRelay(self)
        self.scheduler = MailScheduler(self)

    @classmethod
    async def open(cls, settings: Settings, db: Database, catalogues: Catalogues) -> Mailer:
        """The reply-address key: CHATAPP_SECRET_KEY, else one generated once and kept in the database."""
        secret = settings.secret_key  # never empty below: a known key would let anyone forge reply addresses
        if not secret:
            secret = await repo.get_or_create_secret(db, "mail_reply_key", secrets.token_urlsafe(32))
        return cls(settings, db, catalogues, hashlib.sha256(b"chatapp-mail-reply:" + secret.encode()).digest())

    def start(self) -> None:
        self.relay.start()
        self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.relay.stop()

    # ------------------------------------------------------------ addresses

    def token(self, room_id: int) -> str:
        digest = hmac.new(self._key, str(room_id).encode(), hashlib.sha256).hexdigest()[:20]
        return f"{room_id}.{digest}"

    def room_of_token(self, token: str) -> int | None:
        """The room a reply token names, when its HMAC is ours; None otherwise."""
        room, _, _ = token.partition(".")
        if not room.isdigit() or len(room) > 19:
            return None
        return int(room) if hmac.compare_digest(self.token(int(room)), token.lower()) else None

    def reply_address(self, room_id: int) -> str:
        assert self.sender is not None
        return f"reply+{self.token(room_id)}@{self.sender.domain}"

    def thread_id(self, room_id: int) -> str:
        assert self.sender is not None
        return f"<chat-{room_id}@{self.sender.domain}>"

    def chat_link(self, room_id: int) -> str:
        template = self.settings.mail_chat_url or (self.settings.public_url + "/?chat=open")
        return template.replace("{room_id}", str(room_id))

    def panel_link(self, room_id: int) -> str:
        return f"{self.settings.public_url}/admin/chat/{room_id}"

    # ---------------------------------------------------------------- rows

    async def enqueue(
        self,
        conn: Connection,
        *,
        kind: str,
        room_id: int | None,
        recipient_id: int,
        recipient: str,
        locale: str,
        rendered: Rendered,
        reply_to: str | None,
    ) -> int:
        assert self.sender is not None
        now = utcnow()
        message_id = f"<{uuid.uuid4().hex}.{kind}@{self.sender.domain}>"
        row_id = await conn.fetch_val(
            "INSERT INTO mail_outbox (kind, room_id, recipient_id, recipient, locale, message_id, subject, "
            "body_text, body_html, reply_to, created_at, next_attempt_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            kind, room_id, recipient_id, recipient, locale, message_id, rendered.subject, rendered.text,
            rendered.html, reply_to, now, now,
        )
        conn.after_commit(self.relay.wake)
        return int(row_id)

    async def _lines(self, conn: Connection, where: str, *args: Any, locale: str, visitor_view: bool) -> list[Line]:
        rows = await conn.fetch_all(
            f"SELECT {_MESSAGE_COLUMNS} {_MESSAGE_FROM} WHERE {where} ORDER BY m.id LIMIT {TRANSCRIPT_LIMIT}", *args
        )
        return [line_of(r, self.catalogues, locale, visitor_view=visitor_view) for r in rows]

    async def queue_transcript(self, conn: Connection, room_id: int, visitor: Row, locale: str | None = None) -> int:
        """The conversation so far, to its visitor (``visitor``: id, name, email, locale)."""
        loc = _locale(self.catalogues, locale or visitor.get("locale"))
        lines = await self._lines(conn, "m.room_id = ? AND m.kind = 'message'", room_id, locale=loc,
                                  visitor_view=True)
        text = self.catalogues.text
        rendered = render(
            self.catalogues, loc,
            subject=text(loc, "mail.transcript.subject"),
            intro=text(loc, "mail.transcript.intro", {"name": visitor["name"]}),
            lines=lines,
            link=self.chat_link(room_id), link_label=text(loc, "mail.reply.continue"),
            hint=text(loc, "mail.reply.hint"),
        )
        return await self.enqueue(
            conn, kind="transcript", room_id=room_id, recipient_id=int(visitor["id"]), recipient=visitor["email"],
            locale=loc, rendered=rendered, reply_to=self.reply_address(room_id),
        )

    def status(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "smtp": self.smtp.describe() if self.smtp else None,
            "from": self.sender.header() if self.sender else None,
            "inbound": bool(self.settings.inbound_mail_secret),
            "delay_seconds": self.settings.mail_delay,
            "sent": self.counters.sent,
            "retried": self.counters.retried,
            "failed": self.counters.failed,
        }


async def status(db: Connection) -> dict[str, Any]:
    """The mail queue by status, and the oldest pending row's age, for operators."""
    rows = await db.fetch_all("SELECT status, COUNT(*) AS n, MIN(created_at) AS oldest_at FROM mail_outbox "
                              "GROUP BY status")
    counts = {r["status"]: int(r["n"]) for r in rows}
    oldest = next((r["oldest_at"] for r in rows if r["status"] == "pending"), None)
    return {
        "pending": counts.get("pending", 0),
        "sent": counts.get("sent", 0),
        "failed": counts.get("failed", 0),
        "oldest_pending_seconds": round((utcnow() - oldest).total_seconds(), 1) if oldest else None,
    }


# ----------------------------------------------------------------------- the scheduler


class MailScheduler(BackgroundLoop):
    """Every ``CHATAPP_MAIL_INTERVAL`` seconds: write the notifications that are due."""

    task_name = "chatapp-mail-scheduler"

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer

    @property
    def enabled(self) -> bool:
        return self.mailer.enabled

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except DatabaseUnavailable as exc:
                log.warning("mail scheduler pass skipped: %s", exc)
            except Exception:  # one bad pass must not end the loop
                log.exception("mail scheduler pass failed")
            await asyncio.sleep(self.mailer.settings.mail_interval)

    async def sweep(self) -> int:
        """Write every due notification; how many mails were written."""
        cutoff = utcnow() - timedelta(seconds=self.mailer.settings.mail_delay)
        written = await self._visitor_replies(cutoff) + await self._agent_alerts(cutoff)
        if self.mailer.settings.mail_transcript_on_close:
            written += await self._closing_transcripts()
        return written

    async def _mark(self, conn: Connection, room_id: int, column: str, old: Any, new: Any) -> bool:
        """Move a room's mark from ``old`` to ``new``; False when another instance moved it first."""
        await conn.execute("INSERT INTO mail_rooms (room_id) VALUES (?) ON CONFLICT (room_id) DO NOTHING", room_id)
        if old is None:
            changed = await conn.execute(
                f"UPDATE mail_rooms SET {column} = ? WHERE room_id = ? AND {column} IS NULL", new, room_id)
        else:
            changed = await conn.execute(
                f"UPDATE mail_rooms SET {column} = ? WHERE room_id = ? AND {column} = ?", new, room_id, old)
        return changed == 1

    async def _due_bursts(self, role: str, mark: str, counter: str, columns: str, where: str,
                          cutoff: datetime) -> list[Row]:
        """Rooms with unread messages ``role`` wrote after the room's ``mark``, the newest older than
        ``cutoff`` and younger than :data:`NOTIFY_WINDOW`: each with ``upto`` (the mark) and ``last_id``.

        One statement, so a pass costs the same however many rooms carry old unread messages: a room
        whose burst was mailed (or is too old) has no message after its mark and is not returned.
        """
        recent = utcnow() - NOTIFY_WINDOW
        return await self.mailer.db.fetch_all(
            f"SELECT r.id AS room_id, {columns}, COALESCE(mr.{mark}, 0) AS upto, MAX(m.id) AS last_id "
            "FROM support_chat_rooms r JOIN users u ON u.id = r.user_id "
            "LEFT JOIN mail_rooms mr ON mr.room_id = r.id "
            "JOIN support_chat_messages m ON m.room_id = r.id AND m.sender_role = ? AND m.kind = 'message' "
            f"AND m.read_at IS NULL AND m.id > COALESCE(mr.{mark}, 0) "
            f"WHERE r.{counter} > 0 AND r.last_message_at >= ? {where} "
            f"GROUP BY r.id, {columns}, mr.{mark} HAVING MAX(m.created_at) <= ? AND MAX(m.created_at) >= ?",
            role, recent, cutoff, recent,
        )

    async def _visitor_replies(self, cutoff: datetime) -> int:
        """Support's replies the visitor has not read, the newest older than the delay: one mail per burst."""
        m = self.mailer
        rooms = await self._due_bursts(
            "admin", "visitor_mailed_upto", "user_unread_count", "u.id, u.name, u.email, u.locale",
            "AND u.email IS NOT NULL AND u.deactivated_at IS NULL "
            # an address we may mail: verified, or given by the visitor in this chat's offline form
            "AND (u.email_verified_at IS NOT NULL OR r.left_offline_at IS NOT NULL)", cutoff,
        )
        written = 0
        for room in rooms:
            room_id, upto, last_id = int(room["room_id"]), int(room["upto"]), int(room["last_id"])
            async with m.db.transaction() as conn:
                if not await self._mark(conn, room_id, "visitor_mailed_upto", upto, last_id):
                    continue
                loc = _locale(m.catalogues, room["locale"])
                lines = await m._lines(conn, _BURST, room_id, "admin", upto, last_id, locale=loc, visitor_view=True)
                if not lines:  # read meanwhile
                    continue
                text = m.catalogues.text
                rendered = render(
                    m.catalogues, loc,
                    subject=text(loc, "mail.reply.subject"),
                    intro=text(loc, "mail.reply.intro", {"name": room["name"]}),
                    lines=lines, link=m.chat_link(room_id), link_label=text(loc, "mail.reply.continue"),
                    hint=text(loc, "mail.reply.hint"),
                )
                await m.enqueue(conn, kind="reply", room_id=room_id, recipient_id=int(room["id"]),
                                recipient=room["email"], locale=loc, rendered=rendered,
                                reply_to=m.reply_address(room_id))
                written += 1
        return written

    async def _agent_alerts(self, cutoff: datetime) -> int:
        """The visitor's messages support has not seen, the newest older than the delay: to the assignee,
        or to every active agent while nobody is assigned."""
        m = self.mailer
        rooms = await self._due_bursts(
            "user", "agents_mailed_upto", "admin_unread_count", "r.assigned_admin_id, u.name", "",
            cutoff,
        )
        written = 0
        for room in rooms:
            room_id, upto, last_id = int(room["room_id"]), int(room["upto"]), int(room["last_id"])
            async with m.db.transaction() as conn:
                if not await self._mark(conn, room_id, "agents_mailed_upto", upto, last_id):
                    continue
                if room["assigned_admin_id"] is not None:
                    agents = await conn.fetch_all(
                        "SELECT id, name, email, locale FROM users WHERE id = ? AND role = 'admin' "
                        "AND email IS NOT NULL AND deactivated_at IS NULL", room["assigned_admin_id"])
                else:
                    agents = await conn.fetch_all(
                        "SELECT id, name, email, locale FROM users WHERE role = 'admin' AND email IS NOT NULL "
                        "AND deactivated_at IS NULL ORDER BY id")
                for agent in agents:
                    loc = _locale(m.catalogues, agent["locale"])
                    lines = await m._lines(conn, _BURST, room_id, "user", upto, last_id, locale=loc,
                                           visitor_view=False)
                    if not lines:
                        break
                    text = m.catalogues.text
                    name = room["name"]
                    rendered = render(
                        m.catalogues, loc,
                        subject=text(loc, "mail.agent.subject", {"name": name}),
                        intro=text(loc, "mail.agent.intro", {"name": name, "count": len(lines)}),
                        lines=lines, link=m.panel_link(room_id), link_label=text(loc, "mail.agent.open"),
                    )
                    await m.enqueue(conn, kind="agent", room_id=room_id, recipient_id=int(agent["id"]),
                                    recipient=agent["email"], locale=loc, rendered=rendered, reply_to=None)
                    written += 1
        return written

    async def _closing_transcripts(self) -> int:
        m = self.mailer
        rooms = await m.db.fetch_all(
            "SELECT r.id AS room_id, r.closed_at, mr.closed_mailed_at, u.id, u.name, u.email, u.locale "
            "FROM support_chat_rooms r JOIN users u ON u.id = r.user_id "
            "LEFT JOIN mail_rooms mr ON mr.room_id = r.id "
            "WHERE r.status = 'closed' AND r.closed_at >= ? AND u.email IS NOT NULL AND u.deactivated_at IS NULL "
            "AND (mr.closed_mailed_at IS NULL OR mr.closed_mailed_at < r.closed_at)",
            utcnow() - CLOSED_WINDOW,
        )
        written = 0
        for room in rooms:
            room_id = int(room["room_id"])
            async with m.db.transaction() as conn:
                if not await self._mark(conn, room_id, "closed_mailed_at", room["closed_mailed_at"], room["closed_at"]):
                    continue
                await m.queue_transcript(conn, room_id, room)
                written += 1
        return written


# --------------------------------------------------------------------------- the relay


def _classify(exc: BaseException) -> bool:
    """True when the refusal is permanent (5xx); False when a later attempt may succeed."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(r.code >= 500 for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return False  # the configuration is wrong, not the mail: retried until fixed or too old
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return 500 <= exc.code < 600
    return False


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        return f"{first.code} {first.message}"[:500]
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


class MailRelay(BackgroundLoop):
    """Claims due mail rows, sends them, and marks each sent, retried or given up."""

    task_name = "chatapp-mail-relay"

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        self._wake = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return self.mailer.enabled

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                while await self.pass_once():
                    pass
            except DatabaseUnavailable as exc:
                log.warning("mail relay pass skipped: %s", exc)
            except Exception:  # one bad pass must not end the loop
                log.exception("mail relay pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.mailer.settings.mail_interval)
            except TimeoutError:
                pass

    async def claim(self) -> list[Row]:
        m = self.mailer
        assert m.smtp is not None
        now = utcnow()
        lease = now + timedelta(seconds=(BATCH + 1) * m.smtp.timeout * 2)
        lock = " FOR UPDATE SKIP LOCKED" if m.db.dialect == "postgres" else ""
        async with m.db.transaction() as conn:
            rows: list[Row] = await conn.fetch_all(
                "UPDATE mail_outbox SET lease_until = ?, lease_owner = ?, attempts = attempts + 1 "
                "WHERE id IN (SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= ? "
                f"AND (lease_until IS NULL OR lease_until < ?) ORDER BY id LIMIT {BATCH}{lock}) "
                "RETURNING id, kind, room_id, recipient, locale, message_id, subject, body_text, body_html, "
                "reply_to, attempts, created_at",
                lease, m.instance, now, now,
            )
        return rows

    async def pass_once(self) -> bool:
        """Send one claimed batch; True when there may be more due right now."""
        rows = await self.claim()
        for row in sorted(rows, key=lambda r: int(r["id"])):
            await self._deliver(row)
        return len(rows) == BATCH

    async def _deliver(self, row: Row) -> None:
        m = self.mailer
        assert m.smtp is not None and m.sender is not None
        message = compose(
            sender=m.sender.header(), recipient=row["recipient"], subject=row["subject"], text=row["body_text"],
            html_body=row["body_html"], message_id=row["message_id"], locale=row["locale"],
            reply_to=row["reply_to"], thread_id=m.thread_id(int(row["room_id"])) if row["room_id"] else None,
            date=row["created_at"],
        )
        smtp = m.smtp
        try:
            await aiosmtplib.send(
                message, sender=m.sender.address, recipients=[row["recipient"]], hostname=smtp.host, port=smtp.port,
                username=smtp.username, password=smtp.password, use_tls=smtp.use_tls, start_tls=smtp.start_tls,
                timeout=smtp.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self._failed(row, exc)
            return
        await m.db.execute(
            "UPDATE mail_outbox SET status = 'sent', sent_at = ?, lease_until = NULL, last_error = NULL "
            "WHERE id = ? AND lease_owner = ?", utcnow(), row["id"], m.instance,
        )
        m.counters.sent += 1
        log.info("mail %s (%s) sent to %s", row["id"], row["kind"], row["recipient"])

    async def _failed(self, row: Row, exc: BaseException) -> None:
        m = self.mailer
        reason = _reason(exc)
        now = utcnow()
        too_old = (now - row["created_at"]).total_seconds() >= m.settings.mail_max_age
        if _classify(exc) or too_old:
            why = reason if not too_old or _classify(exc) else f"gave up after {row['attempts']} attempts: {reason}"
            await m.db.execute(
                "UPDATE mail_outbox SET status = 'failed', lease_until = NULL, last_error = ? "
                "WHERE id = ? AND lease_owner = ?", why, row["id"], m.instance,
            )
            m.counters.failed += 1
            log.warning("mail %s to %s given up: %s", row["id"], row["recipient"], why)
            return
        delay = min(FIRST_RETRY * 2 ** (int(row["attempts"]) - 1), LAST_RETRY)
        await m.db.execute(
            "UPDATE mail_outbox SET next_attempt_at = ?, lease_until = NULL, last_error = ? "
            "WHERE id = ? AND lease_owner = ?", now + timedelta(seconds=delay), reason, row["id"], m.instance,
        )
        m.counters.retried += 1
        log.info("mail %s to %s retried in %gs: %s", row["id"], row["recipient"], delay, reason)
