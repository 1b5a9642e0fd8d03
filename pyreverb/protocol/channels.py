"""Channel kinds (decided by name prefix, in one place) and presence members."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

import orjson

from pyreverb.protocol.errors import InvalidMessage

__all__ = [
    "ChannelKind",
    "channel_kind",
    "is_valid_channel_name",
    "is_cache_channel",
    "is_server_to_user_channel",
    "PresenceMember",
    "parse_channel_data",
    "MAX_CHANNEL_NAME_LENGTH",
]

MAX_CHANNEL_NAME_LENGTH = 164
_NAME_RE = re.compile(r"^[A-Za-z0-9_\-=@,.;]+\Z")  # \Z: "$" would let a trailing newline through
_SERVER_TO_USER_RE = re.compile(r"^#server-to-user-[A-Za-z0-9_\-=@,.;]+\Z")


class ChannelKind(enum.Enum):
    PUBLIC = "public"
    PRIVATE = "private"
    PRESENCE = "presence"
    ENCRYPTED = "private-encrypted"

    @property
    def requires_auth(self) -> bool:
        return self is not ChannelKind.PUBLIC

    @property
    def allows_client_events(self) -> bool:
        return self in (ChannelKind.PRIVATE, ChannelKind.PRESENCE)


# Longest prefix first: "private-encrypted-" before "private-".
_PREFIXES: tuple[tuple[str, ChannelKind, bool], ...] = (
    ("private-encrypted-cache-", ChannelKind.ENCRYPTED, True),
    ("private-encrypted-", ChannelKind.ENCRYPTED, False),
    ("private-cache-", ChannelKind.PRIVATE, True),
    ("presence-cache-", ChannelKind.PRESENCE, True),
    ("private-", ChannelKind.PRIVATE, False),
    ("presence-", ChannelKind.PRESENCE, False),
    ("cache-", ChannelKind.PUBLIC, True),
)


def channel_kind(name: str) -> ChannelKind:
    for prefix, kind, _cache in _PREFIXES:
        if name.startswith(prefix):
            return kind
    return ChannelKind.PUBLIC


def is_cache_channel(name: str) -> bool:
    if "cache-" not in name:  # every trigger asks; most channels are not cache channels
        return False
    for prefix, _kind, cache in _PREFIXES:
        if name.startswith(prefix):
            return cache
    return False


def is_valid_channel_name(name: object) -> bool:
    """Pusher's rule: 1-164 characters of ``[A-Za-z0-9_\\-=@,.;]``."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= MAX_CHANNEL_NAME_LENGTH
        and _NAME_RE.match(name) is not None
    )


def is_server_to_user_channel(name: object) -> bool:
    return isinstance(name, str) and _SERVER_TO_USER_RE.match(name) is not None


@dataclass(frozen=True, slots=True)
class PresenceMember:
    user_id: str
    user_info: Any = None


def parse_channel_data(raw: object) -> PresenceMember:
    """Read presence ``channel_data`` (a JSON string with ``user_id``)."""
    if not isinstance(raw, str):
        raise InvalidMessage("channel_data must be a JSON string for presence channels")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidMessage("channel_data is not valid JSON") from exc
    if not isinstance(doc, dict):
        raise InvalidMessage("channel_data must be a JSON object")
    user_id = doc.get("user_id")
    if isinstance(user_id, bool) or not isinstance(user_id, (str, int)) or str(user_id) == "":
        raise InvalidMessage("channel_data.user_id must be a non-empty string or number")
    if len(str(user_id)) > 128:
        raise InvalidMessage("channel_data.user_id is longer than 128 characters")
    return PresenceMember(user_id=str(user_id), user_info=doc.get("user_info"))
