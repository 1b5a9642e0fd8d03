"""Real pusher-js 8 clients against a real node; the Python pusher SDK triggers."""

from __future__ import annotations

import asyncio
import uuid

from tests.helpers.node_client import NodeClient, sdk_auth
from tests.helpers.procs import ReverbProcess


def uniq(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def pusher_client(node: ReverbProcess, clients: list[NodeClient], user: str | None = None, auth=None) -> NodeClient:  # type: ignore[no-untyped-def]
    client = await NodeClient.start(auth=auth or sdk_auth(node.pusher_client(), user_id=user, user_info={"name": user}))
    clients.append(client)
    client.send(cmd="pusher", key=node.key, port=node.port)
    await client.connected()
    return client


async def subscribed(client: NodeClient, channel: str) -> dict:  # type: ignore[type-arg]
    client.send(cmd="subscribe", channel=channel)
    return await client.wait_for(lambda e: e["type"] == "subscribed" and e["channel"] == channel)


async def test_connect_and_subscribe_every_kind(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    c = await pusher_client(shared_reverb, node_clients, user="u1")
    pub, priv, pres = uniq("news-"), uniq("private-"), uniq("presence-")
    await subscribed(c, pub)
    await subscribed(c, priv)
    ev = await subscribed(c, pres)
    assert ev["me"] == {"id": "u1", "info": {"name": "u1"}}
    assert ev["data"]["count"] == 1


async def test_sdk_trigger_to_one_and_many_channels(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    a = await pusher_client(shared_reverb, node_clients, user="a")
    b = await pusher_client(shared_reverb, node_clients, user="b")
    ch1, ch2 = uniq("private-"), uniq("feed-")
    await subscribed(a, ch1)
    await subscribed(b, ch2)
    sdk = shared_reverb.pusher_client()
    await asyncio.to_thread(sdk.trigger, ch1, "single", {"n": 1})
    await asyncio.to_thread(sdk.trigger, [ch1, ch2], "multi", {"n": 2})
    await a.wait_for(lambda e: e["type"] == "event" and e["event"] == "single" and e["data"] == {"n": 1})
    await a.wait_for(lambda e: e["type"] == "event" and e["event"] == "multi" and e["channel"] == ch1)
    await b.wait_for(lambda e: e["type"] == "event" and e["event"] == "multi" and e["channel"] == ch2)


async def test_batch_trigger(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    a = await pusher_client(shared_reverb, node_clients)
    ch = uniq("batch-")
    await subscribed(a, ch)
    sdk = shared_reverb.pusher_client()
    batch = [{"channel": ch, "name": f"e{i}", "data": {"i": i}} for i in range(10)]
    await asyncio.to_thread(sdk.trigger_batch, batch)
    for i in range(10):
        await a.wait_for(lambda e, i=i: e["type"] == "event" and e["event"] == f"e{i}" and e["data"] == {"i": i})


async def test_socket_id_exclusion(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    a = await pusher_client(shared_reverb, node_clients)
    b = await pusher_client(shared_reverb, node_clients)
    ch = uniq("excl-")
    await subscribed(a, ch)
    await subscribed(b, ch)
    a_id = (await a.connected())
    sdk = shared_reverb.pusher_client()
    await asyncio.to_thread(sdk.trigger, ch, "ping", {"x": 1}, a_id)
    await b.wait_for(lambda e: e["type"] == "event" and e["event"] == "ping")
    await a.expect_none(lambda e: e["type"] == "event" and e["event"] == "ping", within=0.3)


async def test_wrong_subscription_signature_surfaces_as_subscription_error(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    forged = lambda request: {"auth": f"{shared_reverb.key}:{'0' * 64}"}  # noqa: E731
    c = await pusher_client(shared_reverb, node_clients, auth=forged)
    ch = uniq("private-")
    c.send(cmd="subscribe", channel=ch)
    err = await c.wait_for(lambda e: e["type"] == "subscription_error" and e["channel"] == ch)
    assert err["error"]["status"] == 401 and err["error"]["type"] == "AuthError"
    # the connection survives and keeps working
    await subscribed(c, uniq("public-"))


async def test_client_events_between_pusher_js_clients(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    a = await pusher_client(shared_reverb, node_clients, user="a")
    b = await pusher_client(shared_reverb, node_clients, user="b")
    ch = uniq("presence-")
    await subscribed(a, ch)
    await subscribed(b, ch)
    a.send(cmd="trigger", channel=ch, event="client-typing", data={"typing": True})
    got = await b.wait_for(lambda e: e["type"] == "event" and e["event"] == "client-typing")
    assert got["data"] == {"typing": True}
    await a.expect_none(lambda e: e["type"] == "event" and e["event"] == "client-typing", within=0.3)


async def test_client_event_on_public_channel_is_rejected_with_4301(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    a = await pusher_client(shared_reverb, node_clients)
    ch = uniq("public-")
    await subscribed(a, ch)
    a.send(cmd="send_raw", text=f'{{"event":"client-x","channel":"{ch}","data":{{}}}}')
    err = await a.wait_for(lambda e: e["type"] == "connection_error")
    assert err["error"]["code"] == 4301


async def test_presence_member_added_and_removed(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    ch = uniq("presence-")
    a = await pusher_client(shared_reverb, node_clients, user="alice")
    await subscribed(a, ch)
    b = await pusher_client(shared_reverb, node_clients, user="bob")
    ev = await subscribed(b, ch)
    assert set(ev["data"]["members"]) == {"alice", "bob"}
    added = await a.wait_for(lambda e: e["type"] == "member_added")
    assert added["member"] == {"id": "bob", "info": {"name": "bob"}}
    b.send(cmd="disconnect")
    removed = await a.wait_for(lambda e: e["type"] == "member_removed")
    assert removed["member"]["id"] == "bob"


async def test_presence_member_limit_refuses_the_extra_user(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    ch = uniq("presence-")
    for user in ("p1", "p2", "p3"):
        await subscribed(await pusher_client(shared_reverb, node_clients, user=user), ch)
    late = await pusher_client(shared_reverb, node_clients, user="p4")
    late.send(cmd="subscribe", channel=ch)
    err = await late.wait_for(lambda e: e["type"] == "subscription_error")
    assert "full" in str(err["error"])


async def test_unsubscribe_stops_delivery(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    a = await pusher_client(shared_reverb, node_clients)
    ch = uniq("unsub-")
    await subscribed(a, ch)
    a.send(cmd="unsubscribe", channel=ch)
    await a.wait_for(lambda e: e["type"] == "unsubscribed")
    sdk = shared_reverb.pusher_client()
    for _ in range(50):
        info = await asyncio.to_thread(sdk.channel_info, ch)
        if not info["occupied"]:
            break
        await asyncio.sleep(0.02)
    assert info == {"occupied": False}
    await asyncio.to_thread(sdk.trigger, ch, "late", {})
    await a.expect_none(lambda e: e["type"] == "event" and e["event"] == "late", within=0.3)
