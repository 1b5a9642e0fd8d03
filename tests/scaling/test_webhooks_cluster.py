"""Webhooks in a cluster: occupied/vacated once per cluster, and a killed node's members reported."""

from __future__ import annotations

import asyncio
import uuid

from tests.e2e.test_operations import WebhookReceiver
from tests.helpers.node_client import NodeClient, sdk_auth
from tests.helpers.procs import ReverbProcess
from tests.scaling.cluster import Deployment, cluster_nodes


async def _member(node: ReverbProcess, clients: list[NodeClient], user: str, *channels: str) -> NodeClient:
    c = await NodeClient.start(auth=sdk_auth(node.pusher_client(), user_id=user))
    clients.append(c)
    c.send(cmd="pusher", key=node.key, port=node.port)
    await c.connected()
    for ch in channels:
        c.send(cmd="subscribe", channel=ch)
        await c.wait_for(lambda e, ch=ch: e["type"] == "subscribed" and e["channel"] == ch)
    return c


async def test_cluster_webhooks_once_and_for_a_killed_node(redis_url: str, scaling_channel: str, node_clients: list[NodeClient]) -> None:
    receiver = WebhookReceiver()
    nodes = cluster_nodes(redis_url, scaling_channel, count=2)
    for node in nodes:
        node.env["PYREVERB_APP_WEBHOOK_URL"] = receiver.url
    cluster = Deployment(nodes).start()
    try:
        sdk = nodes[0].pusher_client()
        shared, solo = f"presence-{uuid.uuid4().hex[:6]}", f"presence-{uuid.uuid4().hex[:6]}"
        watcher = await _member(cluster.node(0), node_clients, "alice", shared)
        await _member(cluster.node(1), node_clients, "carol", shared, solo)
        await watcher.wait_for(lambda e: e["type"] == "member_added" and e["member"]["id"] == "carol")
        await receiver.wait_for(sdk, lambda e: e["name"] == "member_added" and e["user_id"] == "carol" and e["channel"] == shared)

        cluster.node(1).kill()
        await watcher.wait_for(lambda e: e["type"] == "member_removed", timeout=10)
        await receiver.wait_for(sdk, lambda e: e["name"] == "member_removed" and e["channel"] == shared and e["user_id"] == "carol")
        await receiver.wait_for(sdk, lambda e: e["name"] == "member_removed" and e["channel"] == solo and e["user_id"] == "carol")
        await receiver.wait_for(sdk, lambda e: e["name"] == "channel_vacated" and e["channel"] == solo)
        await asyncio.sleep(0.5)
        events = receiver.events(sdk)
        assert sum(1 for e in events if e["name"] == "channel_occupied" and e["channel"] == shared) == 1
        assert sum(1 for e in events if e["name"] == "member_removed" and e["channel"] == shared) == 1
        assert not [e for e in events if e["name"] == "channel_vacated" and e["channel"] == shared], "alice is still there"
    finally:
        cluster.stop()
        receiver.server.shutdown()
        receiver.server.server_close()
