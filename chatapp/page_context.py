"""Where the visitor is: the context of a conversation and its page trail.

The widget reports each page view while the visitor has a conversation (at its start, and on
every page of the host site it loads on afterwards): the page's address and title, the
referrer and the browser's time zone. The rest is read from the request itself, never from
what a page script could claim: the browser and OS from ``User-Agent``
(chatapp.user_agents), the language from the widget's locale or ``Accept-Language``.

Per room, ``chat_room_context`` keeps the first page and the referrer the chat started with,
and the latest language, time zone and browser; ``chat_page_views`` keeps the last
:data:`TRAIL_LENGTH` views, a reload of the page already newest only moving its time. Each
view is announced to the panels (``room.page`` on the admin feed, in the same transaction),
so an agent's open details follow the visitor as they navigate.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chatapp import repository as repo
from chatapp.db import Connection, Database, utcnow
from chatapp.errors import BadRequest, Conflict
from chatapp.events import Events
from chatapp.models import Room, User, iso
from chatapp.policy import ensure_room_access
from chatapp.shapes import PageView
from chatapp.site_attributes import load_attributes
from chatapp.user_agents import platform_of

__all__ = ["TRAIL_LENGTH", "PageContext", "add_view", "context_of", "web_address", "language_of"]

TRAIL_LENGTH = 50
MAX_URL = 2048
MAX_TITLE = 300
_LANGUAGE = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,4}$")
_SPACES = re.compile(r"\s+")


def web_address(value: str, field: str) -> str:
    """``value`` when it is an absolute http(s) address of at most :data:`MAX_URL` characters; 422 otherwise.

    ASCII only, as ``location.href`` gives it (percent-encoded), so three of them always fit one event."""
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname or len(value) > MAX_URL
            or not value.isascii() or any(c.isspace() or ord(c) < 32 for c in value)):
        raise BadRequest(f"'{field}' must be an http(s) address of at most {MAX_URL} characters", field=field)
    return value


def _time_zone(value: str) -> str | None:
    if not value:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"'tz' {value[:60]!r} is not a known IANA time zone", field="tz") from None
    return value


def language_of(sent: str, accept_language: str) -> str | None:
    """The widget's language tag when valid (422 otherwise), else the first of ``Accept-Language``."""
    if sent:
        if not _LANGUAGE.match(sent):
            raise BadRequest("'language' must be a BCP 47 language tag such as fr-CA", field="language")
        return sent
    for part in accept_language.split(",")[:10]:
        tag = part.split(";")[0].strip()
        if _LANGUAGE.match(tag):
            return tag
    return None


def _view_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"url": row["url"], "title": row["title"], "viewed_at": iso(row["viewed_at"])}


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "first_page": {"url": row["first_url"], "title": row["first_title"]},
        "referrer": row["referrer"],
        "language": row["language"],
        "time_zone": row["time_zone"],
        "browser": row["browser"],
        "browser_version": row["browser_version"],
        "os": row["os"],
        "os_version": row["os_version"],
    }


_CONTEXT_COLUMNS = ("first_url, first_title, referrer, language, time_zone, browser, browser_version, os, "
                    "os_version")


async def context_of(conn: Database | Connection, room: Room) -> dict[str, Any]:
    """The details pane's context of ``room``: browser, language, pages (newest first) and the site's attributes."""
    row = await conn.fetch_one(f"SELECT {_CONTEXT_COLUMNS} FROM chat_room_context WHERE room_id = ?", room.id)
    views = await conn.fetch_all(
        "SELECT url, title, viewed_at FROM chat_page_views WHERE room_id = ? ORDER BY id DESC LIMIT ?",
        room.id, TRAIL_LENGTH,
    )
    attributes = await conn.fetch_val("SELECT site_attributes FROM users WHERE id = ?", room.user_id)
    return {
        **(_summary(row) if row else dict.fromkeys(("first_page", "referrer", "language", "time_zone", "browser",
                                                    "browser_version", "os", "os_version"))),
        "pages": [_view_json(v) for v in views],
        "attributes": load_attributes(attributes),
    }


async def add_view(conn: Connection, room_id: int, url: str, title: str, now: datetime) -> dict[str, Any]:
    """Append to the trail, or move the newest view's time when it is this same page; keep the last ones."""
    newest = await conn.fetch_one(
        "SELECT id, url FROM chat_page_views WHERE room_id = ? ORDER BY id DESC LIMIT 1", room_id
    )
    if newest is not None and newest["url"] == url:
        await conn.execute("UPDATE chat_page_views SET title = ?, viewed_at = ? WHERE id = ?", title, now,
                           newest["id"])
    else:
        await conn.execute("INSERT INTO chat_page_views (room_id, url, title, viewed_at) VALUES (?, ?, ?, ?)",
                           room_id, url, title, now)
        await conn.execute(
            "DELETE FROM chat_page_views WHERE room_id = ? AND id <= (SELECT id FROM chat_page_views "
            "WHERE room_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
            room_id, room_id, TRAIL_LENGTH,
        )
    return _view_json({"url": url, "title": title, "viewed_at": now})


class PageContext:
    def __init__(self, db: Database, events: Events) -> None:
        self.db = db
        self.events = events

    async def record(
        self, user: User, room_id: int, view: PageView, *, user_agent: str, accept_language: str
    ) -> dict[str, Any]:
        """Store one page view of the visitor's room ``room_id``; the view as stored."""
        url = web_address(view.url, "url")
        referrer = web_address(view.referrer, "referrer") if view.referrer.strip() else None
        title = _SPACES.sub(" ", view.title).strip()[:MAX_TITLE]
        zone = _time_zone(view.tz.strip())
        language = language_of(view.language.strip(), accept_language)
        platform = platform_of(user_agent)
        now = utcnow()
        async with self.db.transaction() as conn:
            room = ensure_room_access(user, await repo.get_room(conn, room_id), room_id)
            if room.status == "closed":
                raise Conflict("This chat is closed; page views are kept for open chats only", code="invalid_state",
                               status=room.status)
            # The first report of a room fixes its first page and referrer; later ones refresh the rest.
            context = await conn.fetch_one(
                f"INSERT INTO chat_room_context (room_id, {_CONTEXT_COLUMNS}, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (room_id) DO UPDATE SET "
                "language = COALESCE(excluded.language, chat_room_context.language), "
                "time_zone = COALESCE(excluded.time_zone, chat_room_context.time_zone), "
                "browser = excluded.browser, browser_version = excluded.browser_version, os = excluded.os, "
                f"os_version = excluded.os_version, updated_at = excluded.updated_at RETURNING {_CONTEXT_COLUMNS}",
                room.id, url, title, referrer, language, zone, platform.browser, platform.browser_version,
                platform.os, platform.os_version, now, now,
            )
            assert context is not None
            stored = await add_view(conn, room.id, url, title, now)
            await self.events.page_viewed(conn, room.id, stored, _summary(context))
        return stored
