"""Admission control on a real node: sessions open at the paced rate, the excess gets 4100."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.helpers.procs import ReverbProcess


@pytest.fixture
def paced() -> Iterator[ReverbProcess]:
    """One session every 0.25 s, at most 3 waiting."""
    node = ReverbProcess(env={"PYREVERB_HANDSHAKES_PER_SECOND": "4", "PYREVERB_HANDSHAKE_QUEUE": "3"}).start()
    try:
        yield node
    finally:
        node.stop()


async def _open(node: ReverbProcess, started: float) -> tuple[str, int, float]:
    """(first event, its error code or 0, seconds until it arrived)."""
    url = f"ws://127.0.0.1:{node.port}/app/{node.key}?protocol=7&client=js&version=8.4.0"
    async with websockets.connect(url) as ws:
        doc: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        at = time.monotonic() - started
        data = json.loads(doc["data"])
        if doc["event"] == "pusher:error":
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == data["code"]
            return doc["event"], data["code"], at
        return doc["event"], 0, at


async def test_a_burst_opens_one_per_slice_and_the_overflow_is_told_to_retry(paced: ReverbProcess) -> None:
    started = time.monotonic()
    results = await asyncio.gather(*(_open(paced, started) for _ in range(6)))
    opened = sorted(at for event, _, at in results if event == "pusher:connection_established")
    refused = [code for event, code, _ in results if event == "pusher:error"]
    assert len(opened) == 4 and refused == [4100, 4100], results
    # the first at once, the three that waited one slice (0.25 s) apart
    assert opened[-1] - opened[0] >= 0.6, opened
