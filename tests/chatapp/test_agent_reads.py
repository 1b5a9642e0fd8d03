"""Unread per agent: each agent's own count drives their inbox, Unread filter and totals; a
supervisor opening a chat leaves its assignee's count alone, and the visitor's "Seen" still
means some agent read it. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.chatapp.procs import Api, ChatappProcess
from tests.chatapp.test_team import staff

# Staff accounts made by the CLI (a second each) on both databases: in `make test`, not `make test-fast`.
pytestmark = pytest.mark.slow


def room_in(agent: Api, room_id: int, filter_name: str = "all") -> dict[str, Any] | None:
    page = agent.ok("GET", "/api/admin/chat/rooms", params={"filter": filter_name, "per_page": 100})
    return next((r for r in page["data"] if r["id"] == room_id), None)


def unread_of(agent: Api, room_id: int) -> tuple[int, bool]:
    room = room_in(agent, room_id)
    assert room is not None
    return room["unread_count"], room["own_read"]


def totals(agent: Api) -> tuple[int, int]:
    stats = agent.ok("GET", "/api/admin/chat/stats")["stats"]
    return stats["unread_messages"], stats["unread_chats"]


def test_a_supervisor_reading_leaves_the_assignees_unread(chat: ChatappProcess, new_guest: Callable[..., Api]) -> None:
    assignee, supervisor, bystander = staff(chat, "agent"), staff(chat, "admin"), staff(chat, "agent")
    visitor = new_guest("Vera Unread")
    room_id = visitor.send("first")["room"]["id"]
    visitor.send("second")
    supervisor.ok("POST", f"/api/admin/chat/rooms/{room_id}/assign", {"admin_id": assignee.id})
    team_before = totals(bystander)
    assert unread_of(assignee, room_id) == (2, False)  # nobody has read: the team's count

    receipt = supervisor.ok("POST", f"/api/admin/chat/rooms/{room_id}/read")
    assert receipt["marked"] == 2
    # The visitor's "Seen": some agent read them.
    seen = visitor.ok("GET", f"/api/chat/rooms/{room_id}/messages")["data"]
    assert all(m["read_at"] for m in seen if m["sender_role"] == "user")
    assert unread_of(supervisor, room_id) == (0, True)
    assert unread_of(assignee, room_id) == (2, True)  # kept: their own count now
    assert room_in(assignee, room_id, "unread") is not None
    assert room_in(supervisor, room_id, "unread") is None
    assert unread_of(bystander, room_id) == (0, False)  # the team's: read by an agent
    assert totals(bystander) == (team_before[0] - 2, team_before[1] - 1)
    assert totals(assignee) == team_before
    unread_filter = assignee.ok("GET", "/api/admin/chat/rooms", params={"filter": "unread", "per_page": 1})
    assert unread_filter["meta"]["total"] == team_before[1]

    visitor.send("third")
    assert unread_of(assignee, room_id) == (3, True)
    assert unread_of(supervisor, room_id) == (1, True)
    assert unread_of(bystander, room_id) == (1, False)

    again = assignee.ok("POST", f"/api/admin/chat/rooms/{room_id}/read")
    assert again["marked"] == 1  # the one no agent had read
    assert unread_of(assignee, room_id) == (0, True)
    assert room_in(assignee, room_id, "unread") is None
    assert unread_of(supervisor, room_id) == (1, True)  # the assignee's read is not the supervisor's
    assert room_in(supervisor, room_id, "unread") is not None
    assert unread_of(bystander, room_id) == (0, False)
    # Reading with nothing left to mark still clears the reader's own count.
    assert supervisor.ok("POST", f"/api/admin/chat/rooms/{room_id}/read")["marked"] == 0
    assert unread_of(supervisor, room_id) == (0, True)
    missing = supervisor.post("/api/admin/chat/rooms/999999999/read")
    assert missing.status_code == 404 and missing.json()["error"], missing.text
