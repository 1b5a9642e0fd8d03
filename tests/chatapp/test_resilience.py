"""A second chatapp instance on the same database.

pyreverb down during a send, across restarts and kill -9, is in test_outbox.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chatapp.procs import Api, ChatappProcess
from tests.helpers.procs import ReverbProcess


@pytest.fixture
def second_instance(
    database_url: str, chat: ChatappProcess, chat_reverb: ReverbProcess, tmp_path: Path
) -> Iterator[tuple[ReverbProcess, ChatappProcess]]:
    """Another chatapp sharing the suite's database and pyreverb (instances share the outbox, so
    they must publish to the same pyreverb or cluster)."""
    app = ChatappProcess(database_url, chat_reverb.port, tmp_path / "second").start(migrate=False)
    try:
        yield chat_reverb, app
    finally:
        app.stop()


def test_instances_share_keys_through_the_database(
    second_instance: tuple[ReverbProcess, ChatappProcess], chat: ChatappProcess, admin: Api
) -> None:
    """Secrets generated on first run live in the database, so instances agree on them."""
    _, app = second_instance
    assert app.ok_json("/api/config")["vapid_public_key"] == chat.ok_json("/api/config")["vapid_public_key"]
    other = Api(app.base_url, admin.token)
    assert other.ok("GET", "/api/auth/me")["user"]["id"] == admin.id, "a token from one instance works on another"
