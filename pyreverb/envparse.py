"""Strict reading of settings from environment variables.

One parser for every ``Settings.from_env``: a variable that is unset or blank
means the default; one that is set to something malformed is a
:class:`ConfigError` naming it. ``REVERB_SCALING_ENABLED=ture`` must stop the
node at start-up, not quietly run it without scaling.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import overload

__all__ = ["ConfigError", "env_bool", "env_int", "env_float", "env_str", "env_list"]

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


def _given(env: Mapping[str, str], name: str) -> str | None:
    """The raw value, or None when the variable is unset or blank."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    return raw


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _given(env, name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = _given(env, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def env_float(
    env: Mapping[str, str], name: str, default: float, *, non_negative: bool = False, positive: bool = False
) -> float:
    """A number; ``non_negative`` refuses values below 0, ``positive`` also refuses 0."""
    raw = _given(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if positive and not value > 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    if non_negative and value < 0:
        raise ConfigError(f"{name} must not be negative, got {raw!r}")
    return value


@overload
def env_str(env: Mapping[str, str], name: str, default: str) -> str: ...
@overload
def env_str(env: Mapping[str, str], name: str, default: None = None) -> str | None: ...
def env_str(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    """The value as given (not stripped: secrets may hold spaces), or the default when blank."""
    raw = _given(env, name)
    return default if raw is None else raw


def env_list(env: Mapping[str, str], name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Comma-separated items, each stripped; blank items are dropped."""
    raw = _given(env, name)
    if raw is None:
        return default
    items = tuple(item.strip() for item in raw.split(",") if item.strip())
    return items or default
