from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.helpers.node_client import NodeClient
from tests.helpers.procs import ReverbProcess

# Suites that start clusters, inject faults or fuzz: minutes on a small machine, so
# `make test-fast` leaves them to `make test`.
SLOW_SUITES = ("reliability", "scaling", "cluster", "bench")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The ``browser`` and ``slow`` markers by where a test lives, decided in one place."""
    root = Path(__file__).parent
    for item in items:
        suite = item.path.relative_to(root).parts[0] if item.path.is_relative_to(root) else ""
        if suite == "browser":
            item.add_marker(pytest.mark.browser)
        elif suite in SLOW_SUITES:
            item.add_marker(pytest.mark.slow)


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
