"""Real pyreverb processes for the scaling suite: one plain node, or a Redis cluster."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from tests.helpers.procs import TIME_FACTOR, ReverbProcess
from tests.scaling.conftest import NODE_HEARTBEAT, NODE_TTL


def cluster_nodes(redis_url: str, scaling_channel: str, count: int = 3) -> list[ReverbProcess]:
    """Nodes configured each in one of the supported ways: REDIS_URL, REDIS_HOST/PORT/DB, --redis."""
    common = {
        "REVERB_SCALING_CHANNEL": scaling_channel,
        "PYREVERB_NODE_TTL": str(NODE_TTL),
        "PYREVERB_NODE_HEARTBEAT": str(NODE_HEARTBEAT),
        "PYREVERB_REDIS_BACKOFF_MAX": "0.5",
    }
    url = urlsplit(redis_url)
    styles = [
        ({"REVERB_SCALING_ENABLED": "true", "REDIS_URL": redis_url}, []),
        (
            {
                "REVERB_SCALING_ENABLED": "true",
                "REDIS_HOST": url.hostname or "127.0.0.1",
                "REDIS_PORT": str(url.port or 6379),
                "REDIS_DB": url.path.strip("/") or "0",
            },
            [],
        ),
        ({}, ["--redis", redis_url]),
    ]
    return [ReverbProcess(env={**common, **styles[i % 3][0]}, args=list(styles[i % 3][1])) for i in range(count)]


def health(node: ReverbProcess) -> str:
    try:
        return str(httpx.get(f"{node.base_url}/up", timeout=2).json()["health"])
    except (httpx.HTTPError, ValueError, KeyError):
        return "UNREACHABLE"


def wait_health(nodes: list[ReverbProcess], expected: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout * TIME_FACTOR
    while True:
        states = [health(n) for n in nodes]
        if all(s == expected for s in states):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"/up did not report {expected} on every node within {timeout}s: {states}")
        time.sleep(0.05)


@dataclass
class Deployment:
    """What the clients see: ``node(i)`` spreads them over however many nodes there are."""

    nodes: list[ReverbProcess] = field(default_factory=list)

    def node(self, index: int) -> ReverbProcess:
        return self.nodes[index % len(self.nodes)]

    @property
    def clustered(self) -> bool:
        return len(self.nodes) > 1

    def start(self) -> "Deployment":
        try:
            with ThreadPoolExecutor(len(self.nodes)) as pool:
                list(pool.map(ReverbProcess.start, self.nodes))
            if self.clustered:
                wait_health(self.nodes, "OK")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(ReverbProcess.stop, self.nodes))
