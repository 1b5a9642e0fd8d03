"""Three real nodes on Redis behave like one server to pusher-js, Echo and the Pusher SDK.

The behaviour tests run twice: against one plain node and against three nodes
with the clients spread over them. The fault tests (kill -9, Redis restart)
need a cluster and run once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pyreverb.protocol.auth import sign_request
from tests.helpers.node_client import NodeClient, sdk_auth
from tests.helpers.procs import ReverbProcess
from tests.scaling.cluster import Deployment, cluster_nodes, wait_health
from tests.scaling.conftest import NODE_HEARTBEAT, NODE_TTL
from tests.scaling.redis_server import RedisServer

pytestmark = pytest.mark.redis

EXPIRY_BOUND = NODE_TTL + NODE_HEARTBEAT


def uniq(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=["one-node", "three-nodes"])
def deployment(request: pytest.FixtureRequest, redis_url: str, scaling_channel: str) -> Iterator[Deployment]:
    nodes = [ReverbProcess()] if request.param == "one-node" else cluster_nodes(redis_url, scaling_channel)
    running = Deployment(nodes).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def cluster(redis_url: str, scaling_channel: str) -> Iterator[Deployment]:
    running = Deployment(cluster_nodes(redis_url, scaling_channel)).start()
    try:
        yield running
    finally:
        running.stop()


class Peer:
    """A pusher-js client and the socket id it was given."""

    def __init__(self, client: NodeClient, socket_id: str) -> None:
        self.client = client
        self.socket_id = socket_id

    def events(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [e for e in self.client.events if e["type"] == kind and all(e.get(k) == v for k, v in match.items())]

    async def wait(self, kind: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        return await self.client.wait_for(
            lambda e: e["type"] == kind and all(e.get(k) == v for k, v in match.items()), timeout
        )

    async def subscribe(self, channel: str) -> dict[str, Any]:
        self.client.send(cmd="subscribe", channel=channel)
        return await self.wait("subscribed", channel=channel)


async def connect(node: ReverbProcess, clients: list[NodeClient], user: str | None = None) -> Peer:
    client = await NodeClient.start(auth=sdk_auth(node.pusher_client(), user_id=user, user_info={"name": user}))
    clients.append(client)
    client.send(cmd="pusher", key=node.key, port=node.port)
    return Peer(client, await client.connected())


def member_ids(peer: Peer, kind: str, channel: str) -> list[str]:
    return [e["member"]["id"] for e in peer.events(kind, channel=channel)]


def connections(node: ReverbProcess) -> int:
    path = f"/apps/{node.app_id}/connections"
    params = {"auth_key": node.key, "auth_timestamp": str(int(time.time())), "auth_version": "1.0"}
    params["auth_signature"] = sign_request(node.secret, "GET", path, params)
    return int(httpx.get(f"{node.base_url}{path}", params=params).json()["connections"])


async def sdk(node: ReverbProcess, method: str, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(getattr(node.pusher_client(), method), *args, **kwargs)


# -- the same behaviour on one node and on three ---------------------------------------------
async def test_triggers_and_client_events_reach_every_node(deployment: Deployment, node_clients: list[NodeClient]) -> None:
    peers = [await connect(deployment.node(i), node_clients, user=f"u{i}") for i in range(3)]
    channel = uniq("private-chat-")
    for peer in peers:
        await peer.subscribe(channel)
    await sdk(deployment.node(0), "trigger", channel, "news", {"n": 1}, socket_id=peers[2].socket_id)
    for peer in peers[:2]:
        event = await peer.wait("event", event="news")
        assert event["data"] == {"n": 1}
    peers[1].client.send(cmd="trigger", channel=channel, event="client-typing", data={"who": "u1"})
    for peer in (peers[0], peers[2]):
        assert (await peer.wait("event", event="client-typing"))["data"] == {"who": "u1"}
    await peers[1].client.expect_none(lambda e: e.get("event") == "client-typing", within=0.3)
    assert not peers[2].events("event", event="news")  # excluded by socket_id, on whichever node


async def test_presence_is_one_roster_across_nodes(deployment: Deployment, node_clients: list[NodeClient]) -> None:
    channel = uniq("presence-desk-")
    alice = await connect(deployment.node(0), node_clients, user="alice")
    bob_1 = await connect(deployment.node(1), node_clients, user="bob")
    bob_2 = await connect(deployment.node(2), node_clients, user="bob")
    await alice.subscribe(channel)
    for bob in (bob_1, bob_2):
        joined = await bob.subscribe(channel)
        assert joined["data"]["count"] == 2 and set(joined["data"]["members"]) == {"alice", "bob"}
    await alice.wait("member_added", channel=channel)
    await alice.client.expect_none(lambda e: e["type"] == "member_added" and e["member"]["id"] != "bob", within=0.3)
    assert member_ids(alice, "member_added", channel) == ["bob"]
    assert alice.events("member_added")[0]["member"]["info"] == {"name": "bob"}

    users = await sdk(deployment.node(2), "users_info", channel)
    assert sorted(u["id"] for u in users["users"]) == ["alice", "bob"]
    info = await sdk(deployment.node(1), "channel_info", channel, ["user_count", "subscription_count"])
    assert (info["occupied"], info["user_count"], info["subscription_count"]) == (True, 2, 3)

    bob_1.client.send(cmd="unsubscribe", channel=channel)  # bob is still on another socket
    await alice.client.expect_none(lambda e: e["type"] == "member_removed", within=0.5)
    bob_2.client.send(cmd="disconnect")
    removed = await alice.wait("member_removed", channel=channel)
    assert removed["member"]["id"] == "bob"
    await alice.client.expect_none(lambda e: e["type"] == "member_removed" and e is not removed, within=0.3)
    users = await sdk(deployment.node(1), "users_info", channel)
    assert [u["id"] for u in users["users"]] == ["alice"]


async def test_channel_and_connection_queries_count_every_node(deployment: Deployment, node_clients: list[NodeClient]) -> None:
    feed, room = uniq("feed-"), uniq("presence-room-")
    peers = [await connect(deployment.node(i), node_clients, user=f"p{i % 2}") for i in range(4)]
    for peer in peers[:3]:
        await peer.subscribe(feed)
    for peer in peers:
        await peer.subscribe(room)
    for index in range(3):
        node = deployment.node(index)
        assert connections(node) == 4
        info = await sdk(node, "channel_info", feed, ["subscription_count"])
        assert (info["occupied"], info["subscription_count"]) == (True, 3)
        listed = await sdk(node, "channels_info", "feed-")
        assert feed in listed["channels"]
        presence = await sdk(node, "channels_info", "presence-room-", ["user_count"])
        assert presence["channels"][room] == {"user_count": 2}
    peers[3].client.send(cmd="disconnect")
    for index in range(3):
        node = deployment.node(index)
        await until(lambda: connections(node) == 3)
    unused = await sdk(deployment.node(1), "channel_info", uniq("feed-"), ["subscription_count"])
    assert (unused["occupied"], unused["subscription_count"]) == (False, 0)


async def test_terminate_connections_wherever_the_user_is(deployment: Deployment, node_clients: list[NodeClient]) -> None:
    channel = uniq("presence-term-")
    dan_1 = await connect(deployment.node(1), node_clients, user="dan")
    dan_2 = await connect(deployment.node(2), node_clients, user="dan")
    eve = await connect(deployment.node(0), node_clients, user="eve")
    await dan_1.subscribe(channel)  # known as dan through presence
    dan_2.client.send(cmd="signin")  # known as dan through sign-in
    await dan_2.wait("signed_in")
    await eve.subscribe(channel)
    await sdk(deployment.node(0), "terminate_user_connections", "dan")
    for dan in (dan_1, dan_2):
        await dan.client.wait_for(lambda e: e["type"] == "state" and e["previous"] == "connected")
    removed = await eve.wait("member_removed", channel=channel)
    assert removed["member"]["id"] == "dan"
    assert not [e for e in eve.client.events if e["type"] == "state" and e["previous"] == "connected"]


# -- faults -------------------------------------------------------------------------------------
async def test_kill_9_node_members_expire_and_survivors_announce(cluster: Deployment, node_clients: list[NodeClient]) -> None:
    name = uniq("desk")
    channel = f"presence-{name}"
    lounge = uniq("lounge-")
    watcher = await connect(cluster.node(0), node_clients, user="alice")
    echo = await NodeClient.start(auth=sdk_auth(cluster.node(0).pusher_client(), user_id="erin"))
    node_clients.append(echo)
    echo.send(cmd="echo", key=cluster.node(0).key, port=cluster.node(0).port)
    await echo.connected()
    other = await connect(cluster.node(1), node_clients, user="dave")
    doomed = [await connect(cluster.node(2), node_clients, user=u) for u in ("carol", "dave")]
    await watcher.subscribe(channel)
    await other.subscribe(channel)
    for peer in doomed:
        await peer.subscribe(channel)
    await doomed[0].subscribe(lounge)
    echo.send(cmd="echo_join", name=name)
    here = await echo.wait_for(lambda e: e["type"] == "here")
    assert sorted(m["name"] for m in here["members"] if m) == ["alice", "carol", "dave"]
    await until(lambda: set(member_ids(watcher, "member_added", channel)) == {"dave", "carol", "erin"})
    assert connections(cluster.node(0)) == 5

    cluster.node(2).kill()  # SIGKILL: no goodbye, no cleanup
    killed_at = time.monotonic()
    removed = await watcher.wait("member_removed", channel=channel, timeout=EXPIRY_BOUND + 3)
    assert time.monotonic() - killed_at <= EXPIRY_BOUND + 1.5
    assert removed["member"]["id"] == "carol"  # dave is still on node 1
    await other.wait("member_removed", channel=channel)
    leaving = await echo.wait_for(lambda e: e["type"] == "leaving")
    assert leaving["member"] == {"name": "carol"}
    await watcher.client.expect_none(lambda e: e["type"] == "member_removed" and e is not removed, within=0.5)
    users = await sdk(cluster.node(1), "users_info", channel)
    assert sorted(u["id"] for u in users["users"]) == ["alice", "dave", "erin"]
    info = await sdk(cluster.node(0), "channel_info", lounge, ["subscription_count"])
    assert (info["occupied"], info["subscription_count"]) == (False, 0)
    assert connections(cluster.node(0)) == 3  # alice and erin (Echo) on node 0, dave on node 1
    wait_health(cluster.nodes[:2], "OK")


async def test_redis_restart_mid_traffic(own_redis: RedisServer, scaling_channel: str, node_clients: list[NodeClient]) -> None:
    cluster = Deployment(cluster_nodes(own_redis.url, scaling_channel)).start()
    try:
        await _restart_redis_under_traffic(cluster, own_redis, node_clients)
    finally:
        cluster.stop()


async def _restart_redis_under_traffic(cluster: Deployment, redis_server: RedisServer, clients: list[NodeClient]) -> None:
    ticks, room = uniq("ticks-"), uniq("presence-ops-")
    alice = await connect(cluster.node(0), clients, user="alice")
    bob = await connect(cluster.node(1), clients, user="bob")
    carl = await connect(cluster.node(2), clients, user="carl")
    for peer in (alice, bob, carl):
        await peer.subscribe(ticks)
    await alice.subscribe(room)
    await bob.subscribe(room)

    seq = 0

    async def traffic() -> None:
        nonlocal seq
        while True:
            seq += 1
            try:
                await sdk(cluster.node(0), "trigger", ticks, "tick", {"seq": seq})
            except Exception:  # noqa: BLE001 - the node must keep answering; checked below
                pass
            await asyncio.sleep(0.03)

    def seen(peer: Peer, after: int) -> bool:
        return any(e["data"]["seq"] > after for e in peer.events("event", event="tick"))

    sender = asyncio.create_task(traffic())
    try:
        await until(lambda: seen(carl, 0))
        redis_server.stop()
        stopped_at = seq
        await asyncio.to_thread(wait_health, cluster.nodes, "DEGRADED")
        await until(lambda: seen(alice, stopped_at + 5))  # local delivery goes on
        alone = await carl.subscribe(room)  # and so do subscriptions, answered locally
        assert set(alone["data"]["members"]) == {"carl"}
        assert all(node.proc is not None and node.proc.poll() is None for node in cluster.nodes)

        redis_server.start()  # same port, empty: the nodes must rebuild the shared state
        restarted_at = seq
        await asyncio.to_thread(wait_health, cluster.nodes, "OK")
        await until(lambda: seen(carl, restarted_at) and seen(bob, restarted_at))
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)

    users = await sdk(cluster.node(0), "users_info", room)
    assert sorted(u["id"] for u in users["users"]) == ["alice", "bob", "carl"]
    assert connections(cluster.node(1)) == 3
    # carl joined during the outage: the others hear of him, and he of them, once Redis is back
    await until(lambda: "carl" in member_ids(alice, "member_added", room) and "carl" in member_ids(bob, "member_added", room))
    await until(lambda: {"alice", "bob"} <= set(member_ids(carl, "member_added", room)))
    dave = await connect(cluster.node(2), clients, user="dave")
    await dave.subscribe(room)  # presence across nodes works as before
    await until(lambda: "dave" in member_ids(alice, "member_added", room))
    logs = "".join(node.log() for node in cluster.nodes)
    assert "unreachable" in logs and "cluster delivery resumed" in logs
    assert "Traceback" not in logs


async def until(check: Any, timeout: float = 5.0) -> None:
    """Wait for a condition (checked in a thread when it does blocking I/O)."""
    deadline = time.monotonic() + timeout
    while True:
        if await asyncio.to_thread(check):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)
