"""Web Push to people who are offline, received and decrypted by a local push service."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

from py_vapid import Vapid02

from tests.chatapp.conftest import start_echo
from tests.chatapp.procs import Api, ChatappProcess, PushReceiver, decrypt_push, wait_until
from tests.helpers.node_client import NodeClient
from tests.helpers.procs import ReverbProcess


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_vapid(request: dict[str, Any], receiver: PushReceiver, public_key: str) -> None:
    """The Authorization header is a valid RFC 8292 VAPID token from chatapp's key."""
    header = request["headers"]["Authorization"]
    assert header.startswith("vapid t=")
    assert Vapid02.verify(header), "VAPID signature verifies"
    parts = dict(p.split("=", 1) for p in header.split(" ", 1)[1].split(","))
    assert parts["k"] == public_key
    claims = json.loads(b64decode(parts["t"].split(".")[1]))
    assert claims["aud"] == receiver.origin and claims["sub"].startswith("mailto:")
    assert claims["exp"] > time.time()
    assert int(request["headers"]["TTL"]) > 0


def push_counter(api: Api, name: str) -> int:
    return int(api.ok("GET", "/up")["push"][name])


def test_vapid_key_is_generated_and_published(anon: Api) -> None:
    key = anon.ok("GET", "/api/config")["vapid_public_key"]
    raw = b64decode(key)
    assert len(raw) == 65 and raw[0] == 4, "an uncompressed P-256 point, as pushManager.subscribe wants"


def test_offline_admin_gets_an_encrypted_push(
    admin: Api, new_guest: Callable[..., Api], push_receiver: PushReceiver, anon: Api
) -> None:
    sub = push_receiver.new_subscription()
    admin.ok("POST", "/api/push/subscriptions", sub.to_json(), status=201)
    visitor = new_guest("Pushy Pete")
    room_id = visitor.send("My parcel never arrived")["room"]["id"]

    request = push_receiver.wait_for(sub)[0]
    check_vapid(request, push_receiver, anon.ok("GET", "/api/config")["vapid_public_key"])
    payload = decrypt_push(sub, request)
    assert payload["room_id"] == room_id and payload["body"] == "My parcel never arrived"
    assert payload["title"] == "Pushy Pete" and payload["url"] == f"/admin/chat/{room_id}"


async def test_visitor_push_only_while_offline_and_gone_endpoints_are_dropped(
    chat: ChatappProcess,
    chat_reverb: ReverbProcess,
    admin: Api,
    new_guest: Callable[..., Api],
    push_receiver: PushReceiver,
    echo_clients: list[NodeClient],
) -> None:
    visitor = new_guest("Vera")
    room_id = visitor.send("hello")["room"]["id"]
    live, gone = push_receiver.new_subscription(), push_receiver.new_subscription(status=410)
    for sub in (live, gone):
        visitor.ok("POST", "/api/push/subscriptions", sub.to_json(), status=201)

    # Widget open (subscribed to its own channel): no push, the event is enough.
    tab = await start_echo(chat, chat_reverb, visitor.token or "")
    echo_clients.append(tab)
    tab.send(cmd="listen", kind="private", name=f"user.{visitor.id}", events=[".unread.updated"])
    await tab.wait_for(lambda e: e["type"] == "echo_subscribed")
    skipped = push_counter(admin, "skipped_online")
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "while you are here"})
    await tab.wait_for(lambda e: e["type"] == "echo_event" and e["data"]["unread_count"] == 1)
    wait_until(lambda: push_counter(admin, "skipped_online") > skipped, what="push skipped for an online visitor")
    await tab.close()
    echo_clients.remove(tab)

    # Widget closed: both endpoints are tried; the one answering 410 is forgotten.
    sdk = chat_reverb.pusher_client()
    wait_until(lambda: not sdk.channel_info(f"private-user.{visitor.id}")["occupied"], what="widget gone")
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "while you were away"})
    first = push_receiver.wait_for(live)[0]
    assert decrypt_push(live, first)["body"] == "while you were away"
    assert decrypt_push(gone, push_receiver.wait_for(gone)[0])["title"] == "Alice Admin replied"

    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "one more"})
    second = push_receiver.wait_for(live, count=2)[1]
    assert decrypt_push(live, second)["body"] == "one more"
    assert len(push_receiver.received_by(gone)) == 1, "a 410 endpoint is never used again"
    assert all(decrypt_push(live, r)["body"] != "while you are here" for r in push_receiver.received_by(live))

