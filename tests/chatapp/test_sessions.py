"""Revocable sessions: sign out here or everywhere, a new password, a role change, idle admins.

Every account here is made for its test (never the shared ``admin``), since the tests
revoke its tokens.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer

from chatapp import repository as repo
from chatapp.db import connect
from chatapp.identity import sign_identity_token
from tests.chatapp.conftest import start_echo
from tests.chatapp.procs import IDENTITY_SECRET, Api, ChatappProcess, chatapp_stack
from tests.helpers.node_client import NodeClient
from tests.helpers.procs import TIME_FACTOR, ReverbProcess

PASSWORD = "session-password-1"
_ids = itertools.count(1)


def new_account(chat: ChatappProcess, *, admin: bool = False) -> str:
    email = f"{'agent' if admin else 'member'}{next(_ids)}-{chat.port}-{time.time_ns()}@sessions.test"
    if admin:
        chat.cli("create-admin", "--email", email, "--name", "Sam Session", "--password", PASSWORD)
    else:
        Api(chat.base_url).ok("POST", "/api/auth/register", {"email": email, "password": PASSWORD})
    return email


def sign_in(chat: ChatappProcess, email: str, password: str = PASSWORD) -> Api:
    doc = Api(chat.base_url).ok("POST", "/api/auth/login", {"email": email, "password": password})
    return Api(chat.base_url, doc["token"], doc["user"])


def assert_revoked(api: Api) -> None:
    response = api.get("/api/auth/me")
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "token_revoked" and "signed out" in body["message"], body


def test_logout_revokes_this_device_only(chat: ChatappProcess) -> None:
    email = new_account(chat)
    laptop, phone = sign_in(chat, email), sign_in(chat, email)
    assert laptop.ok("POST", "/api/auth/logout") == {"revoked": 1}
    assert_revoked(laptop)
    assert laptop.post("/api/chat/messages", {"body": "after sign-out"}).status_code == 401
    assert phone.ok("GET", "/api/auth/me")["user"]["email"] == email
    again = laptop.post("/api/auth/logout")
    assert again.status_code == 401 and again.json()["error"] == "token_revoked"

    pruned = chat.cli("prune-guests", "--days", "0").stdout
    forgotten = int(pruned.split("forgot ")[1].split()[0])
    assert forgotten >= 1, pruned
    assert laptop.get("/api/auth/me").json()["error"] == "token_revoked", "a forgotten session stays refused"
    assert phone.ok("GET", "/api/auth/me"), "live sessions are kept"


def test_guest_tokens_are_sessions_too(new_guest: Callable[..., Api]) -> None:
    guest = new_guest("Leaving")
    guest.send("bye")
    guest.ok("POST", "/api/auth/logout")
    assert_revoked(guest)


def test_logout_all_revokes_every_session(chat: ChatappProcess) -> None:
    email = new_account(chat)
    devices = [sign_in(chat, email) for _ in range(3)]
    assert devices[0].ok("POST", "/api/auth/logout-all")["revoked"] >= 3
    for device in devices:
        assert_revoked(device)
    assert sign_in(chat, email).ok("GET", "/api/auth/me")["user"]["email"] == email, "signing in again works"


def test_password_change_keeps_only_the_new_token(chat: ChatappProcess, new_guest: Callable[..., Api]) -> None:
    email = new_account(chat)
    here, elsewhere = sign_in(chat, email), sign_in(chat, email)

    wrong = here.post("/api/auth/password", {"current_password": "not-my-password", "new_password": "a new one!"})
    assert wrong.status_code == 400, wrong.text
    assert wrong.json() == {"error": "wrong_password", "message": "The current password is wrong",
                            "field": "current_password"}
    short = here.post("/api/auth/password", {"current_password": PASSWORD, "new_password": "short"})
    assert short.status_code == 422 and short.json()["field"] == "new_password", short.text
    missing = here.post("/api/auth/password", {"new_password": "long enough"})
    assert missing.status_code == 422 and missing.json()["field"] == "current_password", missing.text
    for device in (here, elsewhere):
        assert device.ok("GET", "/api/auth/me")["user"]["email"] == email, "a refused change revokes nothing"

    changed = here.ok("POST", "/api/auth/password", {"current_password": PASSWORD, "new_password": "brand new pass"})
    assert changed["token"] != here.token and changed["user"]["email"] == email
    assert_revoked(elsewhere)
    assert_revoked(here)
    renewed = Api(chat.base_url, changed["token"])
    assert renewed.ok("GET", "/api/auth/me")["user"]["email"] == email
    old = Api(chat.base_url).post("/api/auth/login", {"email": email, "password": PASSWORD})
    assert old.status_code == 401
    sign_in(chat, email, "brand new pass")

    guest = new_guest()
    refused = guest.post("/api/auth/password", {"current_password": "whatever", "new_password": "long enough"})
    assert refused.status_code == 409 and refused.json()["error"] == "no_password", refused.text


def test_create_admin_on_an_existing_account_revokes_its_tokens(chat: ChatappProcess) -> None:
    """A site user (verified address) made an admin, then that admin's password reset: each ends the old tokens."""
    email = f"site{next(_ids)}-{chat.port}-{time.time_ns()}@sessions.test"
    claims = {"sub": f"promoted-{time.time_ns()}", "email": email, "exp": int(time.time()) + 600}
    identity = sign_identity_token(IDENTITY_SECRET, claims)
    site_user = Api(chat.base_url).ok("POST", "/api/auth/identity", {"identity": identity})
    customer = Api(chat.base_url, site_user["token"], site_user["user"])
    promoted = chat.cli("create-admin", "--email", email, "--password", "promoted-password")
    assert f"(id {customer.id}) is an admin; 1 sessions signed out" in promoted.stdout, promoted.stdout
    assert_revoked(customer)
    admin = sign_in(chat, email, "promoted-password")
    assert admin.user["role"] == "admin"
    chat.cli("create-admin", "--email", email, "--password", "reset-password-1")
    assert_revoked(admin)


def test_deactivation_revokes_and_refuses_sign_in(chat: ChatappProcess) -> None:
    email = new_account(chat)
    member = sign_in(chat, email)
    assert "deactivated" in chat.cli("deactivate", "--email", email).stdout
    assert_revoked(member)
    refused = Api(chat.base_url).post("/api/auth/login", {"email": email, "password": PASSWORD})
    assert refused.status_code == 403, refused.text
    assert refused.json() == {"error": "account_deactivated", "message": "This account is deactivated"}
    assert "reactivated" in chat.cli("deactivate", "--email", email, "--reactivate").stdout
    sign_in(chat, email).ok("GET", "/api/auth/me")
    unknown = chat.cli("deactivate", "--email", "nobody@sessions.test", check=False)
    assert unknown.returncode != 0 and "no account signs in with nobody@sessions.test" in unknown.stderr


async def _terminated(client: NodeClient) -> None:
    await client.wait_for(lambda e: e["type"] == "connection_error" and e["code"] == 4009, timeout=5)
    await client.wait_for(lambda e: e["type"] == "state" and e["current"] == "disconnected", timeout=5)


async def _admin_tab(chat: ChatappProcess, reverb: ReverbProcess, token: str, clients: list[NodeClient]) -> NodeClient:
    tab = await start_echo(chat, reverb, token)
    clients.append(tab)
    tab.send(cmd="listen", kind="presence", name="admins", events=[])
    await tab.wait_for(lambda e: e["type"] == "here" and e["name"] == "admins")
    return tab


async def test_revoked_admin_loses_its_live_connections(
    chat: ChatappProcess, chat_reverb: ReverbProcess, echo_clients: list[NodeClient]
) -> None:
    email = new_account(chat, admin=True)
    first, second = sign_in(chat, email), sign_in(chat, email)
    tabs = [await _admin_tab(chat, chat_reverb, api.token or "", echo_clients) for api in (first, second)]

    await asyncio.to_thread(first.ok, "POST", "/api/auth/logout-all")
    for tab in tabs:
        await _terminated(tab)

    # Reconnecting with the revoked token gets no channel: /broadcasting/auth refuses it.
    retry = await start_echo(chat, chat_reverb, first.token or "")
    echo_clients.append(retry)
    retry.send(cmd="listen", kind="private", name="admin.chat", events=[".chat.created"])
    refused = await retry.wait_for(lambda e: e["type"] == "echo_error" and e["name"] == "admin.chat")
    assert refused["status"] == 401, refused

    # The same through the CLI: resetting an admin's password ends the panel's socket.
    third = sign_in(chat, email)
    tab = await _admin_tab(chat, chat_reverb, third.token or "", echo_clients)
    await asyncio.to_thread(chat.cli, "create-admin", "--email", email, "--password", "cli-reset-password")
    await _terminated(tab)


async def test_a_signed_in_visitor_socket_is_ended_too(
    chat: ChatappProcess, chat_reverb: ReverbProcess, new_guest: Callable[..., Api], echo_clients: list[NodeClient]
) -> None:
    """The widget signs its socket in (it joins private channels only), so terminate reaches visitors as well."""
    visitor = new_guest("Vera Visitor")
    tab = await start_echo(chat, chat_reverb, visitor.token or "", signin=True)
    echo_clients.append(tab)
    await tab.wait_for(lambda e: e["type"] == "signed_in")
    tab.send(cmd="listen", kind="private", name=f"user.{visitor.id}", events=[".unread.updated"])
    await tab.wait_for(lambda e: e["type"] == "echo_subscribed")
    await asyncio.to_thread(visitor.ok, "POST", "/api/auth/logout-all")
    await _terminated(tab)

    bad = await asyncio.to_thread(Api(chat.base_url).post, "/broadcasting/user-auth", {"socket_id": "1.2"})
    assert bad.status_code == 401
    fresh = new_guest()
    for body, field in (({}, "socket_id"), ({"socket_id": "nope"}, "socket_id")):
        refused = await asyncio.to_thread(fresh.post, "/broadcasting/user-auth", body)
        assert refused.status_code == 422 and refused.json()["field"] == field, refused.text


def _secret_and_user(database_url: str, email: str) -> tuple[str, int]:
    async def read() -> tuple[str, int]:
        db = await connect(database_url)
        try:
            found = await repo.get_login(db, email)
            assert found is not None
            return await repo.get_or_create_secret(db, "secret_key", "unused"), found[0].id
        finally:
            await db.close()

    return asyncio.run(read())


def test_tokens_from_before_sessions(chat: ChatappProcess, new_guest: Callable[..., Api]) -> None:
    """A guest's old token keeps its chat (and becomes revocable); an account's old token must sign in again."""
    email = new_account(chat, admin=True)
    secret, admin_id = _secret_and_user(chat.database_url, email)
    old_style = URLSafeTimedSerializer(secret, salt="chatapp.access")

    stale_admin = Api(chat.base_url, old_style.dumps({"u": admin_id})).get("/api/auth/me")
    assert stale_admin.status_code == 401 and stale_admin.json()["error"] == "token_expired", stale_admin.text

    guest = Api(chat.base_url, None, new_guest().user)
    guest.token = old_style.dumps({"u": guest.id})
    # The guest made above already has a session, so its old token is not honoured...
    assert guest.get("/api/auth/me").status_code == 401

    async def bare_guest() -> int:
        db = await connect(chat.database_url)
        try:
            return (await repo.create_user(db, role="guest", name="Before the upgrade")).id
        finally:
            await db.close()

    # ...while a guest from before the upgrade (no session yet) keeps chatting with it.
    veteran = Api(chat.base_url, None, {"id": asyncio.run(bare_guest())})
    veteran.token = old_style.dumps({"u": veteran.id})
    assert veteran.ok("GET", "/api/auth/me")["user"]["id"] == veteran.id
    veteran.send("still here after the upgrade")
    veteran.ok("POST", "/api/auth/logout")
    assert_revoked(veteran)

    # Several tabs of a pre-upgrade guest arriving at once all get in (one session row is made).
    tabs = old_style.dumps({"u": asyncio.run(bare_guest())})

    async def at_once() -> list[int]:
        async with httpx.AsyncClient(base_url=chat.base_url, headers={"Authorization": f"Bearer {tabs}"}) as client:
            return [r.status_code for r in await asyncio.gather(*(client.get("/api/auth/me") for _ in range(8)))]

    assert asyncio.run(at_once()) == [200] * 8


@pytest.mark.slow
def test_admin_idle_timeout(tmp_path: Path) -> None:
    idle = 4.0 * TIME_FACTOR
    with chatapp_stack(f"sqlite:///{tmp_path / 'idle.sqlite3'}", tmp_path,
                       {"CHATAPP_ADMIN_IDLE_TIMEOUT": str(round(idle))}) as app:
        email = new_account(app, admin=True)
        admin = sign_in(app, email)
        customer = sign_in(app, new_account(app))
        deadline = time.monotonic() + idle * 1.5
        while time.monotonic() < deadline:  # in use: never idle, however long
            admin.ok("GET", "/api/auth/me")
            time.sleep(idle / 10)
        time.sleep(idle + 1)
        response = admin.get("/api/auth/me")
        assert response.status_code == 401 and response.json()["error"] == "token_expired", response.text
        assert "without use" in response.json()["message"]
        assert customer.ok("GET", "/api/auth/me"), "the idle timeout is for support admins only"
        sign_in(app, email)


def test_admin_idle_timeout_setting_is_checked() -> None:
    from chatapp.config import ConfigError, Settings

    assert Settings.from_env({}).admin_idle_timeout == 24 * 3600
    assert Settings.from_env({"CHATAPP_ADMIN_IDLE_TIMEOUT": "0"}).admin_idle_timeout == 0
    try:
        Settings.from_env({"CHATAPP_ADMIN_IDLE_TIMEOUT": "-1"})
    except ConfigError as exc:
        assert "CHATAPP_ADMIN_IDLE_TIMEOUT" in str(exc)
    else:
        raise AssertionError("a negative idle timeout is refused")


def test_openapi_lists_the_session_routes(chat: ChatappProcess) -> None:
    paths = httpx.get(f"{chat.base_url}/api/openapi.json", timeout=10).json()["paths"]
    for path in ("/api/auth/logout", "/api/auth/logout-all", "/api/auth/password"):
        assert "post" in paths[path], path
    body = paths["/api/auth/password"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ChangePassword"}
