"""The signing a backend does for pyreverb, as a stable public API.

A backend that authorises subscriptions or calls the HTTP API itself (chatapp does
both) needs the same three values a Pusher server SDK computes: the ``auth`` of a
private or presence subscription, the ``auth`` of a ``pusher:signin``, and the
query of a signed HTTP API request. These functions give them whole, so callers
never assemble ``key:signature`` or the signed query by hand, and never import
:mod:`pyreverb.protocol`, whose layout may change between releases.

They produce exactly what the Pusher SDKs produce; the tests check them against
the Python ``pusher`` SDK and against pyreverb's own verification.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping

from pyreverb.protocol.auth import channel_auth_signature, sign_request, user_auth_signature

__all__ = ["subscription_auth", "signin_auth", "signed_query"]


def subscription_auth(key: str, secret: str, socket_id: str, channel: str, channel_data: str | None = None) -> str:
    """The ``auth`` of a private or presence subscription answer: ``key:hmac``.

    For presence channels pass the exact ``channel_data`` JSON string sent back with it.
    """
    return f"{key}:{channel_auth_signature(secret, socket_id, channel, channel_data)}"


def signin_auth(key: str, secret: str, socket_id: str, user_data: str) -> str:
    """The ``auth`` of a ``pusher:signin`` answer for the exact ``user_data`` JSON string."""
    return f"{key}:{user_auth_signature(secret, socket_id, user_data)}"


def signed_query(
    key: str,
    secret: str,
    method: str,
    path: str,
    body: bytes = b"",
    params: Mapping[str, str] | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """``params`` plus the ``auth_*`` (and, with a body, ``body_md5``) of a signed HTTP API request.

    ``path`` is the request path as the server sees it, prefix included
    (``/apps/1/events``); the current time is used unless ``timestamp`` is given.
    """
    query = {
        **(params or {}),
        "auth_key": key,
        "auth_timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "auth_version": "1.0",
    }
    if body:
        query["body_md5"] = hashlib.md5(body).hexdigest()
    query["auth_signature"] = sign_request(secret, method, path, query)
    return query
