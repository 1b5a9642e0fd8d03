"""Redis for the scaling suite: the machine's own on 6379, or one started here."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.scaling.redis_server import RedisServer, redis_answers

# Short heartbeats so a killed node expires in about two seconds.
NODE_TTL = 1.5
NODE_HEARTBEAT = 0.5


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The shared Redis on 127.0.0.1:6379, or a private one when none answers."""
    if redis_answers("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/0"
        return
    server = RedisServer().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def scaling_channel(redis_url: str) -> Iterator[str]:
    """A pub/sub channel (and key prefix) of this test alone; its keys are removed after."""
    name = f"pyreverb-test-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{name}:*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this test alone, so it can be stopped and restarted."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()
