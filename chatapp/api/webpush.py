"""``/api/push/subscriptions``: a browser's Web Push subscription.

Each subscription is an address chatapp will later POST to, so what is stored is bounded:
only endpoints on the push services (:mod:`chatapp.push_endpoints`), a few per user (a new
browser replaces the oldest, as a user switching devices expects), each endpoint owned by
one user, and the route rate-limited per user.
"""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request
from starlette.responses import Response

from chatapp import repository as repo
from chatapp import shapes
from chatapp.api.access import caller
from chatapp.api.common import body_of, json_response, state
from chatapp.errors import BadRequest, Conflict
from chatapp.push_endpoints import check_endpoint

__all__ = ["subscribe", "unsubscribe"]


def _b64url_bytes(value: str, name: str, length: int) -> str:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise BadRequest(f"'keys.{name}' is not base64url", field=f"keys.{name}") from None
    if len(raw) != length or (name == "p256dh" and raw[0] != 4):
        raise BadRequest(f"'keys.{name}' must decode to {length} bytes", field=f"keys.{name}")
    return value


async def subscribe(request: Request) -> Response:
    """Store the browser's ``PushSubscription.toJSON()`` for the caller."""
    user = caller(request)
    chat = state(request)
    await chat.limiter.hit(("push_subscriptions", user.id), chat.settings.rate_push_subscriptions, "push subscriptions")
    doc = await body_of(request, shapes.PushSubscription)
    endpoint = check_endpoint(doc.endpoint, chat.settings)
    p256dh = _b64url_bytes(doc.keys.p256dh, "p256dh", 65)
    auth = _b64url_bytes(doc.keys.auth, "auth", 16)
    async with chat.db.transaction() as conn:
        saved = await repo.save_push_subscription(
            conn,
            user_id=user.id,
            endpoint=endpoint,
            p256dh=p256dh,
            auth=auth,
            user_agent=request.headers.get("user-agent", "")[:300],
        )
        if not saved:
            raise Conflict(
                "This push endpoint is registered to another account; unsubscribe in the browser and subscribe again",
                code="push_endpoint_taken",
                field="endpoint",
            )
        replaced = await repo.keep_newest_push_subscriptions(conn, user.id, chat.settings.push_max_subscriptions)
    return json_response({"subscribed": True, "replaced": replaced}, 201)


async def unsubscribe(request: Request) -> Response:
    user = caller(request)
    endpoint = (await body_of(request, shapes.PushUnsubscribe)).endpoint
    removed = await repo.delete_push_subscription(state(request).db, user.id, endpoint)
    return json_response({"removed": removed})
