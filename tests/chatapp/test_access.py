"""The route table, not the handler, decides who may call a route.

A dummy endpoint whose handler checks nothing is declared with a rule and served by
``starlette_routes()`` over a real SQLite database, next to the real sign-up and
sign-in routes that hand out the callers' tokens: whatever the handler does not
check, the table's rule still refuses.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from chatapp import repository as repo
from chatapp.api.access import caller
from chatapp.api.common import json_response
from chatapp.app import build_state, chat_error, close_state
from chatapp.config import Settings
from chatapp.db import connect
from chatapp.errors import ChatError
from chatapp.routes import ENDPOINTS, Endpoint, starlette_routes
from chatapp.schema import migrate
from chatapp.state import ChatState


async def unchecked(request: Request) -> Response:
    """Checks nothing itself: only the route's declared rule stands between it and the caller."""
    return json_response({"reached": True, "caller": caller(request).id})


DUMMIES = (
    Endpoint("GET", "/staff-only", unchecked, "Dummy admin route", auth="admin"),
    Endpoint("GET", "/visitors-only", unchecked, "Dummy visitor route", auth="visitor"),
    Endpoint("GET", "/signed-in", unchecked, "Dummy signed-in route", auth="any"),
)
SIGN_IN = tuple(e for e in ENDPOINTS if e.path in ("/api/auth/guest", "/api/auth/register", "/api/auth/login"))
PASSWORD = "correct horse battery"


@dataclass
class DummyApp:
    http: httpx.AsyncClient
    chat: ChatState
    accounts: Iterator[int] = field(default_factory=itertools.count)

    async def bearer(self, role: str) -> tuple[int, dict[str, str]]:
        """A new account with ``role``, signed in through the real routes."""
        email = f"{role}{next(self.accounts)}@example.test"
        if role == "guest":
            response = await self.http.post("/api/auth/guest", json={})
        elif role == "user":
            response = await self.http.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        else:
            password_hash = await self.chat.passwords.hash(PASSWORD)
            await repo.create_user(self.chat.db, role=role, name="Staff", email=email, password_hash=password_hash)
            response = await self.http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code in (200, 201), response.text
        doc = response.json()
        assert doc["user"]["role"] == role
        return int(doc["user"]["id"]), {"Authorization": f"Bearer {doc['token']}"}


@pytest.fixture
async def dummy(tmp_path: Path) -> AsyncIterator[DummyApp]:
    settings = Settings.from_env(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'chat.sqlite3'}", "CHATAPP_UPLOAD_DIR": str(tmp_path / "uploads")}
    )
    db = await connect(settings.database_url)
    try:
        await migrate(db)
    finally:
        await db.close()
    app = Starlette(routes=starlette_routes(DUMMIES + SIGN_IN), exception_handlers={ChatError: chat_error})
    app.state.chat = chat = await build_state(settings)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://chat.test") as http:
            yield DummyApp(http, chat)
    finally:
        await close_state(chat)


async def test_an_admin_rule_refuses_others_although_the_handler_checks_nothing(dummy: DummyApp) -> None:
    anonymous = await dummy.http.get("/staff-only")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "unauthenticated" and anonymous.json()["message"]

    forged = await dummy.http.get("/staff-only", headers={"Authorization": "Bearer not-a-token"})
    assert (forged.status_code, forged.json()["error"]) == (401, "invalid_token")

    for role in ("guest", "user"):
        _, headers = await dummy.bearer(role)
        refused = await dummy.http.get("/staff-only", headers=headers)
        assert (refused.status_code, refused.json()["error"]) == (403, "admin_only"), role

    admin_id, headers = await dummy.bearer("admin")
    allowed = await dummy.http.get("/staff-only", headers=headers)
    assert (allowed.status_code, allowed.json()) == (200, {"reached": True, "caller": admin_id})


async def test_a_visitor_rule_refuses_staff_and_hands_the_caller_over(dummy: DummyApp) -> None:
    assert (await dummy.http.get("/visitors-only")).status_code == 401
    _, admin_headers = await dummy.bearer("admin")
    refused = await dummy.http.get("/visitors-only", headers=admin_headers)
    assert (refused.status_code, refused.json()["error"]) == (403, "visitor_only")
    guest_id, headers = await dummy.bearer("guest")
    assert (await dummy.http.get("/visitors-only", headers=headers)).json() == {"reached": True, "caller": guest_id}


async def test_any_signed_in_caller_passes_the_any_rule(dummy: DummyApp) -> None:
    assert (await dummy.http.get("/signed-in")).json()["error"] == "unauthenticated"
    for role in ("guest", "user", "admin"):
        user_id, headers = await dummy.bearer(role)
        assert (await dummy.http.get("/signed-in", headers=headers)).json() == {"reached": True, "caller": user_id}


def test_a_route_cannot_be_declared_without_a_known_rule() -> None:
    with pytest.raises(TypeError, match="auth"):
        Endpoint("GET", "/x", unchecked, "No rule")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="unknown auth rule 'root'"):
        Endpoint("GET", "/x", unchecked, "A typo", auth="root")  # type: ignore[arg-type]
