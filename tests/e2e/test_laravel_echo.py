"""Laravel Echo 2 (broadcaster 'reverb') against a real node, as a Laravel front end uses it."""

from __future__ import annotations

import asyncio
import uuid

from tests.helpers.node_client import NodeClient, sdk_auth
from tests.helpers.procs import ReverbProcess


async def echo_client(node: ReverbProcess, clients: list[NodeClient], user: str) -> NodeClient:
    client = await NodeClient.start(auth=sdk_auth(node.pusher_client(), user_id=user, user_info={"name": user.title()}))
    clients.append(client)
    client.send(cmd="echo", key=node.key, port=node.port)
    await client.connected()
    return client


async def test_echo_private_listen_receives_sdk_events(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    room = f"chat.{uuid.uuid4().hex[:6]}"
    c = await echo_client(shared_reverb, node_clients, "u1")
    c.send(cmd="echo_listen", kind="private", name=room, event=".message.sent")
    await c.wait_for(lambda e: e["type"] == "echo_subscribed")
    sdk = shared_reverb.pusher_client()
    await asyncio.to_thread(sdk.trigger, f"private-{room}", "message.sent", {"body": "hello"})
    got = await c.wait_for(lambda e: e["type"] == "echo_event")
    assert got["data"] == {"body": "hello"}


async def test_echo_presence_here_joining_leaving(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    room = f"room.{uuid.uuid4().hex[:6]}"
    ann = await echo_client(shared_reverb, node_clients, "ann")
    ann.send(cmd="echo_join", name=room)
    here = await ann.wait_for(lambda e: e["type"] == "here")
    assert here["members"] == [{"name": "Ann"}]
    bob = await echo_client(shared_reverb, node_clients, "bob")
    bob.send(cmd="echo_join", name=room)
    bob_here = await bob.wait_for(lambda e: e["type"] == "here")
    assert sorted(m["name"] for m in bob_here["members"]) == ["Ann", "Bob"]
    joining = await ann.wait_for(lambda e: e["type"] == "joining")
    assert joining["member"] == {"name": "Bob"}
    bob.send(cmd="echo_leave", name=room)
    leaving = await ann.wait_for(lambda e: e["type"] == "leaving")
    assert leaving["member"] == {"name": "Bob"}


async def test_echo_whisper_reaches_others_only(shared_reverb: ReverbProcess, node_clients: list[NodeClient]) -> None:
    room = f"chat.{uuid.uuid4().hex[:6]}"
    ann = await echo_client(shared_reverb, node_clients, "ann")
    bob = await echo_client(shared_reverb, node_clients, "bob")
    for c in (ann, bob):
        c.send(cmd="echo_listen_whisper", kind="private", name=room, event="typing")
        await c.wait_for(lambda e: e["type"] == "echo_subscribed")
    ann.send(cmd="echo_whisper", kind="private", name=room, event="typing", data={"typing": True})
    got = await bob.wait_for(lambda e: e["type"] == "whisper")
    assert got["data"] == {"typing": True}
    await ann.expect_none(lambda e: e["type"] == "whisper", within=0.3)
