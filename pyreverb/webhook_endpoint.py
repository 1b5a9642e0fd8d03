"""One webhook endpoint's settings, parsed when the configuration is read.

Apart from :mod:`pyreverb.webhooks` (which sends) so the configuration can hold
typed endpoints without importing an HTTP client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from pyreverb.envparse import ConfigError

__all__ = ["WebhookEndpoint", "EVENT_TYPES"]

EVENT_TYPES = frozenset(
    {"channel_occupied", "channel_vacated", "member_added", "member_removed", "client_event", "cache_miss"}
)


@dataclass(frozen=True)
class WebhookEndpoint:
    url: str
    event_types: frozenset[str] = EVENT_TYPES
    batch_ms: int = 0
    max_batch: int = 50
    max_attempts: int = 6
    backoff_seconds: float = 0.5
    timeout_seconds: float = 5.0
    queue_size: int = 10_000

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> WebhookEndpoint:
        """An entry of an apps file's ``webhooks`` list; ``events`` is accepted for ``event_types``."""
        extra = set(raw) - _SETTINGS - {"url", "event_types", "events"}
        if extra:
            raise ConfigError(f"unknown webhook setting(s): {', '.join(sorted(extra))}")
        url = raw.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError("webhook 'url' must be an http(s) URL")
        types = raw.get("event_types") or raw.get("events") or sorted(EVENT_TYPES)
        unknown = set(types) - EVENT_TYPES
        if unknown:
            raise ConfigError(f"unknown webhook event type(s): {', '.join(sorted(unknown))}")
        known = {k: raw[k] for k in _SETTINGS if k in raw}
        return cls(url=url, event_types=frozenset(types), **known)


# The tuning fields an entry may set, besides its url and event types.
_SETTINGS = frozenset(f.name for f in fields(WebhookEndpoint)) - {"url", "event_types"}
