"""One immutable Settings object, built once from env, a JSON file and CLI flags.

Environment names are Laravel Reverb's own (``REVERB_*``) so an existing Reverb
``.env`` configures pyreverb unchanged. Several apps come from a JSON file
(``PYREVERB_APPS_FILE``); the default app comes from ``REVERB_APP_ID/KEY/SECRET``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pyreverb.envparse import ConfigError, env_bool, env_float, env_int, env_list, env_str
from pyreverb.webhook_endpoint import WebhookEndpoint

__all__ = ["AppConfig", "Settings", "ClusterTiming", "ConfigError", "ClientEventsFrom", "default_restart_file"]

ClientEventsFrom = Literal["members", "all", "none"]


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
    webhooks: tuple[WebhookEndpoint, ...] = ()

    @property
    def client_events_enabled(self) -> bool:
        return self.accept_client_events_from != "none"


@dataclass(frozen=True)
class ClusterTiming:
    """Heartbeat, expiry and retry timings of the Redis backend (seconds); short values make tests quick."""

    node_ttl: float = 15.0
    heartbeat: float = 5.0
    query_timeout: float = 1.0
    redis_timeout: float = 2.0
    backoff_min: float = 0.1
    backoff_max: float = 5.0

    @property
    def expiry_bound(self) -> float:
        """Longest time a killed node's presence members can outlive it."""
        return self.node_ttl + self.heartbeat

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ClusterTiming:
        ttl = env_float(env, "PYREVERB_NODE_TTL", cls.node_ttl, positive=True)
        timing = cls(
            node_ttl=ttl,
            heartbeat=env_float(env, "PYREVERB_NODE_HEARTBEAT", ttl / 3, positive=True),
            query_timeout=env_float(env, "PYREVERB_CLUSTER_QUERY_TIMEOUT", cls.query_timeout, positive=True),
            redis_timeout=env_float(env, "PYREVERB_REDIS_TIMEOUT", cls.redis_timeout, positive=True),
            backoff_max=env_float(env, "PYREVERB_REDIS_BACKOFF_MAX", cls.backoff_max, positive=True),
        )
        if timing.heartbeat >= timing.node_ttl:
            raise ConfigError("PYREVERB_NODE_HEARTBEAT must be shorter than PYREVERB_NODE_TTL")
        return timing


def default_restart_file() -> Path:
    """Where `pyreverb restart` and the nodes on this machine meet, unless PYREVERB_RESTART_FILE says."""
    return Path(tempfile.gettempdir()) / "pyreverb.restart"


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
    # admission control (pyreverb/admission.py): new sessions opened per second, and how
    # many upgrade requests may wait for their turn before more are refused with 4100
    handshakes_per_second: int = 4_000
    handshake_queue: int = 20_000
    scaling_enabled: bool = False
    scaling_channel: str = "reverb"
    redis_url: str = field(default_factory=lambda: _redis_url({}))  # built from the REDIS_* defaults
    node_id: str | None = None
    metrics_enabled: bool = False
    metrics_token: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    cluster: ClusterTiming = ClusterTiming()
    restart_file: Path = field(default_factory=default_restart_file)
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
        restart_file = env_str(env, "PYREVERB_RESTART_FILE")
        # Defaults are the dataclass's own (cls.port is the field's default).
        return cls(
            apps=tuple(apps),
            host=env_str(env, "REVERB_SERVER_HOST", cls.host),
            port=env_int(env, "REVERB_SERVER_PORT", cls.port),
            path=env_str(env, "REVERB_SERVER_PATH", cls.path),
            debug=env_bool(env, "REVERB_DEBUG", cls.debug),
            max_request_size=env_int(env, "REVERB_MAX_REQUEST_SIZE", cls.max_request_size),
            event_data_limit=env_int(env, "PYREVERB_EVENT_DATA_LIMIT", cls.event_data_limit),
            timestamp_tolerance=env_int(env, "PYREVERB_TIMESTAMP_TOLERANCE", cls.timestamp_tolerance),
            shutdown_timeout=env_float(env, "PYREVERB_SHUTDOWN_TIMEOUT", cls.shutdown_timeout, non_negative=True),
            http_keep_alive=env_float(env, "PYREVERB_HTTP_KEEP_ALIVE", cls.http_keep_alive, non_negative=True),
            speedups=env_bool(env, "PYREVERB_SPEEDUPS", cls.speedups),
            max_send_buffer=env_int(env, "PYREVERB_MAX_SEND_BUFFER", cls.max_send_buffer),
            handshakes_per_second=_env_count(env, "PYREVERB_HANDSHAKES_PER_SECOND", cls.handshakes_per_second),
            handshake_queue=_env_count(env, "PYREVERB_HANDSHAKE_QUEUE", cls.handshake_queue),
            scaling_enabled=env_bool(env, "REVERB_SCALING_ENABLED", cls.scaling_enabled),
            scaling_channel=env_str(env, "REVERB_SCALING_CHANNEL", cls.scaling_channel),
            redis_url=_redis_url(env),
            node_id=env_str(env, "PYREVERB_NODE_ID"),
            metrics_enabled=env_bool(env, "PYREVERB_METRICS_ENABLED", cls.metrics_enabled),
            metrics_token=env_str(env, "PYREVERB_METRICS_TOKEN"),
            tls_cert=env_str(env, "REVERB_TLS_CERT"),
            tls_key=env_str(env, "REVERB_TLS_KEY"),
            cluster=ClusterTiming.from_env(env),
            restart_file=Path(restart_file) if restart_file else default_restart_file(),
        )


def _env_count(env: Mapping[str, str], name: str, default: int) -> int:
    value = env_int(env, name, default)
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {value}")
    return value


def _default_app(env: Mapping[str, str]) -> AppConfig | None:
    app_id, key, secret = (env.get(n) for n in ("REVERB_APP_ID", "REVERB_APP_KEY", "REVERB_APP_SECRET"))
    if not (app_id or key or secret):
        return None
    if not (app_id and key and secret):
        raise ConfigError("REVERB_APP_ID, REVERB_APP_KEY and REVERB_APP_SECRET must be set together")
    defaults = AppConfig  # its field defaults are the defaults here too
    return _app_from_mapping(
        {
            "app_id": app_id,
            "key": key,
            "secret": secret,
            "allowed_origins": list(env_list(env, "REVERB_APP_ALLOWED_ORIGINS", defaults.allowed_origins)),
            "ping_interval": env_float(env, "REVERB_APP_PING_INTERVAL", defaults.ping_interval, non_negative=True),
            "activity_timeout": env_int(env, "REVERB_APP_ACTIVITY_TIMEOUT", defaults.activity_timeout),
            "pong_timeout": env_float(env, "PYREVERB_APP_PONG_TIMEOUT", defaults.pong_timeout, non_negative=True),
            # 0 means no limit, as unset does
            "max_connections": env_int(env, "REVERB_APP_MAX_CONNECTIONS", 0) or None,
            "max_message_size": env_int(env, "REVERB_APP_MAX_MESSAGE_SIZE", defaults.max_message_size),
            "accept_client_events_from": env_str(
                env, "REVERB_APP_ACCEPT_CLIENT_EVENTS_FROM", defaults.accept_client_events_from
            ),
            "max_presence_members": env_int(env, "PYREVERB_APP_MAX_PRESENCE_MEMBERS", defaults.max_presence_members),
            "max_channels_per_connection": env_int(
                env, "PYREVERB_APP_MAX_CHANNELS_PER_CONNECTION", defaults.max_channels_per_connection
            ),
            "rate_limiting_enabled": env_bool(env, "REVERB_APP_RATE_LIMITING_ENABLED", defaults.rate_limiting_enabled),
            "rate_limit_max_attempts": env_int(
                env, "REVERB_APP_RATE_LIMIT_MAX_ATTEMPTS", defaults.rate_limit_max_attempts
            ),
            "rate_limit_decay_seconds": env_float(
                env, "REVERB_APP_RATE_LIMIT_DECAY_SECONDS", defaults.rate_limit_decay_seconds, non_negative=True
            ),
            "rate_limit_terminate": env_bool(env, "REVERB_APP_RATE_LIMIT_TERMINATE", defaults.rate_limit_terminate),
            # 0 means no sign-in deadline, as unset does
            "user_authentication_timeout": env_float(
                env, "PYREVERB_APP_USER_AUTHENTICATION_TIMEOUT", 0.0, non_negative=True
            )
            or None,
            "cache_ttl": env_float(env, "PYREVERB_APP_CACHE_TTL", defaults.cache_ttl, non_negative=True),
            "webhooks": _webhooks_from_env(env),
        }
    )


def _webhooks_from_env(env: Mapping[str, str]) -> list[dict[str, Any]]:
    """One webhook endpoint for the default app: PYREVERB_APP_WEBHOOK_URL and friends."""
    url = env_str(env, "PYREVERB_APP_WEBHOOK_URL")
    if url is None:
        return []
    hook: dict[str, Any] = {"url": url, "batch_ms": env_int(env, "PYREVERB_APP_WEBHOOK_BATCH_MS", 0)}
    events = env_list(env, "PYREVERB_APP_WEBHOOK_EVENTS")
    if events:
        hook["event_types"] = list(events)
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
        if not all(isinstance(hook, Mapping) for hook in values["webhooks"]):
            raise ConfigError("each webhook must be an object with a 'url'")
        values["webhooks"] = tuple(WebhookEndpoint.from_mapping(hook) for hook in values["webhooks"])
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
    """REDIS_URL, or one built from Reverb's REDIS_HOST/PORT/DB/PASSWORD."""
    url = env_str(env, "REDIS_URL")
    if url is not None:
        return url
    host = env_str(env, "REDIS_HOST", "127.0.0.1")
    port = env_int(env, "REDIS_PORT", 6379)
    db = env_int(env, "REDIS_DB", 0)
    password = env_str(env, "REDIS_PASSWORD")
    auth = f":{quote(password, safe='')}@" if password else ""
    return f"redis://{auth}{host}:{port}/{db}"
