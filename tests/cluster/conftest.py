"""Shared services for chatapp running as several instances: Redis and an S3 API server.

Redis comes from the scaling suite's fixtures: ``scaling_channel`` is a key prefix of the
test's own (``CHATAPP_REDIS_PREFIX``), its keys removed after.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.cluster.s3_server import S3Server
from tests.scaling.conftest import redis_url, scaling_channel


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 API server in its own process, for the whole session."""
    server = S3Server().start(tmp_path_factory.mktemp("s3") / "moto.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    """An empty bucket of this test alone."""
    name = f"chatapp-test-{uuid.uuid4().hex[:10]}"
    s3_server.new_bucket(name)
    return name


__all__ = ["redis_url", "scaling_channel", "s3_server", "bucket"]
