"""``POST /api/chat/rooms/{room_id}/pages``: the widget reports the page the visitor is on."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from chatapp import shapes
from chatapp.api.access import caller
from chatapp.api.common import body_of, json_response, path_id, state
from chatapp.config import RateLimit
from chatapp.page_context import PageContext

__all__ = ["page_view", "PAGE_VIEW_RATE"]

PAGE_VIEW_RATE = RateLimit(30, 60)  # page views one visitor may report a minute: a person browsing, not a script


async def page_view(request: Request) -> Response:
    """One page view of my conversation: its address, title, referrer and time zone (browser: User-Agent)."""
    chat = state(request)
    user = caller(request)
    view = await body_of(request, shapes.PageView)
    await chat.limiter.hit(("page_views", user.id), PAGE_VIEW_RATE, "page views")
    page = await PageContext(chat.db, chat.service.events).record(
        user, path_id(request), view, user_agent=request.headers.get("user-agent", ""),
        accept_language=request.headers.get("accept-language", ""),
    )
    return json_response({"page": page}, 201)
