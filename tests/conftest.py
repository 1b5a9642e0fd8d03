from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.helpers.node_client import NodeClient
from tests.helpers.procs import ReverbProcess


@pytest.fixture
def reverb() -> Iterator[ReverbProcess]:
    """A real pyreverb node on a free port, default app 100/test-key/test-secret."""
    node = ReverbProcess().start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
async def node_clients() -> AsyncIterator[list[NodeClient]]:
    """Collects NodeClients a test starts, and closes them afterwards."""
    clients: list[NodeClient] = []
    yield clients
    for client in clients:
        await client.close()


@pytest.fixture(scope="module")
def shared_reverb() -> Iterator[ReverbProcess]:
    """One node shared by a module's tests (they use distinct channel names)."""
    node = ReverbProcess(
        env={"REVERB_APP_MAX_MESSAGE_SIZE": "2000", "PYREVERB_APP_MAX_PRESENCE_MEMBERS": "3"}
    ).start()
    try:
        yield node
    finally:
        node.stop()
