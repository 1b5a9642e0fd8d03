"""One contract, every backend: three in-process nodes behave like one server.

With the memory backend the "three nodes" are one PusherServer; with the Redis
backend they are three PusherServers sharing a real Redis. The assertions are
the same, so whatever passes here on one node also holds across a cluster.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from pyreverb.backends.memory import MemoryBackend
from pyreverb.backends.redis import ClusterTiming, RedisBackend
from pyreverb.config import Settings
from pyreverb.protocol.channels import ChannelKind, PresenceMember
from pyreverb.protocol.messages import encode_event
from pyreverb.server import PusherServer
from tests.scaling.conftest import NODE_HEARTBEAT, NODE_TTL
from tests.scaling.fakes import APP, Client, eventually, settled

pytestmark = pytest.mark.redis


@pytest.fixture(params=["memory", "redis"])
async def nodes(request: pytest.FixtureRequest, redis_url: str, scaling_channel: str) -> AsyncIterator[list[PusherServer]]:
    if request.param == "memory":
        node = PusherServer(Settings(apps=(APP,)))
        assert isinstance(node.backend, MemoryBackend)
        servers = [node]
    else:
        settings = Settings(apps=(APP,), scaling_enabled=True, redis_url=redis_url, scaling_channel=scaling_channel)
        timing = ClusterTiming(node_ttl=NODE_TTL, heartbeat=NODE_HEARTBEAT)
        servers = [PusherServer(settings, backend=RedisBackend(settings, timing)) for _ in range(3)]
    try:
        for server in servers:
            await server.backend.start()
            await eventually(lambda: server.backend.healthy)
        yield [servers[i % len(servers)] for i in range(3)]
    finally:
        for server in servers:
            await server.backend.stop()


async def test_trigger_reaches_every_node_but_the_excluded_socket(nodes: list[PusherServer]) -> None:
    a, b, c = (Client(n) for n in nodes)
    for client in (a, b, c):
        await client.subscribe("news")
    frame = encode_event("flash", '{"n":1}', "news")
    nodes[0].backend.publish(APP.app_id, "news", frame, except_socket_id=c.socket_id)
    await eventually(lambda: a.events("flash") and b.events("flash"))
    assert b.events("flash")[0] == {"event": "flash", "channel": "news", "data": {"n": 1}}
    await settled(lambda: len(a.events("flash")) == 1 and len(b.events("flash")) == 1 and not c.events("flash"))


async def test_client_event_reaches_other_nodes_never_the_sender(nodes: list[PusherServer]) -> None:
    a, b, c = (Client(n, user=u) for n, u in zip(nodes, "abc"))
    for client in (a, b, c):
        await client.subscribe("private-room")
    b.whisper("private-room", "client-typing", {"who": "b"})
    await eventually(lambda: a.events("client-typing") and c.events("client-typing"))
    assert c.events("client-typing")[0]["data"] == {"who": "b"}
    await settled(lambda: not b.events("client-typing") and len(a.events("client-typing")) == 1)


async def test_presence_lists_and_announces_each_user_once(nodes: list[PusherServer]) -> None:
    alice = Client(nodes[0], user="alice")
    bob_1, bob_2 = Client(nodes[1], user="bob"), Client(nodes[2], user="bob")
    await alice.subscribe("presence-lobby")
    first = await bob_1.subscribe("presence-lobby")
    second = await bob_2.subscribe("presence-lobby")
    for joined in (first, second):
        assert sorted(joined["data"]["presence"]["ids"]) == ["alice", "bob"]
        assert joined["data"]["presence"]["hash"]["alice"] == {"name": "alice"}
    await eventually(lambda: alice.events("pusher_internal:member_added"))
    await settled(lambda: len(alice.events("pusher_internal:member_added")) == 1)
    assert alice.events("pusher_internal:member_added")[0]["data"] == {"user_id": "bob", "user_info": {"name": "bob"}}
    # bob's second socket sees no member_added for himself; his first leaving is no departure
    assert not bob_2.events("pusher_internal:member_added")
    bob_1.disconnect()
    await settled(lambda: not alice.events("pusher_internal:member_removed"))
    bob_2.unsubscribe("presence-lobby")
    await eventually(lambda: alice.events("pusher_internal:member_removed"))
    await settled(lambda: len(alice.events("pusher_internal:member_removed")) == 1)
    assert alice.events("pusher_internal:member_removed")[0]["data"] == {"user_id": "bob"}
    assert await nodes[2].backend.presence_members(APP.app_id, "presence-lobby") == {"alice": {"name": "alice"}}


async def test_queries_answer_for_every_node(nodes: list[PusherServer]) -> None:
    clients = [Client(nodes[i % 3], user=u) for i, u in enumerate(["ann", "ben", "ann", "cid"])]
    for client in clients:
        await client.subscribe("presence-team")
    await clients[0].subscribe("updates")
    await clients[1].subscribe("updates")
    Client(nodes[2])  # connected, subscribed to nothing
    for node in nodes:
        backend = node.backend
        team = await backend.channel_stats(APP.app_id, "presence-team")
        assert (team.subscription_count, team.user_count) == (4, 3)
        updates = await backend.channel_stats(APP.app_id, "updates")
        assert (updates.subscription_count, updates.user_count) == (2, None)
        empty = await backend.channel_stats(APP.app_id, "presence-nobody")
        assert (empty.subscription_count, empty.user_count) == (0, 0)
        listed = await backend.channels(APP.app_id)
        assert {name: (s.subscription_count, s.user_count) for name, s in listed.items()} == {
            "presence-team": (4, 3),
            "updates": (2, None),
        }
        assert set(await backend.presence_members(APP.app_id, "presence-team")) == {"ann", "ben", "cid"}
        assert await backend.connection_count(APP.app_id) == 5
    clients[1].disconnect()  # ben: his only socket, also one of the two on "updates"
    for node in nodes:
        await eventually(lambda: _counts(node, "updates", (1, None)))
        await eventually(lambda: _counts(node, "presence-team", (3, 2)))


async def _counts(node: PusherServer, channel: str, expected: tuple[int, int | None]) -> bool:
    stats = await node.backend.channel_stats(APP.app_id, channel)
    return (stats.subscription_count, stats.user_count) == expected


async def test_occupied_and_vacated_once_for_the_cluster(nodes: list[PusherServer]) -> None:
    a, b = Client(nodes[0]), Client(nodes[1])
    join_a = nodes[0].hub.join(a, "ticker", ChannelKind.PUBLIC, None)
    join_b = nodes[1].hub.join(b, "ticker", ChannelKind.PUBLIC, None)
    assert await nodes[0].backend.state.subscribed(APP.app_id, "ticker", a.socket_id, join_a) is True
    assert await nodes[1].backend.state.subscribed(APP.app_id, "ticker", b.socket_id, join_b) is False
    leave_a = nodes[0].hub.leave(a, "ticker", None)
    assert await nodes[0].backend.state.unsubscribed(APP.app_id, "ticker", a.socket_id, leave_a) is False
    leave_b = nodes[1].hub.leave(b, "ticker", None)
    assert await nodes[1].backend.state.unsubscribed(APP.app_id, "ticker", b.socket_id, leave_b) is True


async def test_terminate_closes_the_users_sockets_on_every_node(nodes: list[PusherServer]) -> None:
    dan = [Client(n, user="dan") for n in nodes]
    eve = Client(nodes[1], user="eve")
    await dan[0].subscribe("presence-desk")
    await eve.subscribe("presence-desk")
    for socket in dan[1:]:
        socket.sign_in()
    await eventually(lambda: all(s.user_id == "dan" for s in dan[1:]))
    await nodes[2].backend.terminate_user(APP.app_id, "dan")
    await eventually(lambda: all(s.closed_with == 4009 for s in dan))
    await settled(lambda: eve.closed_with is None)


async def test_server_to_user_events_reach_every_node(nodes: list[PusherServer]) -> None:
    sockets = [Client(n, user="fay") for n in nodes]
    other = Client(nodes[0], user="gus")
    for socket in [*sockets, other]:
        socket.sign_in()
    await eventually(lambda: all(s.user_id for s in [*sockets, other]))
    for socket in sockets:  # what pusher-js does after a sign-in
        await socket.subscribe("#server-to-user-fay")
    await other.subscribe("#server-to-user-gus")
    nodes[1].send_to_user(APP, "fay", "note", "{}")
    await eventually(lambda: all(s.events("note") for s in sockets))
    await settled(lambda: not other.events("note") and all(len(s.events("note")) == 1 for s in sockets))


async def test_presence_answers_first_last_occupied_and_vacated_once(nodes: list[PusherServer]) -> None:
    ann, bob = PresenceMember("ann", {"name": "ann"}), PresenceMember("bob", {"name": "bob"})
    sockets = [(nodes[0], Client(nodes[0]), ann), (nodes[1], Client(nodes[1]), ann), (nodes[2], Client(nodes[2]), bob)]
    answers = []
    for node, client, member in sockets:
        local = node.hub.join(client, "presence-desk", ChannelKind.PRESENCE, member)
        joined = await node.backend.state.presence_join(APP.app_id, "presence-desk", client.socket_id, member, local)
        answers.append((joined.first_socket_of_user, joined.channel_occupied, sorted(joined.members)))
    assert answers == [(True, True, ["ann"]), (False, False, ["ann"]), (True, False, ["ann", "bob"])]
    answers = []
    for node, client, member in sockets:
        local = node.hub.leave(client, "presence-desk", member)
        left = await node.backend.state.presence_leave(APP.app_id, "presence-desk", client.socket_id, member, local)
        answers.append((left.last_socket_of_user, left.channel_vacated))
    assert answers == [(False, False), (True, False), (True, True)]


class HookLog:
    """Stands in for the node's webhooks: every event wanted, every one kept."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str | None]] = []

    def wants(self, app: Any, name: str) -> bool:
        return True

    def emit(self, app: Any, event: dict[str, Any]) -> None:
        self.events.append((event["name"], event["channel"], event.get("user_id")))


async def test_member_and_occupancy_webhooks_once_for_the_cluster(nodes: list[PusherServer]) -> None:
    hooks = HookLog()
    for node in nodes:
        node.occupancy.webhooks = hooks  # type: ignore[assignment]  # records instead of posting
    ann_1, ann_2, bob = Client(nodes[0], user="ann"), Client(nodes[1], user="ann"), Client(nodes[2], user="bob")
    readers = [Client(nodes[0]), Client(nodes[1])]
    for client in (ann_1, ann_2, bob):
        await client.subscribe("presence-desk")
    for reader in readers:
        await reader.subscribe("news")
    await settled(lambda: sorted(hooks.events) == [
        ("channel_occupied", "news", None),
        ("channel_occupied", "presence-desk", None),
        ("member_added", "presence-desk", "ann"),
        ("member_added", "presence-desk", "bob"),
    ])
    hooks.events.clear()
    ann_1.disconnect()
    readers[0].unsubscribe("news")
    await settled(lambda: not hooks.events)
    bob.unsubscribe("presence-desk")
    ann_2.disconnect()
    readers[1].disconnect()
    await eventually(lambda: len(hooks.events) >= 4)
    await settled(lambda: sorted(hooks.events) == [
        ("channel_vacated", "news", None),
        ("channel_vacated", "presence-desk", None),
        ("member_removed", "presence-desk", "ann"),
        ("member_removed", "presence-desk", "bob"),
    ])
