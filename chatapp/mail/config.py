"""``CHATAPP_SMTP_URL`` and ``CHATAPP_MAIL_FROM`` read into what the relay needs.

``smtp://user:pass@host:port`` (port 25 by default), ``smtps://`` for TLS from the first
byte (port 465), ``?starttls=1`` to upgrade a plain connection (port 587 usually);
``?timeout=`` seconds per SMTP command (default 30). User and password are URL-decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["MailConfigError", "SmtpConfig", "Sender", "parse_smtp_url", "parse_mail_from"]


class MailConfigError(ValueError):
    """A malformed CHATAPP_SMTP_URL or CHATAPP_MAIL_FROM; the message names the variable."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False  # smtps://
    start_tls: bool = False  # ?starttls=1
    timeout: float = 30.0

    def describe(self) -> str:
        """For the status page and logs: never the password."""
        scheme = "smtps" if self.use_tls else "smtp"
        tls = "?starttls=1" if self.start_tls else ""
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}{tls}"


@dataclass(frozen=True)
class Sender:
    name: str
    address: str

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]

    def header(self) -> str:
        return str(Address(self.name, addr_spec=self.address)) if self.name else self.address


def parse_smtp_url(url: str) -> SmtpConfig:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise MailConfigError("CHATAPP_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise MailConfigError("CHATAPP_SMTP_URL names no host (smtp://user:pass@host:port)")
    try:
        port = parts.port
    except ValueError:
        raise MailConfigError("CHATAPP_SMTP_URL has a port that is not a number") from None
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls", "timeout"}
    if unknown:
        raise MailConfigError(f"CHATAPP_SMTP_URL: unknown option {sorted(unknown)[0]!r} (starttls, timeout)")
    start_tls = query.get("starttls", "0").lower() in ("1", "true", "yes", "on")
    use_tls = parts.scheme == "smtps"
    if use_tls and start_tls:
        raise MailConfigError("CHATAPP_SMTP_URL: smtps:// is TLS already; starttls=1 is for smtp://")
    try:
        timeout = float(query.get("timeout", "30"))
    except ValueError:
        raise MailConfigError("CHATAPP_SMTP_URL: timeout must be a number of seconds") from None
    if timeout <= 0:
        raise MailConfigError("CHATAPP_SMTP_URL: timeout must be positive")
    return SmtpConfig(
        host=parts.hostname,
        port=port or (465 if use_tls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        use_tls=use_tls,
        start_tls=start_tls,
        timeout=timeout,
    )


def parse_mail_from(value: str) -> Sender:
    name, address = parseaddr(value)
    if "@" not in address or address.startswith("@") or address.endswith("@") or " " in address:
        raise MailConfigError(
            f"CHATAPP_MAIL_FROM must be an address like 'Support <support@example.com>', got {value!r}"
        )
    return Sender(name, address)
