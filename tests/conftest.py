from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.helpers.node_client import NodeClient
from tests.helpers.procs import ReverbProcess

# Suites that start clusters, inject faults or fuzz: minutes on a small machine, so
# `make test-fast` leaves them to `make test`.
SLOW_SUITES = ("reliability", "scaling", "cluster", "bench")

# Tests whose assertions are figures of time, speed or memory (a bound on a latency, a wait or
# a growth, a ratio against peers). `make test` runs the rest on two workers, then these one
# at a time with nothing beside them, so a neighbour's load cannot move their figures.
# Entries are node-id prefixes under tests/: a folder, a module, or a module's test.
ALONE = (
    "bench/",  # benchmarks against peers, the chat under load
    "scaling/test_bench_smoke.py",
    "scaling/test_redis_backend.py",  # bus lag under a second, bounded Redis time-outs
    "scaling/test_cluster_e2e.py",  # a dead node's members expire within a bound
    "reliability/test_soak_short.py",  # memory growth
    "reliability/test_slow_consumer.py",  # memory growth
    "reliability/test_chatapp_db_faults.py",  # bounded waits on a locked or lost database
    "e2e/test_http_transport.py",  # linger bounds
    "e2e/test_shutdown.py",  # a drain within seconds
    "e2e/test_admission.py",  # when connections are admitted
    "browser/test_live.py",  # a message shows on the other side within a second
    "browser/test_nextjs.py",  # the same, through the Next.js example
    "browser/test_reconnect.py",  # how long reconnecting takes
    "browser/test_inbox_costs.py",  # polling intervals
    "chatapp/test_inbox_costs.py",  # the statistics' publishing rate
    "chatapp/test_relay_linger.py",  # the relay's batching window
    "chatapp/test_push.py::test_a_reply_with_many_subscriptions_does_not_delay_other_requests",  # a p50
    "chatapp/test_outbox.py::test_undeliverable_event_survives_restart_and_kill9",  # a send within a second
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The ``browser``, ``slow`` and ``alone`` markers by where a test lives, decided in one place."""
    root = Path(__file__).parent
    for item in items:
        suite = item.path.relative_to(root).parts[0] if item.path.is_relative_to(root) else ""
        if suite == "browser":
            item.add_marker(pytest.mark.browser)
        elif suite in SLOW_SUITES:
            item.add_marker(pytest.mark.slow)
        if item.nodeid.removeprefix("tests/").startswith(ALONE):
            item.add_marker(pytest.mark.alone)


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
