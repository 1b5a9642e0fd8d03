"""One frozen Settings object for chatapp, read once from the environment.

Realtime settings use Laravel's own names (``REVERB_APP_ID``, ``REVERB_HOST``, ...)
so the ``.env`` of the brief configures chatapp unchanged; everything chatapp adds
is prefixed ``CHATAPP_``. ``config/chatapp.env.example`` documents every name.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pyreverb.envparse import ConfigError, env_bool, env_float, env_int

__all__ = ["Settings", "RateLimit", "ConfigError", "DEFAULT_PUSH_HOSTS"]

# The push services browsers use: FCM (Chrome and most Chromium browsers), Mozilla autopush
# (Firefox), Apple (Safari) and WNS (Edge on Windows).
DEFAULT_PUSH_HOSTS: tuple[str, ...] = (
    "fcm.googleapis.com",
    "*.push.services.mozilla.com",
    "*.push.apple.com",
    "*.notify.windows.com",
)
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` actions per ``seconds`` for one actor."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, name: str, raw: str) -> RateLimit:
        count, sep, seconds = raw.partition("/")
        try:
            limit = cls(int(count), float(seconds)) if sep else None
        except ValueError:
            limit = None
        if limit is None or limit.count < 1 or limit.seconds <= 0:
            raise ConfigError(f"{name} must look like COUNT/SECONDS (e.g. 20/10), got {raw!r}")
        return limit


@dataclass(frozen=True)
class Settings:
    """Everything chatapp needs; validated once at start-up."""

    database_url: str = "sqlite:///var/chatapp.sqlite3"
    # Seconds a request waits for a locked SQLite file or a PostgreSQL connection before a 503.
    db_timeout: float = 5.0
    # Token signing; when empty a random key is generated once and kept in the database.
    secret_key: str = ""
    token_ttl: int = 7 * 24 * 3600
    guest_token_ttl: int = 30 * 24 * 3600
    # A support admin's session ends after this many seconds without an API call (0: never).
    admin_idle_timeout: int = 24 * 3600
    # Host-site identity (HS256 JWT signed by the site's backend); empty disables it.
    identity_secret: str = ""
    identity_max_age: int = 24 * 3600
    # When set, identity tokens must carry exactly this 'aud' / 'iss' (docs/identity.md).
    identity_audience: str = ""
    identity_issuer: str = ""
    # Sign-up with e-mail and password; from_env turns it off by default when the host site
    # vouches for its users (CHATAPP_IDENTITY_SECRET), where a second way in only adds risk.
    allow_registration: bool = True
    allow_guests: bool = True
    # Publishing through pyreverb's (Pusher) HTTP API.
    reverb_app_id: str = ""
    reverb_key: str = ""
    reverb_secret: str = ""
    reverb_host: str = "127.0.0.1"
    reverb_port: int = 8080
    reverb_scheme: str = "http"
    reverb_path: str = ""
    # What browsers use to reach pyreverb (behind nginx it differs from the above).
    public_reverb_host: str = ""
    public_reverb_port: int = 0
    public_reverb_scheme: str = ""
    broadcast_timeout: float = 2.0
    broadcast_retries: int = 3
    broadcast_queue_size: int = 1000
    # The outbox: a durable event is retried until it is this many seconds old, then dropped.
    outbox_max_age: float = 24 * 3600
    # Seconds between looks for rows another instance wrote (this process's own commits wake the relay).
    outbox_poll_interval: float = 1.0
    # Seconds a relay pass woken by a commit waits after the pass before it, so that under load
    # the events of several messages share one pass (chatapp.outbox.Relay); 0 sends each at once.
    outbox_linger: float = 0.010
    # Content limits.
    max_message_length: int = 5000
    max_subject_length: int = 200
    upload_dir: str = "var/uploads"
    # Where attachments live: "local" (upload_dir) or "s3" (an S3-compatible bucket, shared by
    # every instance; docs/chatapp.md, "Attachments").
    storage: str = "local"
    s3_endpoint: str = ""  # empty: AWS S3 itself; e.g. http://minio:9000
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""  # empty: boto3's usual credential chain (instance role, AWS_* variables)
    s3_secret_access_key: str = ""
    # Path-style addressing (endpoint/bucket/key), which MinIO and most self-hosted servers need.
    s3_path_style: bool = False
    # Message catalogues (one <locale>.json each); empty: the ones chatapp ships (chatapp/locales).
    locales_dir: str = ""
    max_upload_bytes: int = 10 * 1024 * 1024
    public_url: str = ""
    # Per-actor rate limits.
    rate_messages: RateLimit = RateLimit(20, 10)
    rate_typing: RateLimit = RateLimit(60, 10)
    rate_uploads: RateLimit = RateLimit(10, 60)
    rate_auth: RateLimit = RateLimit(30, 60)
    # Failed sign-ins per account and client address (chatapp.login_throttle explains the rules).
    rate_login_failures: RateLimit = RateLimit(5, 900)
    # Failures per account, from any addresses, before failing addresses back off exponentially.
    login_backoff_after: int = 20
    login_backoff_max: float = 900.0
    # Redis shared by every instance (rate limits, the sign-in throttle); empty: per process.
    redis_url: str = ""
    # Prefix of chatapp's Redis keys, so several deployments (or tests) can share one server.
    redis_prefix: str = "chatapp"
    # Web Push.
    push_enabled: bool = True
    vapid_private_key: str = ""
    vapid_subject: str = "mailto:support@localhost"
    push_ttl: int = 3600
    # Plain-http push endpoints are for local test receivers only (each one is an outbound request).
    push_allow_insecure: bool = False
    # Hosts push endpoints may be on: the browsers' push services ("*.x" = any subdomain of x).
    push_hosts: tuple[str, ...] = DEFAULT_PUSH_HOSTS
    # For local testing only: let pushes reach loopback, private and link-local addresses.
    push_allow_private_addresses: bool = False
    # Subscriptions kept per user (one per browser); a new one past this replaces the oldest.
    push_max_subscriptions: int = 5
    rate_push_subscriptions: RateLimit = RateLimit(10, 60)
    cors_origins: tuple[str, ...] = ("*",)
    # Proxies (IPs/CIDRs) whose X-Forwarded-For is believed; empty = clients connect directly.
    trusted_proxies: tuple[str, ...] = ()
    # Resolved chats nobody wrote in for this many days are closed (0 = never); checked every
    # auto_close_interval seconds.
    auto_close_days: float = 7.0
    auto_close_interval: float = 300.0
    # Closed chats are deleted with their files this many days after they closed (0 = never, the
    # default); checked every retention_interval seconds (chatapp.retention).
    retention_days: float = 0.0
    retention_interval: float = 3600.0
    # Seconds between two looks for snoozed chats whose time has come (chatapp.snooze).
    snooze_interval: float = 15.0
    # Automatic assignment of new chats (chatapp.routing) until an admin switches it in the panel.
    auto_assign: bool = True
    # Seconds between two checks for missed messages by an open conversation whose socket is
    # up (a closed widget with a live socket does not check at all).
    live_poll_interval: float = 30.0
    # E-mail (chatapp.mail; docs/chatapp.md, "E-mail"): off while smtp_url is empty.
    # smtp://user:pass@host:port, smtps:// for TLS, ?starttls=1 to upgrade a plain connection.
    smtp_url: str = ""
    mail_from: str = ""  # "Support <support@example.com>"; its domain carries the reply addresses
    # Seconds an agent reply stays unread (or a visitor message unseen) before it is mailed.
    mail_delay: float = 300.0
    # Seconds between two looks for due notifications and unsent mail (a commit here wakes the relay).
    mail_interval: float = 30.0
    # A mail the SMTP server keeps refusing for now (4xx, unreachable) is given up at this age.
    mail_max_age: float = 2 * 86400.0
    mail_transcript_on_close: bool = False  # mail the visitor the transcript when the chat is closed
    # The page the visitor's mails link back to ({room_id} is filled); empty: public_url + "/?chat=open".
    mail_chat_url: str = ""
    # The shared secret of POST /api/mail/inbound (header X-Inbound-Secret or ?secret=); empty: off.
    inbound_mail_secret: str = ""
    debug: bool = False

    @property
    def reverb_base_url(self) -> str:
        path = "/" + self.reverb_path.strip("/") if self.reverb_path.strip("/") else ""
        return f"{self.reverb_scheme}://{self.reverb_host}:{self.reverb_port}{path}"

    @property
    def reverb_configured(self) -> bool:
        return bool(self.reverb_app_id and self.reverb_key and self.reverb_secret)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        d = cls()
        creds = [env.get(n, "") for n in ("REVERB_APP_ID", "REVERB_APP_KEY", "REVERB_APP_SECRET")]
        if any(creds) and not all(creds):
            raise ConfigError("REVERB_APP_ID, REVERB_APP_KEY and REVERB_APP_SECRET must be set together")
        scheme = env.get("REVERB_SCHEME", d.reverb_scheme) or d.reverb_scheme
        if scheme not in ("http", "https"):
            raise ConfigError(f"REVERB_SCHEME must be http or https, got {scheme!r}")
        settings = cls(
            database_url=env.get("DATABASE_URL") or d.database_url,
            db_timeout=_float(env, "CHATAPP_DB_TIMEOUT", d.db_timeout),
            secret_key=env.get("CHATAPP_SECRET_KEY", ""),
            token_ttl=_int(env, "CHATAPP_TOKEN_TTL", d.token_ttl),
            guest_token_ttl=_int(env, "CHATAPP_GUEST_TOKEN_TTL", d.guest_token_ttl),
            admin_idle_timeout=_int(env, "CHATAPP_ADMIN_IDLE_TIMEOUT", d.admin_idle_timeout),
            identity_secret=env.get("CHATAPP_IDENTITY_SECRET", ""),
            identity_max_age=_int(env, "CHATAPP_IDENTITY_MAX_AGE", d.identity_max_age),
            identity_audience=env.get("CHATAPP_IDENTITY_AUDIENCE", "").strip(),
            identity_issuer=env.get("CHATAPP_IDENTITY_ISSUER", "").strip(),
            allow_registration=_bool(env, "CHATAPP_ALLOW_REGISTRATION", not env.get("CHATAPP_IDENTITY_SECRET")),
            allow_guests=_bool(env, "CHATAPP_ALLOW_GUESTS", d.allow_guests),
            reverb_app_id=creds[0],
            reverb_key=creds[1],
            reverb_secret=creds[2],
            reverb_host=env.get("REVERB_HOST") or d.reverb_host,
            reverb_port=_int(env, "REVERB_PORT", d.reverb_port),
            reverb_scheme=scheme,
            reverb_path=env.get("REVERB_SERVER_PATH", ""),
            public_reverb_host=env.get("CHATAPP_PUBLIC_REVERB_HOST", ""),
            public_reverb_port=_int(env, "CHATAPP_PUBLIC_REVERB_PORT", 0),
            public_reverb_scheme=env.get("CHATAPP_PUBLIC_REVERB_SCHEME", ""),
            broadcast_timeout=_float(env, "CHATAPP_BROADCAST_TIMEOUT", d.broadcast_timeout),
            broadcast_retries=_int(env, "CHATAPP_BROADCAST_RETRIES", d.broadcast_retries),
            broadcast_queue_size=_int(env, "CHATAPP_BROADCAST_QUEUE_SIZE", d.broadcast_queue_size),
            outbox_max_age=_float(env, "CHATAPP_OUTBOX_MAX_AGE", d.outbox_max_age),
            outbox_poll_interval=_float(env, "CHATAPP_OUTBOX_POLL_INTERVAL", d.outbox_poll_interval),
            outbox_linger=_float(env, "CHATAPP_OUTBOX_LINGER", d.outbox_linger),
            max_message_length=_int(env, "CHATAPP_MAX_MESSAGE_LENGTH", d.max_message_length),
            upload_dir=env.get("CHATAPP_UPLOAD_DIR") or d.upload_dir,
            storage=(env.get("CHATAPP_STORAGE") or d.storage).strip().lower(),
            s3_endpoint=env.get("CHATAPP_S3_ENDPOINT", "").strip(),
            s3_bucket=env.get("CHATAPP_S3_BUCKET", "").strip(),
            s3_region=env.get("CHATAPP_S3_REGION", "").strip() or d.s3_region,
            s3_access_key_id=env.get("CHATAPP_S3_ACCESS_KEY_ID", ""),
            s3_secret_access_key=env.get("CHATAPP_S3_SECRET_ACCESS_KEY", ""),
            s3_path_style=_bool(env, "CHATAPP_S3_PATH_STYLE", d.s3_path_style),
            locales_dir=env.get("CHATAPP_LOCALES_DIR") or d.locales_dir,
            max_upload_bytes=_int(env, "CHATAPP_MAX_UPLOAD_BYTES", d.max_upload_bytes),
            public_url=(env.get("CHATAPP_PUBLIC_URL") or "").rstrip("/"),
            rate_messages=_rate(env, "CHATAPP_RATE_MESSAGES", d.rate_messages),
            rate_typing=_rate(env, "CHATAPP_RATE_TYPING", d.rate_typing),
            rate_uploads=_rate(env, "CHATAPP_RATE_UPLOADS", d.rate_uploads),
            rate_auth=_rate(env, "CHATAPP_RATE_AUTH", d.rate_auth),
            rate_login_failures=_rate(env, "CHATAPP_RATE_LOGIN_FAILURES", d.rate_login_failures),
            login_backoff_after=_int(env, "CHATAPP_LOGIN_BACKOFF_AFTER", d.login_backoff_after),
            login_backoff_max=_float(env, "CHATAPP_LOGIN_BACKOFF_MAX", d.login_backoff_max),
            redis_url=env.get("CHATAPP_REDIS_URL", "").strip(),
            redis_prefix=env.get("CHATAPP_REDIS_PREFIX", "").strip() or d.redis_prefix,
            push_enabled=_bool(env, "CHATAPP_PUSH_ENABLED", d.push_enabled),
            vapid_private_key=env.get("CHATAPP_VAPID_PRIVATE_KEY", ""),
            vapid_subject=env.get("CHATAPP_VAPID_SUBJECT") or d.vapid_subject,
            push_ttl=_int(env, "CHATAPP_PUSH_TTL", d.push_ttl),
            push_allow_insecure=_bool(env, "CHATAPP_PUSH_ALLOW_INSECURE", False),
            push_hosts=_host_patterns(env, "CHATAPP_PUSH_HOSTS", d.push_hosts),
            push_allow_private_addresses=_bool(env, "CHATAPP_PUSH_ALLOW_PRIVATE_ADDRESSES", False),
            push_max_subscriptions=_int(env, "CHATAPP_PUSH_MAX_SUBSCRIPTIONS", d.push_max_subscriptions),
            rate_push_subscriptions=_rate(env, "CHATAPP_RATE_PUSH_SUBSCRIPTIONS", d.rate_push_subscriptions),
            cors_origins=tuple(
                o.strip() for o in env.get("CHATAPP_CORS_ORIGINS", "*").split(",") if o.strip()
            ),
            trusted_proxies=_networks(env, "CHATAPP_TRUSTED_PROXIES"),
            auto_close_days=_float(env, "CHATAPP_AUTO_CLOSE_DAYS", d.auto_close_days),
            auto_close_interval=_float(env, "CHATAPP_AUTO_CLOSE_INTERVAL", d.auto_close_interval),
            retention_days=_float(env, "CHATAPP_RETENTION_DAYS", d.retention_days),
            retention_interval=_float(env, "CHATAPP_RETENTION_INTERVAL", d.retention_interval),
            snooze_interval=_float(env, "CHATAPP_SNOOZE_INTERVAL", d.snooze_interval),
            live_poll_interval=_float(env, "CHATAPP_LIVE_POLL_INTERVAL", d.live_poll_interval),
            auto_assign=_bool(env, "CHATAPP_AUTO_ASSIGN", d.auto_assign),
            smtp_url=env.get("CHATAPP_SMTP_URL", "").strip(),
            mail_from=env.get("CHATAPP_MAIL_FROM", "").strip(),
            mail_delay=_mail_delay(env, d.mail_delay),
            mail_interval=_float(env, "CHATAPP_MAIL_INTERVAL", d.mail_interval),
            mail_max_age=_float(env, "CHATAPP_MAIL_MAX_AGE", d.mail_max_age),
            mail_transcript_on_close=_bool(env, "CHATAPP_MAIL_TRANSCRIPT_ON_CLOSE", d.mail_transcript_on_close),
            mail_chat_url=env.get("CHATAPP_MAIL_CHAT_URL", "").strip(),
            inbound_mail_secret=env.get("CHATAPP_INBOUND_MAIL_SECRET", "").strip(),
            debug=_bool(env, "CHATAPP_DEBUG", False),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if not self.database_url.startswith(("sqlite://", "postgres://", "postgresql://")):
            raise ConfigError("DATABASE_URL must start with sqlite://, postgres:// or postgresql://")
        if not 0 < self.db_timeout <= 300:
            raise ConfigError("CHATAPP_DB_TIMEOUT must be more than 0 and at most 300 seconds")
        if self.admin_idle_timeout < 0:
            raise ConfigError("CHATAPP_ADMIN_IDLE_TIMEOUT must be 0 (off) or a number of seconds")
        if self.outbox_max_age <= 0:
            raise ConfigError("CHATAPP_OUTBOX_MAX_AGE must be a positive number of seconds")
        if not 0 < self.outbox_poll_interval <= 3600:
            raise ConfigError("CHATAPP_OUTBOX_POLL_INTERVAL must be more than 0 and at most 3600 seconds")
        if not 0 <= self.outbox_linger <= 1:
            raise ConfigError("CHATAPP_OUTBOX_LINGER must be from 0 to 1 second")
        if self.login_backoff_after < 1 or self.login_backoff_max < 1:
            raise ConfigError("CHATAPP_LOGIN_BACKOFF_AFTER and CHATAPP_LOGIN_BACKOFF_MAX must be at least 1")
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("CHATAPP_REDIS_URL must start with redis://, rediss:// or unix://")
        if self.auto_close_days < 0:
            raise ConfigError("CHATAPP_AUTO_CLOSE_DAYS must be 0 (never) or a number of days")
        if not 0 < self.auto_close_interval <= 86400:
            raise ConfigError("CHATAPP_AUTO_CLOSE_INTERVAL must be more than 0 and at most 86400 seconds")
        if not 0 < self.snooze_interval <= 3600:
            raise ConfigError("CHATAPP_SNOOZE_INTERVAL must be more than 0 and at most 3600 seconds")
        if self.retention_days < 0:
            raise ConfigError("CHATAPP_RETENTION_DAYS must be 0 (keep forever) or a number of days")
        if not 0 < self.retention_interval <= 86400:
            raise ConfigError("CHATAPP_RETENTION_INTERVAL must be more than 0 and at most 86400 seconds")
        if self.max_message_length < 1:
            raise ConfigError("CHATAPP_MAX_MESSAGE_LENGTH must be at least 1")
        if self.storage not in ("local", "s3"):
            raise ConfigError(f"CHATAPP_STORAGE must be local or s3, got {self.storage!r}")
        if self.storage == "s3" and not self.s3_bucket:
            raise ConfigError("CHATAPP_STORAGE=s3 needs CHATAPP_S3_BUCKET")
        if self.s3_endpoint and not self.s3_endpoint.startswith(("http://", "https://")):
            raise ConfigError("CHATAPP_S3_ENDPOINT must be an http:// or https:// URL")
        if bool(self.s3_access_key_id) != bool(self.s3_secret_access_key):
            raise ConfigError("CHATAPP_S3_ACCESS_KEY_ID and CHATAPP_S3_SECRET_ACCESS_KEY must be set together")
        if self.max_upload_bytes < 1:
            raise ConfigError("CHATAPP_MAX_UPLOAD_BYTES must be at least 1")
        if self.secret_key and len(self.secret_key) < 16:
            raise ConfigError("CHATAPP_SECRET_KEY must be at least 16 characters")
        if self.identity_secret and len(self.identity_secret) < 16:
            raise ConfigError("CHATAPP_IDENTITY_SECRET must be at least 16 characters")
        if not self.vapid_subject.startswith(("mailto:", "https://")):
            raise ConfigError("CHATAPP_VAPID_SUBJECT must be a mailto: or https:// URL")
        if not 1 <= self.live_poll_interval <= 3600:
            raise ConfigError("CHATAPP_LIVE_POLL_INTERVAL must be between 1 and 3600 seconds")
        if self.push_max_subscriptions < 1:
            raise ConfigError("CHATAPP_PUSH_MAX_SUBSCRIPTIONS must be at least 1")
        self._validate_mail()

    def _validate_mail(self) -> None:
        from chatapp.mail.config import MailConfigError, parse_mail_from, parse_smtp_url

        try:
            if self.smtp_url:
                parse_smtp_url(self.smtp_url)
                if not self.mail_from:
                    raise ConfigError("CHATAPP_SMTP_URL needs CHATAPP_MAIL_FROM (the sender, e.g. support@example.com)")
            if self.mail_from:
                parse_mail_from(self.mail_from)
        except MailConfigError as exc:
            raise ConfigError(str(exc)) from None
        if self.mail_delay < 0:
            raise ConfigError("CHATAPP_MAIL_DELAY_MINUTES must be 0 or more")
        if not 0 < self.mail_interval <= 3600:
            raise ConfigError("CHATAPP_MAIL_INTERVAL must be more than 0 and at most 3600 seconds")
        if self.mail_max_age <= 0:
            raise ConfigError("CHATAPP_MAIL_MAX_AGE must be a positive number of seconds")
        if self.mail_chat_url and not self.mail_chat_url.startswith(("http://", "https://")):
            raise ConfigError("CHATAPP_MAIL_CHAT_URL must be an http:// or https:// URL")
        if self.inbound_mail_secret and len(self.inbound_mail_secret) < 16:
            raise ConfigError("CHATAPP_INBOUND_MAIL_SECRET must be at least 16 characters")


# pyreverb's strict parser, shared so both packages read the environment alike: unset or
# blank means the default, anything malformed is a ConfigError naming the variable.
_int, _float, _bool = env_int, env_float, env_bool


def _mail_delay(env: Mapping[str, str], default: float) -> float:
    """CHATAPP_MAIL_DELAY_MINUTES (default 5); CHATAPP_MAIL_DELAY_SECONDS, when set, wins (tests, fine tuning)."""
    seconds = _float(env, "CHATAPP_MAIL_DELAY_SECONDS", -1.0)
    if seconds >= 0:
        return seconds
    return _float(env, "CHATAPP_MAIL_DELAY_MINUTES", default / 60) * 60


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or CIDR networks, each checked (a typo must not silently trust nobody)."""
    found: list[str] = []
    for item in (part.strip() for part in env.get(name, "").split(",")):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(f"{name} must list IP addresses or CIDR networks, got {item!r}") from None
        found.append(str(network.network_address) if network.num_addresses == 1 else str(network))
    return tuple(found)


def _host_patterns(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Comma-separated host names, IP addresses or ``*.domain`` patterns; empty keeps ``default``."""
    found: list[str] = []
    for item in (part.strip().lower().rstrip(".") for part in env.get(name, "").split(",")):
        if not item:
            continue
        name_part = item[2:] if item.startswith("*.") else item
        if not (_HOST_NAME.fullmatch(name_part) or _is_ip(name_part)):
            raise ConfigError(f"{name} must list host names or *.domain patterns, got {item!r}")
        found.append(item)
    return tuple(found) or default


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _rate(env: Mapping[str, str], name: str, default: RateLimit) -> RateLimit:
    raw = env.get(name)
    return default if raw is None or raw.strip() == "" else RateLimit.parse(name, raw.strip())
