"""Look up configured apps by key (WebSocket) or id (HTTP API)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pyreverb.config import AppConfig

__all__ = ["AppRegistry"]


class AppRegistry:
    def __init__(self, apps: Iterable[AppConfig]) -> None:
        self._by_key = {a.key: a for a in apps}
        self._by_id = {a.app_id: a for a in self._by_key.values()}

    def find_by_key(self, key: str) -> AppConfig | None:
        return self._by_key.get(key)

    def find_by_id(self, app_id: str) -> AppConfig | None:
        return self._by_id.get(app_id)

    def __iter__(self) -> Iterator[AppConfig]:
        return iter(self._by_id.values())
