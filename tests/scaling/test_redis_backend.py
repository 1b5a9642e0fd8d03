"""What only a cluster has: expiry of dead nodes, re-announcing, outages, the bus format."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from pyreverb.backends import bus
from pyreverb.backends.cluster_state import RedisScripts
from pyreverb.backends.gate import Gate
from pyreverb.backends.redis import MAX_REDIS_CONNECTIONS, ClusterTiming, RedisBackend, redacted
from pyreverb.config import ConfigError, Settings
from pyreverb.protocol.messages import encode_event
from pyreverb.server import PusherServer
from tests.scaling.conftest import NODE_HEARTBEAT, NODE_TTL
from tests.scaling.fakes import APP, Client, eventually, settled
from tests.scaling.redis_server import RedisServer

TIMING = ClusterTiming(node_ttl=NODE_TTL, heartbeat=NODE_HEARTBEAT, backoff_max=0.5)
QUICK = ClusterTiming(node_ttl=NODE_TTL, heartbeat=NODE_HEARTBEAT, backoff_max=0.5, redis_timeout=0.5)
StartNode = Callable[..., Awaitable[PusherServer]]


@pytest.fixture
async def start_node(redis_url: str, scaling_channel: str) -> AsyncIterator[StartNode]:
    """Start in-process Redis-backed nodes; stops the ones still running afterwards."""
    started: list[PusherServer] = []

    async def start(url: str = redis_url, wait_healthy: bool = True, timing: ClusterTiming = TIMING) -> PusherServer:
        settings = Settings(apps=(APP,), scaling_enabled=True, redis_url=url, scaling_channel=scaling_channel)
        node = PusherServer(settings, backend=RedisBackend(settings, timing))
        started.append(node)
        await node.backend.start()
        if wait_healthy:
            await eventually(lambda: node.backend.healthy)
        return node

    yield start
    for node in started:
        await node.backend.stop()


def removed_users(client: Client) -> list[str]:
    return [e["data"]["user_id"] for e in client.events("pusher_internal:member_removed")]


def added_users(client: Client) -> list[str]:
    return [e["data"]["user_id"] for e in client.events("pusher_internal:member_added")]


# -- the bus format ----------------------------------------------------------------------
def test_bus_message_round_trip_keeps_body_bytes_untouched() -> None:
    frame = encode_event("chat", '{"text":"line1\\nline2 \\u00e9"}', "room")
    raw = bus.encode("node-a", bus.Kind.MESSAGE, "app", "room", None, body=frame)
    msg = bus.decode(raw)
    assert (msg.node, msg.kind, msg.args, msg.body) == ("node-a", bus.Kind.MESSAGE, ("app", "room", None), frame)
    assert abs(msg.sent_at - time.time()) < 5


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"no header line",
        b"not json\n{}",
        b'{"a":1}\n',
        b'[2,"n",1,"m","a","c",null]\n',  # another wire version
        b'[1,"n",1,"zz"]\n',  # unknown kind
        b'[1,"n",1,"m","a",5,null]\n',  # a number where a name belongs
        b'[1,"n",1,"m","a"]\n',  # too few fields
        b'[1,"n","late","t","a","u"]\n',  # no timestamp
    ],
)
def test_foreign_or_damaged_bus_messages_are_refused(raw: bytes) -> None:
    with pytest.raises(bus.BusDecodeError):
        bus.decode(raw)


# -- settings ------------------------------------------------------------------------------
def test_timing_from_env_defaults_and_bounds() -> None:
    default = ClusterTiming.from_env({})
    assert (default.node_ttl, default.heartbeat, default.expiry_bound) == (15.0, 5.0, 20.0)
    short = ClusterTiming.from_env({"PYREVERB_NODE_TTL": "1.5"})
    assert (short.heartbeat, short.expiry_bound) == (0.5, 2.0)
    for bad in ({"PYREVERB_NODE_TTL": "soon"}, {"PYREVERB_NODE_TTL": "-1"}, {"PYREVERB_NODE_TTL": "2", "PYREVERB_NODE_HEARTBEAT": "3"}):
        with pytest.raises(ConfigError, match="PYREVERB_NODE_"):
            ClusterTiming.from_env(bad)


def test_logged_redis_url_hides_the_password() -> None:
    assert redacted("redis://:s3cret@cache:6380/2") == "redis://:***@cache:6380/2"
    assert redacted("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


# -- the resync gate -------------------------------------------------------------------------
async def test_gate_orders_writes_around_a_resync() -> None:
    gate, order = Gate(), []
    release = asyncio.Event()

    async def write(name: str, hold: asyncio.Event | None = None) -> None:
        async with gate.shared():
            order.append(f"{name} start")
            if hold is not None:
                await hold.wait()
            order.append(f"{name} end")

    async def resync() -> None:
        async with gate.exclusive():
            order.append("resync")

    early = asyncio.create_task(write("early", release))
    await eventually(lambda: order == ["early start"])
    sync = asyncio.create_task(resync())
    await eventually(lambda: gate.closed)
    late = asyncio.create_task(write("late"))
    await settled(lambda: order == ["early start"], within=0.05)
    release.set()
    await asyncio.gather(early, sync, late)
    assert order == ["early start", "early end", "resync", "late start", "late end"]


# -- dead and confused nodes -------------------------------------------------------------------
async def test_crashed_node_expires_and_one_survivor_announces_each_member(start_node: StartNode) -> None:
    a, b, doomed = await start_node(), await start_node(), await start_node()
    watcher_a, watcher_b = Client(a, user="wat"), Client(b, user="ch")
    ghost = Client(doomed, user="ghost")
    shared = Client(doomed, user="wat")  # also on a surviving node: must not be removed
    for client in (watcher_a, watcher_b, ghost, shared):
        await client.subscribe("presence-floor")
    await ghost.subscribe("lobby")
    assert (await a.backend.channel_stats(APP.app_id, "lobby")).subscription_count == 1

    crashed_at = time.monotonic()
    assert doomed.backend._runner is not None
    doomed.backend._runner.cancel()  # heartbeats stop; nothing is withdrawn, as with kill -9

    await eventually(lambda: removed_users(watcher_a) and removed_users(watcher_b), timeout=TIMING.expiry_bound + 3)
    assert time.monotonic() - crashed_at <= TIMING.expiry_bound + 1
    await settled(lambda: removed_users(watcher_a) == ["ghost"] and removed_users(watcher_b) == ["ghost"])
    assert set(await b.backend.presence_members(APP.app_id, "presence-floor")) == {"wat", "ch"}
    assert (await a.backend.channel_stats(APP.app_id, "lobby")).subscription_count == 0
    assert "lobby" not in await b.backend.channels(APP.app_id)


async def test_node_expired_by_mistake_re_announces_its_members(start_node: StartNode, redis_url: str) -> None:
    a, b = await start_node(), await start_node()
    watcher, sleeper = Client(a, user="wat"), Client(b, user="sleepy")
    await watcher.subscribe("presence-den")
    await sleeper.subscribe("presence-den")
    await eventually(lambda: added_users(watcher) == ["sleepy"])
    # As if b had stalled past its TTL: a survivor withdraws its state and says so.
    client = aioredis.Redis.from_url(redis_url)
    try:
        state = RedisScripts(client, b.settings.scaling_channel, b.backend.node_id)
        for gone in await state.reap(b.backend.node_id, only_if_dead=False):
            a.backend.publish(APP.app_id, gone.channel, encode_event("pusher_internal:member_removed", {"user_id": gone.user_id}, gone.channel))
    finally:
        await client.aclose()
    assert removed_users(watcher) == ["sleepy"]
    assert set(await a.backend.presence_members(APP.app_id, "presence-den")) == {"wat"}
    await eventually(lambda: added_users(watcher) == ["sleepy", "sleepy"], timeout=3)
    assert set(await a.backend.presence_members(APP.app_id, "presence-den")) == {"wat", "sleepy"}
    assert (await a.backend.channel_stats(APP.app_id, "presence-den")).subscription_count == 2


async def test_clean_stop_withdraws_at_once(start_node: StartNode) -> None:
    a, b = await start_node(), await start_node()
    watcher, leaving = Client(a, user="wat"), Client(b, user="bye")
    await watcher.subscribe("presence-hall")
    await leaving.subscribe("presence-hall")
    stopped_at = time.monotonic()
    await b.backend.stop()
    await eventually(lambda: removed_users(watcher) == ["bye"], timeout=1)
    assert time.monotonic() - stopped_at < TIMING.node_ttl
    assert set(await a.backend.presence_members(APP.app_id, "presence-hall")) == {"wat"}


async def test_foreign_messages_on_the_channel_are_ignored(start_node: StartNode, redis_url: str) -> None:
    a, b = await start_node(), await start_node()
    reader = Client(a)
    await reader.subscribe("feed")
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.publish(a.settings.scaling_channel, b"something else entirely")
        await client.publish(a.settings.scaling_channel, b'[1,"x",0,"m","1"]\n')  # too few fields
    finally:
        await client.aclose()
    b.backend.publish(APP.app_id, "feed", encode_event("still-fine", "{}", "feed"))
    await eventually(lambda: reader.events("still-fine"))
    assert a.backend.healthy and b.backend.healthy
    assert 0 <= a.backend.bus_lag_seconds < 1  # exported as pyreverb_bus_lag_seconds


async def test_a_burst_of_subscriptions_waits_for_a_bounded_pool(start_node: StartNode, redis_url: str) -> None:
    node = await start_node()
    clients = [Client(node) for _ in range(300)]
    await asyncio.gather(*(c.subscribe("burst") for c in clients))
    assert (await node.backend.channel_stats(APP.app_id, "burst")).subscription_count == 300
    assert node.backend.healthy
    client = aioredis.Redis.from_url(redis_url)
    try:
        mine = [c for c in await client.client_list() if c["name"] == f"pyreverb-{node.backend.node_id}"]
    finally:
        await client.aclose()
    assert 1 <= len(mine) <= MAX_REDIS_CONNECTIONS


# -- Redis outages --------------------------------------------------------------------------------
async def test_node_started_without_redis_serves_locally_then_joins(start_node: StartNode, own_redis: RedisServer) -> None:
    up = await start_node(own_redis.url)
    own_redis.stop()
    began = time.monotonic()
    lonely = await start_node(own_redis.url, wait_healthy=False)
    assert time.monotonic() - began < 2 * TIMING.redis_timeout + 2
    assert not lonely.backend.healthy
    await eventually(lambda: not up.backend.healthy)
    here, there = Client(lonely, user="solo"), Client(up, user="far")
    first = await here.subscribe("presence-alone")
    assert first["data"]["presence"]["ids"] == ["solo"]  # local answer while Redis is away
    await there.subscribe("presence-alone")
    lonely.backend.publish(APP.app_id, "presence-alone", encode_event("local", "{}", "presence-alone"))
    assert here.events("local")  # delivered locally at once, Redis or not

    own_redis.start()
    await eventually(lambda: lonely.backend.healthy and up.backend.healthy, timeout=5)
    assert set(await lonely.backend.presence_members(APP.app_id, "presence-alone")) == {"solo", "far"}
    # each side learns of the other's member through the resync announcements
    await eventually(lambda: "far" in added_users(here) and "solo" in added_users(there))
    up.backend.publish(APP.app_id, "presence-alone", encode_event("across", "{}", "presence-alone"))
    await eventually(lambda: here.events("across"))


async def test_a_frozen_redis_is_noticed_and_never_blocks_delivery(start_node: StartNode, own_redis: RedisServer) -> None:
    node = await start_node(own_redis.url, timing=QUICK)
    reader = Client(node)
    await reader.subscribe("feed")
    own_redis.freeze()
    try:
        began = time.monotonic()
        node.backend.publish(APP.app_id, "feed", encode_event("now", "{}", "feed"))
        assert reader.events("now") and time.monotonic() - began < 0.05  # local delivery never waits
        late = Client(node)
        await late.subscribe("other")  # answered locally once the Redis call times out
        await eventually(lambda: not node.backend.healthy, timeout=QUICK.heartbeat + 3 * QUICK.redis_timeout + 1)
        assert (await node.backend.channel_stats(APP.app_id, "other")).subscription_count == 1
    finally:
        own_redis.thaw()
    await eventually(lambda: node.backend.healthy, timeout=5)
    # the subscription made while Redis hung was written back by the resync
    client = aioredis.Redis.from_url(own_redis.url)
    try:
        assert await client.hget(f"{node.settings.scaling_channel}:subs:{APP.app_id}", "other") == b"1"
    finally:
        await client.aclose()
