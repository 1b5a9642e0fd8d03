"""What this node's sockets have been told about each presence channel's members.

Presence events reach a node from its own sockets, from other nodes, from the
reaper of a dead node and from re-announcements after an outage, so the same
member_added can arrive twice, or a node can miss one while it was away. The
view admits a member_added only for a user not yet shown and a member_removed
only for a user shown, and after an outage :meth:`reconcile` turns the
difference between the view and the shared state into the changes that repair
it (sent to this node's sockets by :mod:`pyreverb.occupancy`). No I/O here.
"""

from __future__ import annotations

from typing import Any

import orjson

from pyreverb.backends.base import PresenceChange

__all__ = ["PresenceViews"]

# How the frames of pyreverb.occupancy begin (protocol.messages.encode_event puts the event first).
_ADDED = b'{"event":"pusher_internal:member_added"'
_REMOVED = b'{"event":"pusher_internal:member_removed"'

Key = tuple[str, str]  # (app id, channel)


class _View:
    """Users every local socket knows of (adds) and users some local socket knows of (removes)."""

    __slots__ = ("known_by_all", "known_by_any")

    def __init__(self, members: set[str]) -> None:
        self.known_by_all = set(members)
        self.known_by_any = set(members)


class PresenceViews:
    def __init__(self) -> None:
        self._views: dict[Key, _View] = {}

    def joined(self, app_id: str, channel: str, members: dict[str, Any]) -> None:
        """A local socket joined and was sent ``members``."""
        view = self._views.get((app_id, channel))
        if view is None:
            self._views[(app_id, channel)] = _View(set(members))
            return
        view.known_by_all.intersection_update(members)
        view.known_by_any.update(members)

    def close(self, app_id: str, channel: str) -> None:
        """The last local socket left."""
        self._views.pop((app_id, channel), None)

    def keys(self) -> list[Key]:
        return list(self._views)

    def admit(self, app_id: str, channel: str, payload: bytes) -> bool:
        """Whether to deliver ``payload`` to local sockets; presence events update the view."""
        view = self._views.get((app_id, channel))
        if view is None:
            return True
        added = payload.startswith(_ADDED)
        if not added and not payload.startswith(_REMOVED):
            return True
        try:
            user_id = str(orjson.loads(orjson.loads(payload)["data"])["user_id"])
        except (ValueError, KeyError, TypeError):
            return True  # not one of ours (an API trigger borrowing the name): pass it on
        if added:
            if user_id in view.known_by_all:
                return False
            view.known_by_all.add(user_id)
            view.known_by_any.add(user_id)
            return True
        if user_id not in view.known_by_any:
            return False
        view.known_by_any.discard(user_id)
        view.known_by_all.discard(user_id)
        return True

    def reconcile(self, app_id: str, channel: str, members: dict[str, Any]) -> list[PresenceChange]:
        """The events that bring every local socket to ``members``; the view then matches them."""
        view = self._views.get((app_id, channel))
        if view is None:
            return []
        changes = [
            PresenceChange(app_id, channel, user_id) for user_id in sorted(view.known_by_any.difference(members))
        ]
        changes += [
            PresenceChange(app_id, channel, user_id, info, joined=True)
            for user_id, info in members.items()
            if user_id not in view.known_by_all
        ]
        self._views[(app_id, channel)] = _View(set(members))
        return changes
