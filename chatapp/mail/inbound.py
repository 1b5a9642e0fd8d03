"""Replies by e-mail: a raw RFC 822 message read into who wrote, to which conversation, and what.

The conversation comes from the reply address (``reply+<room>.<hmac>@domain``, only valid
with our HMAC) or, failing that, from ``In-Reply-To``/``References`` naming a mail we sent
to the visitor. The text is the ``text/plain`` part (else the HTML part without its quoted
blocks), cut where the quoted history starts: "On ... wrote:", lines starting with ">",
"-----Original Message-----", an Outlook "From:/Sent:" block, the Ukrainian and French
equivalents ("... пише:", "Le ... a écrit :", "Від:", "De :"), or a signature ("-- ").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import ClassVar

__all__ = ["InboundMail", "parse_inbound", "strip_quoted", "html_to_text", "reply_tokens"]

_TOKEN = re.compile(r"^reply\+([0-9]{1,19}\.[0-9a-fA-F]{20})@", re.I)
_MSGID = re.compile(r"<[^<>\s]+>")
# A line that opens the quoted history: everything from it on is the earlier conversation.
_CUT_LINES = [
    re.compile(p, re.I)
    for p in (
        r"^-{2,}\s*(original message|message d.origine|message original|forwarded message|message transféré|"
        r"оригінальне повідомлення|вихідне повідомлення|пересл\w* повідомлення|исходное сообщение)\s*-{2,}\s*$",
        r"^_{5,}\s*$",  # Outlook's rule above its header block
        r"^(from|de|від|от)\s*:\s*.+$",  # the header block of a quoted mail (checked with the next lines below)
    )
]
_WROTE_END = re.compile(r"(wrote|a écrit|a ecrit|пише|написав|написала|написав\(-ла\)|написал|schrieb)\s*:\s*$", re.I)
_WROTE_START = re.compile(r"^(on|le|am|\S+,?\s+\d|\d)", re.I)
_HEADER_NEXT = re.compile(r"^(sent|date|envoyé|надіслано|дата|to|à|кому|subject|objet|тема)\s*:", re.I)


@dataclass(frozen=True)
class InboundMail:
    sender: str  # the From address, lower case
    recipients: list[str]  # To, Cc, Delivered-To, X-Original-To
    references: list[str]  # In-Reply-To then References, Message-IDs with their <>
    message_id: str
    subject: str
    text: str  # the new text, quoted history removed
    auto_reply: bool  # an out-of-office or other automatic answer


def parse_inbound(raw: bytes) -> InboundMail:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    sender = parseaddr(str(msg.get("From", "")))[1].lower()
    fields = [str(v) for name in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
              for v in msg.get_all(name, [])]
    recipients = [addr for _, addr in getaddresses(fields) if addr]
    refs = _MSGID.findall(str(msg.get("In-Reply-To", "")))
    refs += reversed(_MSGID.findall(str(msg.get("References", ""))))
    auto = (
        str(msg.get("Auto-Submitted", "no")).strip().lower() not in ("", "no")
        or str(msg.get("X-Autoreply", "")).lower() == "yes"
        or str(msg.get("Precedence", "")).strip().lower() in ("auto_reply", "bulk", "junk")
    )
    return InboundMail(
        sender=sender,
        recipients=recipients,
        references=refs,
        message_id=str(msg.get("Message-ID", "")).strip(),
        subject=str(msg.get("Subject", "")),
        text=strip_quoted(_body_text(msg)),
        auto_reply=auto,
    )


def reply_tokens(addresses: list[str]) -> list[str]:
    return [m.group(1).lower() for a in addresses if (m := _TOKEN.match(a.strip()))]


def _body_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    if part is not None:
        return str(part.get_content())
    part = msg.get_body(preferencelist=("html",))
    if part is not None:
        return html_to_text(str(part.get_content()))
    return ""


def strip_quoted(text: str) -> str:
    """``text`` without the quoted history and signature that mail clients append to a reply."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        bare = line.strip()
        if line.rstrip() == "--":
            break  # a signature
        if bare.startswith(">"):
            continue
        if _CUT_LINES[0].match(bare) or _CUT_LINES[1].match(bare):
            break
        if _CUT_LINES[2].match(bare) and any(_HEADER_NEXT.match(n.strip()) for n in lines[i + 1 : i + 4]):
            break
        if _WROTE_END.search(bare) and _WROTE_START.match(bare):
            break
        # "On Mon, 1 Dec 2025 at 10:00, Support <reply+...@x>" + "wrote:" on the next line
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if _WROTE_START.match(bare) and re.search(r"\d", bare) and _WROTE_END.search(following):
            break
        kept.append(line.rstrip())
    while kept and not kept[-1].strip():
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept)


class _Text(HTMLParser):
    """Text of an HTML body, without quoted blocks (``blockquote``, Gmail's ``gmail_quote``)."""

    SKIP: ClassVar[frozenset[str]] = frozenset({"blockquote", "style", "script", "head", "title"})
    BREAKS: ClassVar[frozenset[str]] = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = " ".join(v or "" for k, v in attrs if k == "class")
        if self.skipping or tag in self.SKIP or "gmail_quote" in classes or "moz-cite-prefix" in classes:
            if tag not in ("br", "img", "hr", "meta", "link", "input"):
                self.skipping.append(tag)
            return
        if tag in self.BREAKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return
        if tag in self.BREAKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(data)


def html_to_text(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    parser.close()
    text = re.sub(r"[ \t]+", " ", "".join(parser.out))
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()
