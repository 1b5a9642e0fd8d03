"""The relay's linger: commits right after a pass share the next one; after a quiet spell an
event goes at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from chatapp.broadcasting import Event
from chatapp.config import ConfigError, Settings
from chatapp.db import connect
from chatapp.outbox import Outbox, Relay
from chatapp.schema import migrate
from tests.chatapp.procs import throwaway_database

KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
LINGER = 0.3


class Batches:
    """Takes every request as pyreverb would; remembers each one's events and when it came."""

    def __init__(self) -> None:
        self.names: list[list[str]] = []
        self.at: list[float] = []

    async def deliver(self, events: list[Event]) -> None:
        self.names.append([e.name for e in events])
        self.at.append(time.monotonic())


async def _until(done: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the relay sent nothing in time"
        await asyncio.sleep(0.005)


async def _passes(url: str, linger: float) -> tuple[Batches, float]:
    """One event after a quiet spell, then two written one after the other right after its pass."""
    settings = Settings(reverb_app_id="1", reverb_key="k", reverb_secret="s", database_url=url,
                        outbox_linger=linger)
    db = await connect(url)
    await migrate(db)
    sent = Batches()
    relay = Relay(settings, db, sent)  # type: ignore[arg-type]
    outbox = Outbox(settings)
    try:
        await relay.start()
        await asyncio.sleep(0.2)  # its first (empty) pass is behind it
        written = time.monotonic()
        await outbox.add(db, ["a"], "one", {})
        relay.wake()
        await _until(lambda: len(sent.names) == 1)
        await outbox.add(db, ["a"], "two", {})
        relay.wake()
        await asyncio.sleep(0.05)
        await outbox.add(db, ["a"], "three", {})
        relay.wake()
        await _until(lambda: sum(map(len, sent.names)) == 3)
        return sent, written
    finally:
        await relay.stop()
        await db.close()


@pytest.mark.parametrize("kind", KINDS)
def test_commits_right_after_a_pass_share_the_next(kind: str, tmp_path: Path) -> None:
    with throwaway_database(kind, tmp_path) as url:
        sent, written = asyncio.run(_passes(url, LINGER))
    assert sent.names == [["one"], ["two", "three"]]
    assert sent.at[0] - written < LINGER / 2  # the first after a quiet spell is not held
    assert sent.at[1] - sent.at[0] >= LINGER - 0.02


def test_no_linger_sends_each_commit_at_once(tmp_path: Path) -> None:
    with throwaway_database("sqlite", tmp_path) as url:
        sent, _ = asyncio.run(_passes(url, 0.0))
    assert sent.names == [["one"], ["two"], ["three"]]


def test_linger_is_checked() -> None:
    with pytest.raises(ConfigError, match="CHATAPP_OUTBOX_LINGER"):
        Settings.from_env({"CHATAPP_OUTBOX_LINGER": "5"}).validate()
