"""A room's read costs the same whoever it is assigned to (PostgreSQL).

With the assignee's name joined (``LEFT JOIN users a``), PostgreSQL planned the read of one
room as a merge join that walked the users' primary key from the first id up to the agent's:
an agent added after 100,000 visitors made every read of their rooms 35 ms, and a busy desk
fell seconds behind. The name is now one index lookup per room."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from chatapp import inbox_queries, repository
from chatapp.db import Database, connect
from chatapp.schema import migrate
from tests.chatapp.procs import throwaway_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

VISITORS = 100_000  # the planner walks the users from about this many on


def users_rows_read(plan: Any) -> int:
    """The most rows any scan of ``users`` returned in an EXPLAIN (ANALYZE, FORMAT JSON) plan."""
    most = 0
    stack = [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        if node.get("Relation Name") == "users":
            most = max(most, int(node["Actual Rows"]) * int(node.get("Actual Loops", 1)))
        stack.extend(node.get("Plans", []))
    return most


@pytest.fixture(scope="module")
def late_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """Three agents, 100,000 visitors with a chat each that one of them handled, then an agent (the
    highest user id) assigned to the newest chat."""
    with throwaway_database("postgres", tmp_path_factory.mktemp("plan")) as url:
        async def prepare() -> int:
            db = await connect(url)
            try:
                await migrate(db)
                async with db.transaction() as conn:
                    first = [(await repository.create_user(conn, role="admin", name=f"Agent {i}")).id for i in range(3)]
                    await conn.execute(
                        "INSERT INTO users (role, name, created_at) SELECT 'guest', 'Visitor ' || g, now() "
                        "FROM generate_series(1, ?) g", VISITORS)
                    # The history: closed chats, each handled by one of the first agents.
                    await conn.execute(
                        "INSERT INTO support_chat_rooms (user_id, subject, status, assigned_admin_id, created_at, "
                        "updated_at) SELECT id, 'question', 'closed', ? + id % 3, now(), now() FROM users "
                        "WHERE role = 'guest'", first[0])
                    await conn.execute(
                        "INSERT INTO support_chat_messages (room_id, sender_id, sender_role, body, created_at) "
                        "SELECT r.id, r.user_id, 'user', 'hello', now() FROM support_chat_rooms r, generate_series(1, 2)")
                    agent = await repository.create_user(conn, role="admin", name="Late Agent")
                    room = await conn.fetch_val("SELECT MAX(id) FROM support_chat_rooms")
                    await conn.execute("UPDATE support_chat_rooms SET status = 'assigned', assigned_admin_id = ? "
                                       "WHERE id = ?", agent.id, room)
                await db.execute("ANALYZE")
                return int(room)
            finally:
                await db.close()

        yield url, asyncio.run(prepare())


async def plans(url: str, room_id: int) -> dict[str, Any]:
    db: Database = await connect(url)
    try:
        room = await repository.get_room(db, room_id)
        assert room is not None and room.admin_name == "Late Agent"
        found: dict[str, Any] = {}
        sql = f"{repository._ROOM_SELECT} WHERE r.id = ?"
        found["get_room"] = await db.fetch_val(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", room_id)
        inbox = await inbox_queries.list_rooms(db, filter_name="assigned", admin_id=1, limit=30, before=None)
        assert [r.id for r in inbox] == [room_id] and inbox[0].admin_name == "Late Agent"
        return found
    finally:
        await db.close()


def test_reading_a_room_assigned_to_a_late_agent_reads_one_user_row_each(late_agent: tuple[str, int]) -> None:
    url, room_id = late_agent
    found = asyncio.run(plans(url, room_id))
    plan = found["get_room"]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    assert users_rows_read(plan) <= 1, f"the read walks the users:\n{json.dumps(plan, indent=1)[:3000]}"
