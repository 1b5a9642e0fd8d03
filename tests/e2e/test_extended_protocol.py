"""Sign-in, server-to-user events, cache channels, encrypted channels, rate limits."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import uuid

import httpx
import pusher

from tests.e2e.test_http_api import post
from tests.helpers.node_client import NodeClient, sdk_auth
from tests.helpers.procs import ReverbProcess


async def client_for(node: ReverbProcess, clients: list[NodeClient], auth=None, user: str = "u1") -> NodeClient:  # type: ignore[no-untyped-def]
    c = await NodeClient.start(auth=auth or sdk_auth(node.pusher_client(), user_id=user, user_info={"name": user}))
    clients.append(c)
    c.send(cmd="pusher", key=node.key, port=node.port)
    await c.connected()
    return c


async def test_signin_then_server_to_user_events(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    user = f"user-{uuid.uuid4().hex[:6]}"
    c = await client_for(shared_reverb, node_clients, user=user)
    c.send(cmd="signin")
    signed = await c.wait_for(lambda e: e["type"] == "signed_in")
    assert signed["user"]["id"] == user
    other = await client_for(shared_reverb, node_clients, user="someone-else")
    sdk = shared_reverb.pusher_client()
    await asyncio.to_thread(sdk.send_to_user, user, "invoice.paid", {"total": 12})
    got = await c.wait_for(lambda e: e["type"] == "user_event" and e["event"] == "invoice.paid")
    assert got["data"] == {"total": 12}
    r = post(shared_reverb, f"/apps/{shared_reverb.app_id}/users/{user}/events", {"name": "direct", "data": json.dumps({"n": 1})})
    assert r.status_code == 200, r.text
    await c.wait_for(lambda e: e["type"] == "user_event" and e["event"] == "direct" and e["data"] == {"n": 1})
    await other.expect_none(lambda e: e["type"] == "user_event", within=0.2)


async def test_joining_another_users_channel_is_refused(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    c = await client_for(shared_reverb, node_clients)
    # pusher-js itself refuses '#' names, so send the frame a hostile client would
    c.send(cmd="send_raw", text=json.dumps({"event": "pusher:subscribe", "data": {"channel": "#server-to-user-victim"}}))
    err = await c.wait_for(lambda e: e["type"] == "global" and e["event"] == "pusher:subscription_error")
    assert err["data"]["status"] == 403


async def test_terminate_connections_of_a_signed_in_user(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    user = f"user-{uuid.uuid4().hex[:6]}"
    c = await client_for(shared_reverb, node_clients, user=user)
    c.send(cmd="signin")
    await c.wait_for(lambda e: e["type"] == "signed_in")
    sdk = shared_reverb.pusher_client()
    await asyncio.to_thread(sdk.terminate_user_connections, user)
    await c.wait_for(lambda e: e["type"] == "state" and e["previous"] == "connected")


async def test_signin_deadline_closes_with_4009(node_clients: list[NodeClient]) -> None:
    node = ReverbProcess(env={"PYREVERB_APP_USER_AUTHENTICATION_TIMEOUT": "0.5"}).start()
    try:
        lazy = await client_for(node, node_clients)
        diligent = await client_for(node, node_clients, user="d")
        diligent.send(cmd="signin")
        await diligent.wait_for(lambda e: e["type"] == "signed_in")
        err = await lazy.wait_for(lambda e: e["type"] == "connection_error", timeout=5)
        assert err["error"]["code"] == 4009
        await lazy.wait_for(lambda e: e["type"] == "state" and e["previous"] == "connected")
        await diligent.expect_none(lambda e: e["type"] == "state" and e["previous"] == "connected", within=1.0)
    finally:
        node.stop()


async def test_cache_channels_replay_the_last_event_or_say_miss(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    sdk = shared_reverb.pusher_client()
    for prefix in ("cache-", "private-cache-", "presence-cache-"):
        ch = f"{prefix}{uuid.uuid4().hex[:6]}"
        first = await client_for(shared_reverb, node_clients, user="a")
        first.send(cmd="subscribe", channel=ch)
        await first.wait_for(lambda e: e["type"] == "global" and e["event"] == "pusher:cache_miss")
        await asyncio.to_thread(sdk.trigger, ch, "price", {"v": 1})
        await asyncio.to_thread(sdk.trigger, ch, "price", {"v": 2})
        late = await client_for(shared_reverb, node_clients, user="b")
        late.send(cmd="subscribe", channel=ch)
        got = await late.wait_for(lambda e: e["type"] == "event" and e["event"] == "price")
        assert got["data"] == {"v": 2}, prefix
        await late.expect_none(lambda e: e["type"] == "global" and e["event"] == "pusher:cache_miss", within=0.1)


async def test_encrypted_channels_relay_ciphertext_and_refuse_client_events(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    master = base64.b64encode(os.urandom(32)).decode()
    sdk = pusher.Pusher(
        app_id=shared_reverb.app_id, key=shared_reverb.key, secret=shared_reverb.secret,
        host="127.0.0.1", port=shared_reverb.port, ssl=False, encryption_master_key_base64=master,
    )
    ch = f"private-encrypted-{uuid.uuid4().hex[:6]}"
    c = await client_for(shared_reverb, node_clients, auth=sdk_auth(sdk))
    c.send(cmd="subscribe", channel=ch)
    await c.wait_for(lambda e: e["type"] == "subscribed")
    await asyncio.to_thread(sdk.trigger, ch, "secret", {"pin": "1234"})
    got = await c.wait_for(lambda e: e["type"] == "event" and e["event"] == "secret")
    assert got["data"] == {"pin": "1234"}  # decrypted by pusher-js: the server relayed ciphertext untouched
    c.send(cmd="send_raw", text=json.dumps({"event": "client-x", "channel": ch, "data": {}}))
    err = await c.wait_for(lambda e: e["type"] == "connection_error")
    assert err["error"]["code"] == 4301
    # the encrypted cache variant replays the last ciphertext, which a late subscriber decrypts
    cached = f"private-encrypted-cache-{uuid.uuid4().hex[:6]}"
    await asyncio.to_thread(sdk.trigger, cached, "secret", {"pin": "5678"})
    late = await client_for(shared_reverb, node_clients, auth=sdk_auth(sdk))
    late.send(cmd="subscribe", channel=cached)
    replayed = await late.wait_for(lambda e: e["type"] == "event" and e["event"] == "secret")
    assert replayed["data"] == {"pin": "5678"}


async def test_client_event_rate_limit_and_terminate(node_clients: list[NodeClient]) -> None:
    node = ReverbProcess(env={
        "REVERB_APP_RATE_LIMITING_ENABLED": "true", "REVERB_APP_RATE_LIMIT_MAX_ATTEMPTS": "3",
        "REVERB_APP_RATE_LIMIT_DECAY_SECONDS": "60", "REVERB_APP_RATE_LIMIT_TERMINATE": "true",
    }).start()
    try:
        a = await client_for(node, node_clients, user="a")
        b = await client_for(node, node_clients, user="b")
        for c in (a, b):
            c.send(cmd="subscribe", channel="private-flood")
            await c.wait_for(lambda e: e["type"] == "subscribed")
        for i in range(5):
            a.send(cmd="trigger", channel="private-flood", event="client-n", data={"i": i})
        err = await a.wait_for(lambda e: e["type"] == "connection_error")
        assert err["error"]["code"] == 4301
        await a.wait_for(lambda e: e["type"] == "state" and e["previous"] == "connected")
        await asyncio.sleep(0.3)
        received = [e["data"]["i"] for e in b.events if e["type"] == "event" and e["event"] == "client-n"]
        assert received == [0, 1, 2]
    finally:
        node.stop()
