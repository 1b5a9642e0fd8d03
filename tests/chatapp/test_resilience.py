"""pyreverb down during a send, and a second chatapp instance on the same database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chatapp.conftest import start_echo
from tests.chatapp.procs import Api, ChatappProcess, chatapp_reverb
from tests.helpers.node_client import NodeClient
from tests.helpers.procs import ReverbProcess


@pytest.fixture
def second_instance(database_url: str, chat: ChatappProcess, tmp_path: Path) -> Iterator[tuple[ReverbProcess, ChatappProcess]]:
    """Another chatapp (own pyreverb) sharing the suite's database."""
    reverb = chatapp_reverb()
    app = ChatappProcess(database_url, reverb.port, tmp_path / "second").start(migrate=False)
    try:
        yield reverb, app
    finally:
        app.stop()
        reverb.stop()


async def test_send_survives_pyreverb_outage(
    second_instance: tuple[ReverbProcess, ChatappProcess], chat: ChatappProcess, echo_clients: list[NodeClient]
) -> None:
    reverb, app = second_instance
    guest = Api(app.base_url).ok("POST", "/api/auth/guest", {"name": "Resilient Rita"})
    visitor = Api(app.base_url, guest["token"], guest["user"])
    first = visitor.send("before the outage")
    room_id, last_seen = first["room"]["id"], first["message"]["id"]

    reverb.stop()
    started = time.monotonic()
    during = visitor.send("during the outage")
    assert time.monotonic() - started < 1.0, "a send never waits for pyreverb"
    assert during["created"] is True
    app.wait_log("broadcast dropped after failure")
    assert app.ok_json("/up")["broadcast"]["dropped"] >= 1

    # The client recovers what it missed with "messages after id N".
    missed = visitor.ok("GET", f"/api/chat/rooms/{room_id}/messages", params={"after": last_seen})["data"]
    assert [m["body"] for m in missed] == ["during the outage"]

    # pyreverb is back on the same port: events flow again, nothing is stuck in chatapp.
    back = chatapp_reverb(port=reverb.port)
    try:
        tab = await start_echo(app, back, visitor.token or "")
        echo_clients.append(tab)
        tab.send(cmd="listen", kind="private", name=f"chat.{room_id}", events=[".message.sent"])
        await tab.wait_for(lambda e: e["type"] == "echo_subscribed")
        visitor.send("after the outage")
        # A retry of an event queued during the outage may also land now; that is not a loss.
        event = await tab.wait_for(lambda e: e["type"] == "echo_event" and e["data"]["body"] == "after the outage")
        bodies = [e["data"]["body"] for e in tab.events if e["type"] == "echo_event"]
        assert set(bodies) <= {"during the outage", "after the outage"} and bodies.count("after the outage") == 1
    finally:
        for client in echo_clients:
            await client.close()
        echo_clients.clear()
        back.stop()


def test_instances_share_keys_through_the_database(
    second_instance: tuple[ReverbProcess, ChatappProcess], chat: ChatappProcess, admin: Api
) -> None:
    """Secrets generated on first run live in the database, so instances agree on them."""
    _, app = second_instance
    assert app.ok_json("/api/config")["vapid_public_key"] == chat.ok_json("/api/config")["vapid_public_key"]
    other = Api(app.base_url, admin.token)
    assert other.ok("GET", "/api/auth/me")["user"]["id"] == admin.id, "a token from one instance works on another"
