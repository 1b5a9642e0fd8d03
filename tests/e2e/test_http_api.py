"""The HTTP API through the real Python SDK and through hand-made bad requests."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid

import httpx
import pusher
import pytest

from pyreverb.protocol.auth import sign_request
from tests.helpers.node_client import NodeClient, sdk_auth
from tests.helpers.procs import ReverbProcess


def signed_url(node: ReverbProcess, method: str, path: str, body: bytes = b"", ts: int | None = None, secret: str | None = None, extra: dict[str, str] | None = None) -> str:
    params = {"auth_key": node.key, "auth_timestamp": str(ts or int(time.time())), "auth_version": "1.0", **(extra or {})}
    if body:
        params["body_md5"] = hashlib.md5(body).hexdigest()
    params["auth_signature"] = sign_request(secret or node.secret, method, path, params)
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{node.base_url}{path}?{query}"


def post(node: ReverbProcess, path: str, doc: object, **kw: object) -> httpx.Response:
    body = json.dumps(doc).encode()
    return httpx.post(signed_url(node, "POST", path, body, **kw), content=body, headers={"content-type": "application/json"})  # type: ignore[arg-type]


async def test_channel_queries_through_the_sdk(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    sdk = shared_reverb.pusher_client()
    pres = f"presence-q{uuid.uuid4().hex[:6]}"
    priv = f"private-q{uuid.uuid4().hex[:6]}"
    clients = []
    for user in ("a", "a", "b"):
        c = await NodeClient.start(auth=sdk_auth(sdk, user_id=user))
        node_clients.append(c)
        c.send(cmd="pusher", key=shared_reverb.key, port=shared_reverb.port)
        await c.connected()
        for ch in (pres, priv):
            c.send(cmd="subscribe", channel=ch)
            await c.wait_for(lambda e, ch=ch: e["type"] == "subscribed" and e["channel"] == ch)
        clients.append(c)
    info = await asyncio.to_thread(sdk.channel_info, pres, ["subscription_count", "user_count"])
    assert info == {"occupied": True, "subscription_count": 3, "user_count": 2}
    assert await asyncio.to_thread(sdk.channel_info, priv, ["subscription_count"]) == {"occupied": True, "subscription_count": 3}
    listed = await asyncio.to_thread(sdk.channels_info, "presence-q", ["user_count"])
    assert listed["channels"][pres] == {"user_count": 2}
    assert priv not in listed["channels"]
    users = await asyncio.to_thread(sdk.users_info, pres)
    assert sorted(u["id"] for u in users["users"]) == ["a", "b"]
    conns = httpx.get(signed_url(shared_reverb, "GET", f"/apps/{shared_reverb.app_id}/connections")).json()
    assert conns["connections"] >= 3
    trig = post(shared_reverb, f"/apps/{shared_reverb.app_id}/events", {"name": "x", "data": "{}", "channels": [pres, priv], "info": "subscription_count,user_count"})
    assert trig.json() == {"channels": {pres: {"subscription_count": 3, "user_count": 2}, priv: {"subscription_count": 3}}}


def test_wrong_secret_is_401_with_a_reason(shared_reverb: ReverbProcess) -> None:
    bad = pusher.Pusher(app_id=shared_reverb.app_id, key=shared_reverb.key, secret="wrong", host="127.0.0.1", port=shared_reverb.port, ssl=False)
    with pytest.raises(pusher.errors.PusherBadAuth):
        bad.trigger("news", "e", {})
    r = post(shared_reverb, f"/apps/{shared_reverb.app_id}/events", {"name": "e", "data": "{}", "channel": "news"}, secret="wrong")
    assert r.status_code == 401 and "auth_signature" in r.json()["error"]


def test_stale_timestamp_is_401(shared_reverb: ReverbProcess) -> None:
    r = post(shared_reverb, f"/apps/{shared_reverb.app_id}/events", {"name": "e", "data": "{}", "channel": "news"}, ts=int(time.time()) - 601)
    assert r.status_code == 401 and "auth_timestamp" in r.json()["error"]


def test_tampered_body_is_401(shared_reverb: ReverbProcess) -> None:
    body = json.dumps({"name": "e", "data": "{}", "channel": "news"}).encode()
    url = signed_url(shared_reverb, "POST", f"/apps/{shared_reverb.app_id}/events", body)
    r = httpx.post(url, content=body.replace(b"news", b"nows"))
    assert r.status_code == 401 and "body_md5" in r.json()["error"]


@pytest.mark.parametrize(
    "doc, status, fragment",
    [
        ({"data": "{}", "channel": "a"}, 400, "'name'"),
        ({"name": "e", "channel": "a"}, 400, "'data'"),
        ({"name": "e", "data": {"x": 1}, "channel": "a"}, 400, "'data'"),
        ({"name": "e", "data": "{}"}, 400, "'channel'"),
        ({"name": "e", "data": "{}", "channels": [f"c{i}" for i in range(101)]}, 400, "100 channels"),
        ({"name": "e", "data": "{}", "channel": "bad name"}, 400, "Invalid channel name"),
        ({"name": "e", "data": "{}", "channel": "a", "socket_id": "nope"}, 400, "socket_id"),
        ({"name": "e", "data": "x" * 10_241, "channel": "a"}, 413, "10240-byte"),
        ({"name": "e", "data": "{}", "channel": "a", "info": "bogus"}, 400, "Unknown info"),
        ([1, 2], 400, "JSON object"),
    ],
)
def test_bad_trigger_bodies(shared_reverb: ReverbProcess, doc: object, status: int, fragment: str) -> None:
    r = post(shared_reverb, f"/apps/{shared_reverb.app_id}/events", doc)
    assert r.status_code == status, r.text
    assert fragment in r.json()["error"]


def test_batch_limits(shared_reverb: ReverbProcess) -> None:
    path = f"/apps/{shared_reverb.app_id}/batch_events"
    too_many = {"batch": [{"name": "e", "data": "{}", "channel": "a"}] * 11}
    r = post(shared_reverb, path, too_many)
    assert r.status_code == 400 and "10 events" in r.json()["error"]
    one_bad = {"batch": [{"name": "e", "data": "{}", "channel": "a"}, {"name": "e", "channel": "a"}]}
    assert post(shared_reverb, path, one_bad).status_code == 400
    ok = post(shared_reverb, path, {"batch": [{"name": "e", "data": "{}", "channel": "a", "info": "subscription_count"}]})
    assert ok.json() == {"batch": [{"subscription_count": 0}]}


def test_routing_errors_are_json(shared_reverb: ReverbProcess) -> None:
    r404 = httpx.get(f"{shared_reverb.base_url}/nothing/here")
    assert r404.status_code == 404 and "Not found" in r404.json()["error"]
    r405 = httpx.delete(f"{shared_reverb.base_url}/apps/{shared_reverb.app_id}/events")
    assert r405.status_code == 405 and "Method not allowed" in r405.json()["error"]
    unknown_app = post(shared_reverb, "/apps/999/events", {"name": "e", "data": "{}", "channel": "a"})
    assert unknown_app.status_code == 404 and "999" in unknown_app.json()["error"]
    big = b"x" * 200_000
    r413 = httpx.post(signed_url(shared_reverb, "POST", f"/apps/{shared_reverb.app_id}/events", big), content=big)
    assert r413.status_code == 413


def test_users_of_a_non_presence_channel_is_400(shared_reverb: ReverbProcess) -> None:
    r = httpx.get(signed_url(shared_reverb, "GET", f"/apps/{shared_reverb.app_id}/channels/private-x/users"))
    assert r.status_code == 400 and "presence" in r.json()["error"]
    r = httpx.get(signed_url(shared_reverb, "GET", f"/apps/{shared_reverb.app_id}/channels/private-x", extra={"info": "user_count"}))
    assert r.status_code == 400


def test_up(shared_reverb: ReverbProcess) -> None:
    assert httpx.get(f"{shared_reverb.base_url}/up").json() == {"health": "OK"}
