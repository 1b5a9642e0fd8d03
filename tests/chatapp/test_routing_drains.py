"""When a change to a room asks routing to give out waiting chats (Router.after_change)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chatapp.models import Room, User
from chatapp.routing import Router

AGENT = User(id=7, role="admin", name="Alice")
OTHER = User(id=8, role="admin", name="Bob")
VISITOR = User(id=3, role="guest", name="Vera")
NOW = datetime(2026, 12, 4, tzinfo=UTC)
WAITING = Room(id=1, user_id=VISITOR.id, status="open", priority="normal", subject="help", created_at=NOW,
               updated_at=NOW)


def _drains(actor: User, before: Room | None, after: Room) -> int:
    """How many drains ``after_change`` runs for this change (the routing lock and every load read)."""
    router: Any = Router.__new__(Router)
    calls: list[int] = []

    async def drain(conn: object, fresh: bool = False) -> list[tuple[int, int]]:
        calls.append(1)
        return []

    router.drain = drain
    router._notify_after_commit = lambda *args: None
    asyncio.run(router.after_change(None, actor, before, after))
    return len(calls)


def test_a_reply_that_takes_a_waiting_chat_gives_out_nothing_new() -> None:
    taken = replace(WAITING, status="assigned", assigned_admin_id=AGENT.id)
    assert _drains(AGENT, WAITING, taken) == 0
    reopened = replace(WAITING, status="resolved")
    assert _drains(AGENT, reopened, taken) == 0


def test_changes_that_free_a_slot_or_add_a_waiting_chat_drain() -> None:
    assert _drains(VISITOR, None, WAITING) == 1  # a new chat waits
    mine = replace(WAITING, status="assigned", assigned_admin_id=AGENT.id)
    assert _drains(AGENT, mine, replace(mine, status="resolved")) == 1  # a slot freed
    assert _drains(OTHER, WAITING, mine) == 1  # given to someone else by hand
    assert _drains(VISITOR, replace(WAITING, status="resolved"), WAITING) == 1  # back in the queue
