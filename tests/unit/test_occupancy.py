"""The presence and occupancy decisions alone: scripted state answers in, events and webhooks out."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pyreverb.apps import AppRegistry
from pyreverb.backends.base import (
    Backend,
    Bus,
    Cause,
    ChannelStats,
    PresenceChange,
    PresenceJoin,
    PresenceLeave,
)
from pyreverb.backends.memory import MemoryState
from pyreverb.config import AppConfig
from pyreverb.hub import Hub, LocalJoin, LocalLeave
from pyreverb.occupancy import Occupancy
from pyreverb.protocol.channels import PresenceMember

APP = AppConfig(app_id="1", key="key", secret="secret")
ANN = PresenceMember("ann", {"name": "Ann"})
NEW = LocalJoin(already_subscribed=False, channel_created=False, first_local_socket_of_user=False)
GONE = LocalLeave(was_subscribed=True, channel_vacated=False, member_gone=None)


class RecordingBus(Bus):
    def __init__(self) -> None:
        super().__init__("node-a")
        self.sent: list[tuple[str, dict[str, Any], str | None]] = []

    def publish(self, app_id: str, channel: str, payload: bytes, except_socket_id: str | None = None) -> None:
        doc = json.loads(payload)
        self.sent.append((doc["event"], json.loads(doc["data"]), except_socket_id))

    async def terminate_user(self, app_id: str, user_id: str) -> None:
        raise AssertionError("not used here")


class ScriptedState(MemoryState):
    """Answers what the test says the cluster answered."""

    join = PresenceJoin(first_socket_of_user=False, channel_occupied=False, members={})
    leave = PresenceLeave(last_socket_of_user=False, channel_vacated=False)
    count = ChannelStats(0)

    def __init__(self) -> None:
        super().__init__()
        self.present: dict[str, Any] = {}

    async def presence_members(self, app_id: str, channel: str) -> dict[str, Any]:
        return self.present

    async def presence_join(self, *args: Any) -> PresenceJoin:
        return self.join

    async def presence_leave(self, *args: Any) -> PresenceLeave:
        return self.leave

    async def channel_stats(self, app_id: str, channel: str) -> ChannelStats:
        return self.count


class Hooks:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str | None]] = []

    def wants(self, app: AppConfig, name: str) -> bool:
        return True

    def emit(self, app: AppConfig, event: dict[str, Any]) -> None:
        self.sent.append((event["name"], event.get("user_id")))


class Delivered(Hub[Any]):
    def __init__(self) -> None:
        super().__init__()
        self.frames: list[str] = []

    def deliver(self, app_id: str, channel: str, payload: bytes, except_socket_id: str | None = None) -> int:
        self.frames.append(json.loads(payload)["event"])
        return 0


def _occupancy() -> tuple[Occupancy, RecordingBus, ScriptedState, Hooks, Delivered]:
    bus, state, hooks, hub = RecordingBus(), ScriptedState(), Hooks(), Delivered()
    backend = Backend(bus, state)
    backend.bind(hub)
    spawned: list[asyncio.Task[None]] = []

    def spawn(coro: Any) -> None:
        spawned.append(asyncio.ensure_future(coro))

    occupancy = Occupancy(hub, backend, AppRegistry((APP,)), hooks, spawn)  # type: ignore[arg-type]  # Hooks records
    return occupancy, bus, state, hooks, hub


async def test_first_socket_of_a_user_announces_the_member_then_the_occupied_channel() -> None:
    occupancy, bus, state, hooks, _ = _occupancy()
    state.join = PresenceJoin(first_socket_of_user=True, channel_occupied=True, members={"ann": {"name": "Ann"}})
    members = await occupancy.joined(APP, "presence-x", "1.1", ANN, NEW)
    assert members == {"ann": {"name": "Ann"}}
    assert bus.sent == [("pusher_internal:member_added", {"user_id": "ann", "user_info": {"name": "Ann"}}, "1.1")]
    assert hooks.sent == [("member_added", "ann"), ("channel_occupied", None)]


async def test_another_socket_of_a_known_user_or_a_repeated_subscribe_announces_nothing() -> None:
    occupancy, bus, state, hooks, _ = _occupancy()
    await occupancy.joined(APP, "presence-x", "1.2", ANN, NEW)
    state.join = PresenceJoin(first_socket_of_user=True, channel_occupied=True, members={"ann": {}})
    repeated = LocalJoin(already_subscribed=True, channel_created=False, first_local_socket_of_user=False)
    await occupancy.joined(APP, "presence-x", "1.2", ANN, repeated)
    assert bus.sent == [] and hooks.sent == []


async def test_last_socket_of_a_user_removes_the_member_and_the_last_one_vacates() -> None:
    occupancy, bus, state, hooks, _ = _occupancy()
    await occupancy.left(APP, "presence-x", "1.1", ANN, GONE)
    assert bus.sent == [] and hooks.sent == []
    state.leave = PresenceLeave(last_socket_of_user=True, channel_vacated=True)
    await occupancy.left(APP, "presence-x", "1.1", ANN, GONE)
    assert bus.sent == [("pusher_internal:member_removed", {"user_id": "ann"}, "1.1")]
    assert hooks.sent == [("member_removed", "ann"), ("channel_vacated", None)]


async def test_public_channels_report_occupied_and_vacated_as_the_state_answers() -> None:
    occupancy, bus, _, hooks, _ = _occupancy()
    created = LocalJoin(already_subscribed=False, channel_created=True, first_local_socket_of_user=False)
    assert await occupancy.joined(APP, "news", "1.1", None, created) is None
    await occupancy.left(APP, "news", "1.1", None, LocalLeave(True, True, None))
    assert bus.sent == [] and hooks.sent == [("channel_occupied", None), ("channel_vacated", None)]


async def test_members_changed_under_the_node_by_cause() -> None:
    occupancy, bus, _, hooks, hub = _occupancy()
    bob_back = PresenceChange("1", "presence-x", "bob", {"n": 1}, joined=True)
    ann_gone = PresenceChange("1", "presence-x", "ann")
    occupancy.members_changed([bob_back, ann_gone], Cause.RESYNC)
    occupancy.members_changed([ann_gone], Cause.WITHDRAWN)
    assert [event for event, _, _ in bus.sent] == [
        "pusher_internal:member_added",
        "pusher_internal:member_removed",
        "pusher_internal:member_removed",
    ]
    assert hooks.sent == [] and hub.frames == []
    bus.sent.clear()
    occupancy.members_changed([bob_back], Cause.REPAIR)  # this node's sockets only
    assert bus.sent == [] and hub.frames == ["pusher_internal:member_added"] and hooks.sent == []
    occupancy.members_changed([ann_gone], Cause.REAPED)
    assert bus.sent == [("pusher_internal:member_removed", {"user_id": "ann"}, None)]
    await asyncio.sleep(0)  # the channel_vacated check asks the state
    assert hooks.sent == [("member_removed", "ann"), ("channel_vacated", None)]


async def test_a_full_presence_channel_still_admits_its_members() -> None:
    occupancy, _, state, _, _ = _occupancy()
    small = AppConfig(app_id="1", key="key", secret="secret", max_presence_members=2)
    state.present = {"ann": {}}
    assert await occupancy.has_room(small, "presence-x", PresenceMember("bob"))
    state.present = {"ann": {}, "bob": {}}
    assert not await occupancy.has_room(small, "presence-x", PresenceMember("cid"))
    assert await occupancy.has_room(small, "presence-x", ANN)
