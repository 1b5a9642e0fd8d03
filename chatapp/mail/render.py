"""Mail bodies in the recipient's language: a plain text part and an HTML part of the same words.

Every visible string comes from the message catalogues (``mail.*`` keys, chatapp/locales);
system messages of a transcript are rendered from their code like everywhere else. The
stored row holds subject and both bodies; :func:`compose` adds the headers at send time.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from babel.dates import format_datetime as babel_datetime

from chatapp.i18n import Catalogues

__all__ = ["Line", "Rendered", "line_of", "render", "compose"]


@dataclass(frozen=True)
class Line:
    """One message of the conversation as a mail shows it."""

    who: str
    at: datetime
    text: str


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def line_of(row: dict[str, Any], catalogues: Catalogues, locale: str, *, visitor_view: bool) -> Line:
    """A message row (sender_role, sender_name, body, system_code, system_params, file_name, created_at)."""
    role = row["sender_role"]
    if role == "system":
        who = ""
        text = row["body"]
        if row.get("system_code"):
            params = json.loads(row["system_params"]) if row.get("system_params") else {}
            text = catalogues.text(locale, row["system_code"], params)
    else:
        if role == "user":
            who = catalogues.text(locale, "thread.you") if visitor_view else (row.get("sender_name") or "")
        else:
            who = row.get("sender_name") or catalogues.text(locale, "thread.support")
        text = row["body"]
        if row.get("file_name"):
            file_note = catalogues.text(locale, "push.file", {"file": row["file_name"]})
            text = f"{text}\n{file_note}" if text else file_note
    return Line(who, row["created_at"], text)


def _when(locale: str, at: datetime) -> str:
    try:
        return str(babel_datetime(at, format="short", locale=locale.replace("-", "_"), tzinfo=UTC)) + " UTC"
    except (ValueError, LookupError):
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def render(
    catalogues: Catalogues,
    locale: str,
    *,
    subject: str,
    intro: str,
    lines: list[Line],
    link: str | None = None,
    link_label: str = "",
    hint: str = "",
    footer: str = "",
) -> Rendered:
    """``footer``: why the recipient gets this mail; by default, because they wrote to the chat."""
    footer = footer or catalogues.text(locale, "mail.footer")
    text_parts = [intro, ""]
    html_lines = []
    for line in lines:
        stamp = _when(locale, line.at)
        head = f"{line.who} ({stamp})" if line.who else f"({stamp})"
        text_parts += [head + ":", *(f"  {t}" for t in line.text.splitlines() or [""]), ""]
        body = "<br>".join(html.escape(t) for t in line.text.splitlines())
        who = f"<strong>{html.escape(line.who)}</strong> " if line.who else ""
        html_lines.append(
            f'<div style="margin:0 0 12px"><div style="color:#555;font-size:13px">{who}'
            f'<span>{html.escape(stamp)}</span></div><div style="white-space:pre-wrap">{body}</div></div>'
        )
    if link:
        text_parts += [f"{link_label}: {link}", ""]
    if hint:
        text_parts += [hint, ""]
    text_parts += ["-- ", footer]
    button = (
        f'<p><a href="{html.escape(link, quote=True)}" style="display:inline-block;padding:8px 14px;'
        f'background:#2563eb;color:#fff;border-radius:6px;text-decoration:none">{html.escape(link_label)}</a></p>'
        if link else ""
    )
    hint_html = f"<p>{html.escape(hint)}</p>" if hint else ""
    lang = html.escape(locale, quote=True)
    page = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(subject)}</title>'
        f'</head><body style="font-family:sans-serif;line-height:1.4;color:#111">'
        f"<p>{html.escape(intro)}</p>{''.join(html_lines)}{button}{hint_html}"
        f'<p style="color:#777;font-size:12px">{html.escape(footer)}</p></body></html>'
    )
    return Rendered(subject, "\n".join(text_parts).rstrip() + "\n", page)


def compose(
    *,
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html_body: str,
    message_id: str,
    locale: str,
    reply_to: str | None,
    thread_id: str | None,
    date: datetime,
) -> EmailMessage:
    """The message as it goes over SMTP (the same Message-ID on every attempt)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = format_datetime(date.astimezone(UTC))
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to these
    if reply_to:
        msg["Reply-To"] = reply_to
    if thread_id:  # every mail of one conversation in one thread of the mail client
        msg["References"] = thread_id
    msg.set_content(text)
    msg.add_alternative(html_body, subtype="html")
    msg["Content-Language"] = locale  # after the parts: set_content drops Content-* headers
    return msg
