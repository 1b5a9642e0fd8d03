"""One immutable Settings object, built once from env, a JSON file and CLI flags.

Environment names are Laravel Reverb's own (``REVERB_*``) so an existing Reverb
``.env`` configures pyreverb unchanged. Several apps come from a JSON file
(``PYREVERB_APPS_FILE``); the default app comes from ``REVERB_APP_ID/KEY/SECRET``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

__all__ = ["AppConfig", "Settings", "ConfigError", "ClientEventsFrom"]

ClientEventsFrom = Literal["members", "all", "none"]


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class AppConfig:
    """Credentials and per-app limits, as Reverb's ``apps.apps[]`` entries."""

    app_id: str
    key: str
    secret: str
    allowed_origins: tuple[str, ...] = ("*",)
    ping_interval: float = 60.0
    activity_timeout: int = 30
    pong_timeout: float = 30.0
    max_connections: int | None = None
    max_message_size: int = 10_000
    accept_client_events_from: ClientEventsFrom = "members"
    max_presence_members: int = 100
    max_channels_per_connection: int = 500
    enabled: bool = True
    # Client-event rate limit (Reverb's RATE_LIMIT_* names).
    rate_limiting_enabled: bool = False
    rate_limit_max_attempts: int = 60
    rate_limit_decay_seconds: float = 60.0
    rate_limit_terminate: bool = False
    # Sign-in and cache channels (extended protocol).
    user_authentication_timeout: float | None = None
    cache_ttl: float = 3600.0
    webhooks: tuple[Mapping[str, Any], ...] = ()

    @property
    def client_events_enabled(self) -> bool:
        return self.accept_client_events_from != "none"


@dataclass(frozen=True)
class Settings:
    """Everything the server needs; validated once at start-up."""

    apps: tuple[AppConfig, ...]
    host: str = "0.0.0.0"
    port: int = 8080
    path: str = ""
    debug: bool = False
    max_request_size: int = 102_400
    event_data_limit: int = 10_240
    max_channels_per_trigger: int = 100
    max_batch_size: int = 10
    timestamp_tolerance: int = 600
    shutdown_timeout: float = 10.0
    http_keep_alive: float = 5.0
    # the compiled trigger path (pyreverb._speedups), when it was built
    speedups: bool = True
    max_send_buffer: int = 4 * 1024 * 1024
    scaling_enabled: bool = False
    scaling_channel: str = "reverb"
    redis_url: str = "redis://127.0.0.1:6379/0"
    node_id: str | None = None
    metrics_enabled: bool = False
    metrics_token: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        """The mount path without a trailing slash ('' or '/ws')."""
        p = self.path.strip()
        if not p or p == "/":
            return ""
        return "/" + p.strip("/")

    def with_overrides(self, **changes: Any) -> Settings:
        clean = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **clean)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        apps_file = env.get("PYREVERB_APPS_FILE")
        apps = list(_apps_from_file(Path(apps_file))) if apps_file else []
        default = _default_app(env)
        if default is not None and not any(a.app_id == default.app_id for a in apps):
            apps.insert(0, default)
        if not apps:
            raise ConfigError(
                "no app configured: set REVERB_APP_ID, REVERB_APP_KEY and REVERB_APP_SECRET "
                "or PYREVERB_APPS_FILE"
            )
        _check_unique(apps)
        return cls(
            apps=tuple(apps),
            host=env.get("REVERB_SERVER_HOST", "0.0.0.0"),
            port=_int(env, "REVERB_SERVER_PORT", 8080),
            path=env.get("REVERB_SERVER_PATH", ""),
            debug=_bool(env, "REVERB_DEBUG", False),
            max_request_size=_int(env, "REVERB_MAX_REQUEST_SIZE", 102_400),
            event_data_limit=_int(env, "PYREVERB_EVENT_DATA_LIMIT", 10_240),
            timestamp_tolerance=_int(env, "PYREVERB_TIMESTAMP_TOLERANCE", 600),
            shutdown_timeout=_float(env, "PYREVERB_SHUTDOWN_TIMEOUT", 10.0),
            http_keep_alive=_float(env, "PYREVERB_HTTP_KEEP_ALIVE", 5.0),
            speedups=_bool(env, "PYREVERB_SPEEDUPS", True),
            max_send_buffer=_int(env, "PYREVERB_MAX_SEND_BUFFER", 4 * 1024 * 1024),
            scaling_enabled=_bool(env, "REVERB_SCALING_ENABLED", False),
            scaling_channel=env.get("REVERB_SCALING_CHANNEL", "reverb"),
            redis_url=_redis_url(env),
            node_id=env.get("PYREVERB_NODE_ID") or None,
            metrics_enabled=_bool(env, "PYREVERB_METRICS_ENABLED", False),
            metrics_token=env.get("PYREVERB_METRICS_TOKEN") or None,
            tls_cert=env.get("REVERB_TLS_CERT") or None,
            tls_key=env.get("REVERB_TLS_KEY") or None,
        )


def _default_app(env: Mapping[str, str]) -> AppConfig | None:
    app_id, key, secret = (env.get(n) for n in ("REVERB_APP_ID", "REVERB_APP_KEY", "REVERB_APP_SECRET"))
    if not (app_id or key or secret):
        return None
    if not (app_id and key and secret):
        raise ConfigError("REVERB_APP_ID, REVERB_APP_KEY and REVERB_APP_SECRET must be set together")
    origins = env.get("REVERB_APP_ALLOWED_ORIGINS", "*")
    return _app_from_mapping(
        {
            "app_id": app_id,
            "key": key,
            "secret": secret,
            "allowed_origins": [o.strip() for o in origins.split(",") if o.strip()],
            "ping_interval": _float(env, "REVERB_APP_PING_INTERVAL", 60.0),
            "activity_timeout": _int(env, "REVERB_APP_ACTIVITY_TIMEOUT", 30),
            "pong_timeout": _float(env, "PYREVERB_APP_PONG_TIMEOUT", 30.0),
            "max_connections": _int(env, "REVERB_APP_MAX_CONNECTIONS", 0) or None,
            "max_message_size": _int(env, "REVERB_APP_MAX_MESSAGE_SIZE", 10_000),
            "accept_client_events_from": env.get("REVERB_APP_ACCEPT_CLIENT_EVENTS_FROM", "members"),
            "max_presence_members": _int(env, "PYREVERB_APP_MAX_PRESENCE_MEMBERS", 100),
            "max_channels_per_connection": _int(env, "PYREVERB_APP_MAX_CHANNELS_PER_CONNECTION", 500),
            "rate_limiting_enabled": _bool(env, "REVERB_APP_RATE_LIMITING_ENABLED", False),
            "rate_limit_max_attempts": _int(env, "REVERB_APP_RATE_LIMIT_MAX_ATTEMPTS", 60),
            "rate_limit_decay_seconds": _float(env, "REVERB_APP_RATE_LIMIT_DECAY_SECONDS", 60.0),
            "rate_limit_terminate": _bool(env, "REVERB_APP_RATE_LIMIT_TERMINATE", False),
            "user_authentication_timeout": _float(env, "PYREVERB_APP_USER_AUTHENTICATION_TIMEOUT", 0.0) or None,
            "cache_ttl": _float(env, "PYREVERB_APP_CACHE_TTL", 3600.0),
            "webhooks": _webhooks_from_env(env),
        }
    )


def _webhooks_from_env(env: Mapping[str, str]) -> list[dict[str, Any]]:
    """One webhook endpoint for the default app: PYREVERB_APP_WEBHOOK_URL and friends."""
    url = env.get("PYREVERB_APP_WEBHOOK_URL")
    if not url:
        return []
    hook: dict[str, Any] = {"url": url, "batch_ms": _int(env, "PYREVERB_APP_WEBHOOK_BATCH_MS", 0)}
    events = env.get("PYREVERB_APP_WEBHOOK_EVENTS")
    if events:
        hook["event_types"] = [e.strip() for e in events.split(",") if e.strip()]
    return [hook]


_APP_FIELDS = {f for f in AppConfig.__dataclass_fields__}


def _check_types(raw: Mapping[str, Any]) -> None:
    """Reject values of the wrong type with the field's name (JSON apps files)."""
    for name, value in raw.items():
        if name in ("app_id", "key", "secret", "webhooks") or value is None:
            continue
        expected = _FIELD_TYPES.get(name)
        if name == "allowed_origins":
            if not isinstance(value, (list, tuple)) or not all(isinstance(o, str) for o in value):
                raise ConfigError("app setting 'allowed_origins' must be a list of host patterns")
        elif expected is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"app setting '{name}' must be true or false")
        elif expected in (int, float):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or (expected is int and not float(value).is_integer())
            ):
                raise ConfigError(f"app setting '{name}' must be a number")
            if value < 0:
                raise ConfigError(f"app setting '{name}' must not be negative")
        elif expected is str and not isinstance(value, str):
            raise ConfigError(f"app setting '{name}' must be a string")


_FIELD_TYPES: dict[str, type] = {
    "ping_interval": float, "activity_timeout": int, "pong_timeout": float, "max_connections": int,
    "max_message_size": int, "accept_client_events_from": str, "max_presence_members": int,
    "max_channels_per_connection": int, "enabled": bool, "rate_limiting_enabled": bool,
    "rate_limit_max_attempts": int, "rate_limit_decay_seconds": float, "rate_limit_terminate": bool,
    "user_authentication_timeout": float, "cache_ttl": float,
}


def _app_from_mapping(raw: Mapping[str, Any]) -> AppConfig:
    unknown = set(raw) - _APP_FIELDS
    if unknown:
        raise ConfigError(f"unknown app setting(s): {', '.join(sorted(unknown))}")
    _check_types(raw)
    for name in ("app_id", "key", "secret"):
        if not isinstance(raw.get(name), (str, int)) or str(raw.get(name)).strip() == "":
            raise ConfigError(f"app setting '{name}' is required")
    values = dict(raw)
    values["app_id"] = str(values["app_id"])
    values["key"] = str(values["key"])
    values["secret"] = str(values["secret"])
    if "allowed_origins" in values:
        values["allowed_origins"] = tuple(values["allowed_origins"]) or ("*",)
    if "webhooks" in values:
        if not isinstance(values["webhooks"], (list, tuple)):
            raise ConfigError("app setting 'webhooks' must be a list of endpoints")
        from pyreverb.webhooks import WebhookEndpoint  # validates each endpoint now, not at start-up

        for hook in values["webhooks"]:
            if not isinstance(hook, Mapping):
                raise ConfigError("each webhook must be an object with a 'url'")
            WebhookEndpoint.from_mapping(hook)
        values["webhooks"] = tuple(values["webhooks"])
    if values.get("accept_client_events_from", "members") not in ("members", "all", "none"):
        raise ConfigError("accept_client_events_from must be one of members, all, none")
    return AppConfig(**values)


def _apps_from_file(path: Path) -> list[AppConfig]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read apps file {path}: {exc}") from exc
    entries = doc.get("apps") if isinstance(doc, dict) else doc
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected a list of apps or {{\"apps\": [...]}}")
    return [_app_from_mapping(e) for e in entries]


def _check_unique(apps: list[AppConfig]) -> None:
    for attr in ("app_id", "key"):
        values = [getattr(a, attr) for a in apps]
        if len(values) != len(set(values)):
            raise ConfigError(f"two apps share the same {attr}")


def _redis_url(env: Mapping[str, str]) -> str:
    if env.get("REDIS_URL"):
        return env["REDIS_URL"]
    host = env.get("REDIS_HOST", "127.0.0.1")
    port = env.get("REDIS_PORT", "6379")
    db = env.get("REDIS_DB", "0")
    password = env.get("REDIS_PASSWORD")
    auth = f":{quote(password, safe='')}@" if password else ""
    return f"redis://{auth}{host}:{port}/{db}"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")
