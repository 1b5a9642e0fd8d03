"""pyreverb.signing gives what the Python pusher SDK gives, and pyreverb's own checks accept it."""

from __future__ import annotations

import json
import time

import pusher
import pytest
from pusher.http import POST, Request

from pyreverb.protocol.auth import RequestAuthError, verify_channel_auth, verify_request, verify_user_auth
from pyreverb.signing import signed_query, signin_auth, subscription_auth

KEY, SECRET = "app-key", "app-secret-0123456789"
SOCKET_ID = "1234.5678"


@pytest.fixture
def sdk() -> pusher.Pusher:
    return pusher.Pusher(app_id="1", key=KEY, secret=SECRET, host="127.0.0.1", port=8080, ssl=False)


def test_subscription_auth_is_the_sdks(sdk: pusher.Pusher) -> None:
    assert subscription_auth(KEY, SECRET, SOCKET_ID, "private-chat.7") == \
        sdk.authenticate(channel="private-chat.7", socket_id=SOCKET_ID)["auth"]
    member = {"user_id": "42", "user_info": {"name": "Олена"}}
    answer = sdk.authenticate(channel="presence-room", socket_id=SOCKET_ID, custom_data=member)
    assert subscription_auth(KEY, SECRET, SOCKET_ID, "presence-room", answer["channel_data"]) == answer["auth"]
    assert verify_channel_auth(KEY, SECRET, SOCKET_ID, "presence-room", answer["auth"], answer["channel_data"])
    assert not verify_channel_auth(KEY, SECRET, SOCKET_ID, "presence-other", answer["auth"], answer["channel_data"])


def test_signin_auth_is_the_sdks(sdk: pusher.Pusher) -> None:
    answer = sdk.authenticate_user(socket_id=SOCKET_ID, user_data={"id": "42", "name": "Olena"})
    assert signin_auth(KEY, SECRET, SOCKET_ID, answer["user_data"]) == answer["auth"]
    assert verify_user_auth(KEY, SECRET, SOCKET_ID, answer["user_data"], answer["auth"])
    assert not verify_user_auth(KEY, SECRET, SOCKET_ID, json.dumps({"id": "43"}), answer["auth"])


def test_signed_query_is_the_sdks_and_passes_pyreverbs_check(sdk: pusher.Pusher) -> None:
    event = {"name": "message.sent", "channels": ["private-chat.7"], "data": "{}"}
    request = Request(sdk._pusher_client, POST, "/apps/1/events", event)
    stamp = int(request.query_params["auth_timestamp"])
    query = signed_query(KEY, SECRET, "POST", "/apps/1/events", request.body, timestamp=stamp)
    assert query == request.query_params

    fresh = signed_query(KEY, SECRET, "POST", "/apps/1/events", request.body, {"info": "user_count"})
    verify_request(key=KEY, secret=SECRET, method="POST", path="/apps/1/events", params=fresh, body=request.body,
                   now=time.time(), tolerance=600)
    with pytest.raises(RequestAuthError):
        verify_request(key=KEY, secret=SECRET, method="POST", path="/apps/1/events", params=fresh,
                       body=request.body + b" ", now=time.time(), tolerance=600)
    unsigned_body = signed_query(KEY, SECRET, "GET", "/apps/1/channels", params={"filter_by_prefix": "presence-"})
    assert "body_md5" not in unsigned_body
    verify_request(key=KEY, secret=SECRET, method="GET", path="/apps/1/channels", params=unsigned_body, body=b"",
                   now=time.time(), tolerance=600)


def test_chatapp_signs_through_the_public_api_only() -> None:
    """chatapp is pyreverb's first backend user: it must not reach into the protocol package."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "chatapp"
    reaching_in = []
    for source in root.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            reaching_in += [f"{source.relative_to(root)}: {n}" for n in names if n.startswith("pyreverb.protocol")]
    assert not reaching_in
