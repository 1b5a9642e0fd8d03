"""Availability and automatic assignment (chatapp.routing), through the API, on SQLite and PostgreSQL.

Each module run has its own pyreverb and chatapp with automatic assignment on (the other
suites keep it off). Agents are "there" the way a panel is: a real Echo client on
``presence-admins``. Every test ends with its agents away and nothing waiting, so the next
one starts from an empty queue.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.chatapp.conftest import POSTGRES, start_echo
from tests.chatapp.procs import (
    Api,
    ChatappProcess,
    PushReceiver,
    admin_api,
    chatapp_reverb,
    chatapp_stack,
    decrypt_push,
    guest_api,
    throwaway_database,
    wait_until,
)
from tests.helpers.node_client import NodeClient
from tests.helpers.procs import ReverbProcess

# Real processes and presence waits: in `make test`, not in `make test-fast`.
pytestmark = pytest.mark.slow

PASSWORD = "routing-password-1"
AUTO = {"CHATAPP_AUTO_ASSIGN": "true"}
CONCURRENT_CHATS = 24  # first messages sent at once through three instances, for six free slots
_names = itertools.count(1)


@dataclass
class Desk:
    """One pyreverb and one chatapp with automatic assignment on, and the Echo clients of a test."""

    reverb: ReverbProcess
    app: ChatappProcess
    supervisor: Api  # an admin with no panel open: sets capacities, reads the team, never counts
    panels: list[NodeClient] = field(default_factory=list)
    agents: list[Api] = field(default_factory=list)

    async def agent(self, name: str, *, capacity: int = 5, availability: str = "online", panel: bool = True) -> Api:
        """A new support admin with ``capacity``; ``panel``: with the panel open (on presence-admins)."""
        agent = admin_api(self.app, PASSWORD, f"{name} {next(_names)}")
        self.agents.append(agent)
        self.supervisor.ok("PUT", f"/api/admin/agents/{agent.id}/capacity", {"capacity": capacity})
        agent.ok("PUT", "/api/admin/me/availability", {"availability": availability})
        if panel:
            await self.open_panel(agent)
        return agent

    async def open_panel(self, agent: Api) -> NodeClient:
        """What the panel does for presence: join presence-admins as this agent."""
        client = await start_echo(self.app, self.reverb, agent.token or "")
        self.panels.append(client)
        client.send(cmd="listen", kind="presence", name="admins", events=[])
        await client.wait_for(lambda e: e["type"] == "here" and e["name"] == "admins")
        return client

    def team(self) -> dict[int, dict[str, Any]]:
        return {a["id"]: a for a in self.supervisor.ok("GET", "/api/admin/agents")["data"]}

    def wait_counting(self, *agents: Api) -> None:
        """Until chatapp sees these agents online with a panel open (its answer is cached a second)."""
        for agent in agents:
            self.wait_status(agent, "online")

    def wait_status(self, agent: Api, status: str) -> None:
        wait_until(lambda: self.team()[agent.id]["status"] == status, timeout=10, what=f"{agent.user['name']} {status}")

    def new_chat(self, text: str = "Hello, I need help") -> tuple[Api, dict[str, Any]]:
        visitor = guest_api(self.app, f"Visitor {next(_names)}")
        return visitor, visitor.send(text)["room"]

    def room(self, room_id: int) -> dict[str, Any]:
        return self.supervisor.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]  # type: ignore[no-any-return]

    def assignee(self, room_id: int) -> int | None:
        found = self.room(room_id)["assigned_admin"]
        return None if found is None else int(found["id"])

    def queue(self) -> list[int]:
        return [r["id"] for r in self.supervisor.ok("GET", "/api/admin/queue")["data"]]

    async def clear(self) -> None:
        for agent in self.agents:
            agent.ok("PUT", "/api/admin/me/availability", {"availability": "away"})
        for room_id in self.queue():
            self.supervisor.ok("POST", f"/api/admin/chat/rooms/{room_id}/close")
        for client in self.panels:
            await client.close()
        self.panels.clear()
        self.agents.clear()


@pytest.fixture(scope="module", params=["sqlite", POSTGRES])
def desk_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    workdir = tmp_path_factory.mktemp("routing")
    with throwaway_database(request.param, workdir) as url, chatapp_stack(url, workdir / "app", AUTO) as app:
        reverb = ReverbProcess(port=app.reverb_port)  # the stack's own, for the agents' Echo clients
        yield Desk(reverb, app, admin_api(app, PASSWORD, "Supervisor"))


@pytest.fixture
async def desk(desk_stack: Desk) -> AsyncIterator[Desk]:
    assert desk_stack.queue() == [], "an earlier test left chats waiting"
    try:
        yield desk_stack
    finally:
        await desk_stack.clear()


def system_notes(visitor: Api, room_id: int) -> list[str]:
    messages = visitor.ok("GET", f"/api/chat/rooms/{room_id}/messages")["data"]
    return [m["body"] for m in messages if m["sender_role"] == "system"]


async def test_three_agents_of_capacity_two_and_seven_chats(desk: Desk) -> None:
    """2/2/2 assigned, one queued; the first agent to resolve one gets the queued chat; the away agent none."""
    agents = [await desk.agent(n, capacity=2) for n in ("Ann", "Bohdan", "Chloé")]
    away = await desk.agent("Dana", capacity=2, availability="away")
    desk.wait_counting(*agents)
    chats = [desk.new_chat() for _ in range(7)]
    assignees = [desk.assignee(room["id"]) for _, room in chats]
    # The visitor's own answer already says who has the chat.
    assert [room["status"] for _, room in chats] == ["assigned"] * 6 + ["open"]
    assert sorted(assignees[:6]) == sorted(a.id for a in agents for _ in range(2))
    assert assignees[6] is None and desk.queue() == [chats[6][1]["id"]]
    team = desk.team()
    assert [team[a.id]["active"] for a in agents] == [2, 2, 2]
    assert team[away.id]["active"] == 0 and team[away.id]["status"] == "away"

    # The visitor is told who joined; the audit log has routing's assignment.
    visitor, room = chats[0]
    first = next(a for a in agents if a.id == assignees[0])
    assert system_notes(visitor, room["id"]) == [f"{first.user['name']} joined the chat"]
    log = desk.supervisor.ok("GET", "/api/admin/audit", params={"limit": 50})["data"]
    [entry] = [e for e in log if e["target"] == {"type": "room", "id": room["id"]}]
    assert entry["action"] == "room.assign" and entry["details"] == {"from": None, "to": first.id}
    assert entry["actor"] == {"id": None, "role": "system", "name": None}

    # The second agent resolves one of theirs: the waiting chat is theirs at once.
    second = agents[1]
    theirs = next(room["id"] for (_, room), who in zip(chats, assignees, strict=True) if who == second.id)
    second.ok("POST", f"/api/admin/chat/rooms/{theirs}/resolve")
    waiting_visitor, waiting = chats[6]
    assert desk.assignee(waiting["id"]) == second.id
    assert desk.queue() == []
    assert system_notes(waiting_visitor, waiting["id"]) == [f"{second.user['name']} joined the chat"]
    assert desk.team()[away.id]["active"] == 0


async def test_round_robin_on_equal_load(desk: Desk) -> None:
    """Equal load: the agent assigned longest ago (never first) is next, so chats go a, b, c, a, b, c."""
    agents = [await desk.agent(n, capacity=5) for n in ("Ann", "Bohdan", "Chloé")]
    desk.wait_counting(*agents)
    order = [desk.assignee(desk.new_chat()[1]["id"]) for _ in range(3)]
    assert sorted(order) == sorted(a.id for a in agents)  # type: ignore[type-var]
    # One chat each: the load is equal again, and the turn goes on in the same order.
    again = [desk.assignee(desk.new_chat()[1]["id"]) for _ in range(3)]
    assert again == order


async def test_fewest_active_chats_before_the_turn(desk: Desk) -> None:
    """An agent with fewer chats goes first even when their turn would come later."""
    x, y = await desk.agent("Xena"), await desk.agent("Yuri")
    desk.wait_counting(x, y)
    first, second = desk.new_chat()[1]["id"], desk.new_chat()[1]["id"]
    one, other = desk.assignee(first), desk.assignee(second)
    assert {one, other} == {x.id, y.id}
    # The second agent hands their chat to the first by hand: 2 against 0, and the second was
    # assigned more recently, yet the fewest chats win.
    giver = x if other == x.id else y
    taker = y if giver is x else x
    giver.ok("POST", f"/api/admin/chat/rooms/{second}/assign", {"admin_id": taker.id, "expected_admin_id": giver.id})
    assert desk.assignee(desk.new_chat()[1]["id"]) == giver.id


async def test_only_online_agents_with_a_panel_open_get_chats(desk: Desk) -> None:
    """Away, busy, and online without a panel open: none of them gets a chat; it waits."""
    away = await desk.agent("Away", availability="away")
    busy = await desk.agent("Busy", availability="busy")
    gone = await desk.agent("Gone", panel=False)
    desk.wait_status(busy, "busy")  # chatapp's presence answer is cached a second
    team = desk.team()
    assert [team[a.id]["status"] for a in (away, busy, gone)] == ["away", "busy", "away"]
    assert team[gone.id]["availability"] == "online" and team[gone.id]["online"] is False
    _, room = desk.new_chat()
    assert desk.assignee(room["id"]) is None and desk.queue() == [room["id"]]

    # Busy becomes online: the waiting chat is theirs at once.
    assert busy.ok("PUT", "/api/admin/me/availability", {"availability": "online"})["agent"]["status"] == "online"
    assert desk.assignee(room["id"]) == busy.id


async def test_closing_the_last_panel_reads_as_away_and_opening_one_brings_the_agent_back(desk: Desk) -> None:
    agent = await desk.agent("Ann")
    desk.wait_counting(agent)
    panel = desk.panels.pop()
    await panel.close()
    desk.wait_status(agent, "away")
    assert desk.team()[agent.id]["availability"] == "online", "what the agent chose is kept"
    _, room = desk.new_chat()
    assert desk.assignee(room["id"]) is None and desk.queue() == [room["id"]]

    # A panel again: nothing else happens, and the waiting chat is theirs within a drain.
    await desk.open_panel(agent)
    wait_until(lambda: desk.assignee(room["id"]) == agent.id, timeout=15, what="the waiting chat assigned")


async def test_an_agent_given_a_chat_while_offline_gets_a_push(desk: Desk, push_receiver: PushReceiver) -> None:
    ann = await desk.agent("Ann")
    bob = await desk.agent("Bob", panel=False)
    sub = push_receiver.new_subscription()
    bob.ok("POST", "/api/push/subscriptions", sub.to_json(), status=201)
    desk.wait_counting(ann)
    visitor, room = desk.new_chat()
    assert desk.assignee(room["id"]) == ann.id
    ann.ok("POST", f"/api/admin/chat/rooms/{room['id']}/assign", {"admin_id": bob.id, "expected_admin_id": ann.id})
    # The one push Bob gets: the new chat went to Ann at once, so its first message was hers to hear of.
    (assigned,) = [decrypt_push(sub, r) for r in push_receiver.wait_for(sub)]
    assert assigned["title"] == f"Chat assigned to you: {visitor.user['name']}"
    assert assigned["url"] == f"/admin/chat/{room['id']}"
    assert assigned["body"] == "Hello, I need help"  # what the visitor wrote first, not "Bob joined"
    time.sleep(0.5)
    assert len(push_receiver.received_by(sub)) == 1


async def test_raising_capacity_and_freeing_slots_drain_the_queue_oldest_first(desk: Desk) -> None:
    agent = await desk.agent("Solo", capacity=1)
    desk.wait_counting(agent)
    first = desk.new_chat()[1]["id"]
    second = desk.new_chat()[1]["id"]
    third = desk.new_chat()[1]["id"]
    assert desk.assignee(first) == agent.id and desk.queue() == [second, third]

    desk.supervisor.ok("PUT", f"/api/admin/agents/{agent.id}/capacity", {"capacity": 2})
    assert desk.assignee(second) == agent.id and desk.queue() == [third]

    agent.ok("POST", f"/api/admin/chat/rooms/{first}/close")
    assert desk.assignee(third) == agent.id and desk.queue() == []
    assert desk.team()[agent.id]["active"] == 2


async def test_switched_off_new_chats_wait_and_switching_on_assigns_them(desk: Desk) -> None:
    agent = await desk.agent("Ann")
    desk.wait_counting(agent)
    assert agent.ok("PUT", "/api/admin/routing", {"auto_assign": False})["routing"]["auto_assign"] is False
    try:
        assert agent.ok("GET", "/api/admin/routing")["routing"]["auto_assign"] is False
        _, room = desk.new_chat()
        assert desk.assignee(room["id"]) is None and desk.queue() == [room["id"]]
    finally:
        agent.ok("PUT", "/api/admin/routing", {"auto_assign": True})
    assert desk.assignee(room["id"]) == agent.id


async def test_reassign_by_hand_tells_the_visitor_and_frees_the_slot(desk: Desk) -> None:
    """A manual reassignment says 'X joined' to the visitor; the slot it frees takes the waiting chat."""
    ann = await desk.agent("Ann", capacity=1)
    desk.wait_counting(ann)
    visitor, room = desk.new_chat()
    waiting = desk.new_chat()[1]["id"]
    assert desk.assignee(room["id"]) == ann.id and desk.queue() == [waiting]
    bob = await desk.agent("Bob", capacity=0)  # takes nothing by himself
    ann.ok("POST", f"/api/admin/chat/rooms/{room['id']}/assign", {"admin_id": bob.id, "expected_admin_id": ann.id})
    assert desk.assignee(room["id"]) == bob.id
    assert system_notes(visitor, room["id"])[-1] == f"{bob.user['name']} joined the chat"
    assert desk.assignee(waiting) == ann.id
    team = desk.team()
    assert (team[ann.id]["active"], team[bob.id]["active"], team[bob.id]["capacity"]) == (1, 1, 0)


async def test_bad_input(desk: Desk) -> None:
    agent = await desk.agent("Ann", panel=False)
    for body in ({"availability": "asleep"}, {"availability": None}, {}):
        assert agent.request("PUT", "/api/admin/me/availability", json=body).status_code in (400, 422)
    for body in ({"capacity": -1}, {"capacity": 101}, {"capacity": "3"}, {"capacity": True}):
        response = agent.request("PUT", f"/api/admin/agents/{agent.id}/capacity", json=body)
        assert response.status_code in (400, 422), body
    visitor, _ = desk.new_chat()
    assert agent.request("PUT", f"/api/admin/agents/{visitor.id}/capacity", json={"capacity": 2}).status_code == 404
    assert agent.request("PUT", "/api/admin/routing", json={"auto_assign": "yes"}).status_code in (400, 422)
    assert visitor.request("GET", "/api/admin/queue").status_code == 403


# ------------------------------------------------------------- several instances


@pytest.mark.postgres
@pytest.mark.slow
async def test_concurrent_new_chats_through_three_instances(pg_url: str, tmp_path: Path) -> None:
    """Three chatapps on one PostgreSQL database take new chats at once: nobody goes over capacity,
    no chat is assigned twice, the rest wait; slots freed on different instances drain the queue."""
    reverb = chatapp_reverb()
    apps: list[ChatappProcess] = []
    panels: list[NodeClient] = []
    try:
        for n in range(3):
            app = ChatappProcess(pg_url, reverb.port, tmp_path / f"app{n}", env=AUTO)
            apps.append(app.start(migrate=n == 0))
        supervisor = admin_api(apps[0], PASSWORD, "Supervisor")
        desk = Desk(reverb, apps[0], supervisor, panels)
        agents = [await desk.agent(n, capacity=2) for n in ("Ann", "Bohdan", "Chloé")]
        for app in apps:
            Desk(reverb, app, Api(app.base_url, supervisor.token, supervisor.user)).wait_counting(*agents)

        visitors = [guest_api(apps[i % 3], f"Visitor {i}") for i in range(CONCURRENT_CHATS)]

        def first_message(visitor: Api) -> int:
            return int(visitor.send("help")["room"]["id"])

        rooms = await asyncio.gather(*(asyncio.to_thread(first_message, v) for v in visitors))
        team = desk.team()
        assert [team[a.id]["active"] for a in agents] == [2, 2, 2], team
        waiting = desk.queue()
        assert len(waiting) == CONCURRENT_CHATS - 6 and set(waiting) <= set(rooms)
        joined = {r: desk.supervisor.ok("GET", f"/api/admin/chat/rooms/{r}/messages")["data"] for r in rooms}
        notes = {r: [m for m in ms if m["sender_role"] == "system"] for r, ms in joined.items()}
        assert all(len(n) == (0 if r in waiting else 1) for r, n in notes.items()), notes

        # Every agent resolves one chat at once, each through another instance.
        def resolve(i: int, agent: Api) -> None:
            mine = next(r for r in rooms if desk.assignee(r) == agent.id)
            Api(apps[i].base_url, agent.token, agent.user).ok("POST", f"/api/admin/chat/rooms/{mine}/resolve")

        await asyncio.gather(*(asyncio.to_thread(resolve, i, a) for i, a in enumerate(agents)))
        team = desk.team()
        assert [team[a.id]["active"] for a in agents] == [2, 2, 2], team
        assert desk.queue() == waiting[3:], "the three oldest waiting chats were taken"
        taken = [desk.assignee(r) for r in waiting[:3]]
        assert sorted(taken) == sorted(a.id for a in agents)  # type: ignore[type-var]
    finally:
        for client in panels:
            await client.close()
        for app in apps:
            app.stop()
        reverb.stop()
    for app in apps:
        log = app.log()
        assert "unhandled error" not in log and "Exception in ASGI application" not in log, log[-3000:]
