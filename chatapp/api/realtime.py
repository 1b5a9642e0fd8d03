"""Laravel Echo's ``/broadcasting/auth``, client config, health."""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import parse_qs

import orjson
from starlette.requests import Request
from starlette.responses import Response

from chatapp import repository as repo
from chatapp import shapes
from chatapp.api.access import caller
from chatapp.api.common import MAX_JSON_BYTES, body_of, json_response, read_limited, state
from chatapp.api.i18n import negotiated
from chatapp.broadcasting import channel_auth, user_auth
from chatapp.errors import BadRequest, ChatError, Forbidden
from chatapp.policy import parse_channel
from chatapp.prechat_store import SitePrechat
from chatapp.push import public_key_b64
from chatapp.validation import SOCKET_ID_RE, convert

__all__ = ["broadcasting_auth", "broadcasting_user_auth", "client_config", "health"]

A = TypeVar("A", bound=shapes.UserAuth)


async def _socket_fields(request: Request, shape: type[A]) -> A:
    """A socket's sign-in request, form-encoded (pusher-js's default) or JSON."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        found = await body_of(request, shape)
    else:
        raw = await read_limited(request, MAX_JSON_BYTES)
        try:
            parsed = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise ChatError("Form body is not UTF-8", code="invalid_input") from None
        found = convert({k: values[0] for k, values in parsed.items()}, shape)
    if not SOCKET_ID_RE.match(found.socket_id):  # the shape's pattern, and no line break after it
        raise BadRequest("'socket_id' must look like '1234.5678'", field="socket_id")
    return found


def _ensure_realtime(request: Request) -> None:
    if not state(request).settings.reverb_configured:
        raise ChatError("Realtime is not configured on this server (REVERB_APP_*)", code="realtime_disabled")


async def broadcasting_auth(request: Request) -> Response:
    """Sign a private/presence subscription after the policy allows it (403 otherwise)."""
    user = caller(request)
    fields = await _socket_fields(request, shapes.ChannelAuth)
    socket_value, channel = fields.socket_id, fields.channel_name
    chat = state(request)
    rule = parse_channel(channel)
    allowed = False
    if rule.kind in ("admin", "admin_presence"):
        allowed = user.is_admin
    elif rule.kind == "user":
        allowed = rule.target == user.id
    elif rule.kind == "room" and rule.target is not None:
        room = await repo.get_room(chat.db, rule.target)
        allowed = room is not None and (user.is_admin or room.user_id == user.id)
    if not allowed:
        raise Forbidden(f"You may not subscribe to {channel}", code="channel_forbidden")
    _ensure_realtime(request)
    if rule.kind == "admin_presence":
        channel_data = orjson.dumps({"user_id": str(user.id), "user_info": user.public()}).decode()
        return json_response(
            {"auth": channel_auth(chat.settings, socket_value, channel, channel_data), "channel_data": channel_data}
        )
    return json_response({"auth": channel_auth(chat.settings, socket_value, channel)})


async def broadcasting_user_auth(request: Request) -> Response:
    """Sign this socket in as the caller (``pusher:signin``).

    A signed-in socket is one pyreverb can close by user id: signing out everywhere,
    a new password or a deactivation then ends it, as it does the admin panel's
    presence socket. The widget signs in, since it joins private channels only.
    """
    user = caller(request)
    socket_value = (await _socket_fields(request, shapes.UserAuth)).socket_id
    _ensure_realtime(request)
    user_data = orjson.dumps({"id": str(user.id), "user_info": user.public()}).decode()
    return json_response({"auth": user_auth(state(request).settings, socket_value, user_data), "user_data": user_data})


async def client_config(request: Request) -> Response:
    """What the widget and admin panel need to connect (public values only), and whether anyone can
    answer now (GET /api/chat/status's answer, in the language of ``prefer``): the widget shows it
    from the start without a request of its own."""
    chat = state(request)
    s = chat.settings
    catalogues = chat.service.catalogues
    availability = (await chat.hours.availability()).to_json(catalogues, negotiated(request, catalogues))
    scheme = s.public_reverb_scheme or s.reverb_scheme
    port = s.public_reverb_port or s.reverb_port
    return json_response(
        {
            "echo": {
                "broadcaster": "reverb",
                "key": s.reverb_key or None,
                "wsHost": s.public_reverb_host or s.reverb_host,
                "wsPort": port,
                "wssPort": port,
                "forceTLS": scheme == "https",
                "enabledTransports": ["ws", "wss"],
                "authEndpoint": "/broadcasting/auth",
            },
            "vapid_public_key": public_key_b64(chat.push.vapid) if chat.push else None,
            "limits": {"max_message_length": s.max_message_length, "max_upload_bytes": s.max_upload_bytes},
            "live_poll_seconds": s.live_poll_interval,
            "features": {
                "guests": s.allow_guests,
                "registration": s.allow_registration,
                "identity": bool(s.identity_secret),
                "push": chat.push is not None,
                "mail": chat.mail is not None and chat.mail.enabled,  # transcripts and replies by e-mail
                "prechat": await SitePrechat(chat.db, catalogues).enabled(),  # the widget loads prechat.js
            },
            "status": availability,
        }
    )


async def health(request: Request) -> Response:
    chat = state(request)
    try:
        await chat.db.fetch_val("SELECT 1")
    except Exception as exc:  # noqa: BLE001 (any failure of the probe means "not healthy", said in the body)
        return json_response({"status": "error", "database": str(exc)[:200]}, 503)
    # Delivery counters and the outbox's depth are for operators: GET /api/admin/status.
    return json_response({"status": "ok"})
