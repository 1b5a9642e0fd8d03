"""The support team: roles per route, the owner's protections, invitations, deactivation, last activity.

Every account here is made for its test (never the shared ``admin``): roles change and
sessions are revoked. Owners are made with ``create-admin --role owner``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from chatapp.db import connect, utcnow
from tests.chatapp.procs import Api, ChatappProcess, admin_api, chatapp_stack
from tests.chatapp.test_sessions import _admin_tab, _terminated
from tests.helpers.node_client import NodeClient
from tests.helpers.procs import ReverbProcess
from tests.helpers.smtp import running_smtp

# Real processes, sockets ended by deactivation, a real SMTP server: in `make test`, not in `make test-fast`.
pytestmark = pytest.mark.slow

PASSWORD = "team-password-1"
_ids = itertools.count(1)


def _email(chat: ChatappProcess, what: str) -> str:
    return f"{what}{next(_ids)}-{chat.port}-{time.time_ns()}@team.test"


def sign_in(chat: ChatappProcess, email: str, password: str = PASSWORD) -> Api:
    doc = Api(chat.base_url).ok("POST", "/api/auth/login", {"email": email, "password": password})
    return Api(chat.base_url, doc["token"], doc["user"])


def staff(chat: ChatappProcess, role: str, name: str | None = None) -> Api:
    """A staff account with ``role`` made by the CLI, signed in (agents too: the CLI can make any role)."""
    email = _email(chat, role)
    chat.cli("create-admin", "--email", email, "--name", name or role.title(), "--password", PASSWORD,
             "--role", role)
    api = sign_in(chat, email)
    assert api.user["staff_role"] == role, api.user
    return api


def invite(manager: Api, role: str = "agent", name: str = "Ivan Invitee") -> tuple[dict[str, Any], str]:
    email = f"invitee{next(_ids)}-{time.time_ns()}@team.test"
    doc = manager.ok("POST", "/api/admin/team/invites", {"email": email, "name": name, "role": role}, status=201)
    assert doc["mailed"] is False  # the suite's chatapp has no SMTP
    assert doc["invite"]["email"] == email and doc["invite"]["role"] == role
    token = doc["link"].rsplit("#", 1)[1]
    assert doc["link"].endswith(f"/admin/invite#{token}") and len(token) >= 40
    return doc, token


def sql(chat: ChatappProcess, statement: str, *args: Any) -> Any:
    async def run() -> Any:
        db = await connect(chat.database_url)
        try:
            if statement.lstrip().upper().startswith("SELECT"):
                return await db.fetch_one(statement, *args)
            return await db.execute(statement, *args)
        finally:
            await db.close()

    return asyncio.run(run())


def error_of(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["error"])


def test_roles_per_route(chat: ChatappProcess, anon: Api) -> None:
    owner, admin, agent = staff(chat, "owner"), staff(chat, "admin"), staff(chat, "agent")
    for manager in (owner, admin):
        team = manager.ok("GET", "/api/admin/team")
        roles = {m["id"]: m["role"] for m in team["data"]}
        assert roles[owner.id] == "owner" and roles[admin.id] == "admin" and roles[agent.id] == "agent"
    assert error_of(agent.get("/api/admin/team"), 403) == "manager_only"
    assert error_of(agent.post("/api/admin/team/invites", {"email": "x@team.test"}), 403) == "manager_only"
    assert error_of(agent.request("PUT", f"/api/admin/team/{admin.id}/role", {"role": "agent"}), 403) == "manager_only"
    assert error_of(agent.post(f"/api/admin/team/{admin.id}/deactivate"), 403) == "manager_only"
    assert error_of(agent.request("PUT", "/api/admin/routing", {"auto_assign": False}), 403) == "manager_only"
    assert error_of(agent.get("/api/admin/audit"), 403) == "manager_only"
    assert error_of(anon.get("/api/admin/team"), 401)
    # Agents still answer chats and read the team's canned replies, and keep personal ones...
    agent.ok("GET", "/api/admin/chat/rooms")
    team_reply = admin.ok("POST", "/api/admin/canned-replies",
                          {"code": f"team-{agent.id}", "body": "From the team", "scope": "team"}, status=201)["reply"]
    agent.ok("POST", "/api/admin/canned-replies",
             {"code": f"mine-{agent.id}", "body": "Mine", "scope": "personal"}, status=201)
    assert team_reply["id"] in [r["id"] for r in agent.ok("GET", "/api/admin/canned-replies")["data"]]
    # ...but do not manage the team's.
    made = agent.post("/api/admin/canned-replies", {"code": f"t2-{agent.id}", "body": "x", "scope": "team"})
    assert error_of(made, 403) == "manager_only"
    path = f"/api/admin/canned-replies/{team_reply['id']}"
    assert error_of(agent.request("PATCH", path, {"body": "changed"}), 403) == "manager_only"
    assert error_of(agent.request("DELETE", path), 403) == "manager_only"
    assert agent.user["staff_role"] == "agent" and agent.ok("GET", "/api/auth/me")["user"]["staff_role"] == "agent"
    signed_in = [e for e in owner.ok("GET", "/api/admin/audit")["data"] if e["action"] == "auth.sign_in"]
    assert {agent.id, admin.id} <= {e["target"]["id"] for e in signed_in}
    assert all(e["details"]["ip"] for e in signed_in)


def test_invitation_is_used_once(chat: ChatappProcess, anon: Api) -> None:
    admin = staff(chat, "admin")
    doc, token = invite(admin, "agent", "Ivan Invitee")
    assert doc["invite"]["id"] in [i["id"] for i in admin.ok("GET", "/api/admin/team")["invites"]]
    shown = anon.ok("GET", f"/api/auth/invites/{token}")["invite"]
    assert shown["email"] == doc["invite"]["email"] and shown["role"] == "agent" and shown["name"] == "Ivan Invitee"

    short = anon.post(f"/api/auth/invites/{token}/accept", {"password": "short"})
    assert short.status_code == 422, short.text
    accepted = anon.ok("POST", f"/api/auth/invites/{token}/accept", {"password": PASSWORD, "name": "Ivan I."},
                       status=201)
    user = accepted["user"]
    assert user["role"] == "admin" and user["staff_role"] == "agent" and user["name"] == "Ivan I."
    assert user["email"] == doc["invite"]["email"] and user["email_verified"] is True
    member = Api(chat.base_url, accepted["token"], user)
    member.ok("GET", "/api/admin/chat/rooms")
    assert error_of(member.get("/api/admin/team"), 403) == "manager_only"
    sign_in(chat, user["email"]).ok("GET", "/api/auth/me")

    again = anon.post(f"/api/auth/invites/{token}/accept", {"password": PASSWORD})
    assert error_of(again, 404) == "invite_not_found"
    assert error_of(anon.get(f"/api/auth/invites/{token}"), 404) == "invite_not_found"
    assert error_of(anon.get(f"/api/auth/invites/{'x' * 43}"), 404) == "invite_not_found"
    team = admin.ok("GET", "/api/admin/team")
    assert doc["invite"]["id"] not in [i["id"] for i in team["invites"]]
    assert any(m["id"] == user["id"] and m["role"] == "agent" and m["active"] for m in team["data"])
    # The invitation's address is taken now: a second invitation to it is refused.
    taken = admin.post("/api/admin/team/invites", {"email": user["email"], "role": "agent"})
    assert error_of(taken, 409) == "email_taken"
    # The token is stored hashed only.
    assert sql(chat, "SELECT COUNT(*) AS n FROM staff_invites WHERE token_hash = ?", token)["n"] == 0

    owner = staff(chat, "owner")
    actions = [(e["action"], e["target"]["id"]) for e in owner.ok("GET", "/api/admin/audit?limit=50")["data"]]
    assert ("team.invite", doc["invite"]["id"]) in actions and ("team.join", user["id"]) in actions


def test_invitation_expires(chat: ChatappProcess, anon: Api) -> None:
    admin = staff(chat, "admin")
    doc, token = invite(admin, "admin")
    expires = doc["invite"]["expires_at"]
    assert expires > (utcnow() + timedelta(days=6, hours=23)).isoformat()[:19]
    sql(chat, "UPDATE staff_invites SET expires_at = ? WHERE id = ?", utcnow() - timedelta(seconds=1),
        doc["invite"]["id"])
    late = anon.post(f"/api/auth/invites/{token}/accept", {"password": PASSWORD})
    assert error_of(late, 404) == "invite_expired"
    assert doc["invite"]["id"] not in [i["id"] for i in admin.ok("GET", "/api/admin/team")["invites"]]
    owner_invite = admin.post("/api/admin/team/invites", {"email": "boss@team.test", "role": "owner"})
    assert owner_invite.status_code == 422, owner_invite.text


def test_a_withdrawn_invitation_stops_working(chat: ChatappProcess, anon: Api) -> None:
    admin, agent = staff(chat, "admin"), staff(chat, "agent")
    doc, token = invite(admin)
    path = f"/api/admin/team/invites/{doc['invite']['id']}"
    assert error_of(agent.request("DELETE", path), 403) == "manager_only"
    assert admin.ok("DELETE", path) == {"removed": 1}
    assert error_of(admin.request("DELETE", path), 404) == "invite_not_found"
    assert error_of(anon.post(f"/api/auth/invites/{token}/accept", {"password": PASSWORD}), 404) == "invite_not_found"
    assert doc["invite"]["id"] not in [i["id"] for i in admin.ok("GET", "/api/admin/team")["invites"]]
    _, used = invite(admin)
    accepted = anon.ok("POST", f"/api/auth/invites/{used}/accept", {"password": PASSWORD}, status=201)
    used_id = sql(chat, "SELECT id FROM staff_invites WHERE accepted_by = ?", accepted["user"]["id"])["id"]
    assert error_of(admin.request("DELETE", f"/api/admin/team/invites/{used_id}"), 404) == "invite_not_found"


def test_owner_protections_and_handing_over(chat: ChatappProcess) -> None:
    owner, admin, other_admin = staff(chat, "owner"), staff(chat, "admin"), staff(chat, "admin")
    agent = staff(chat, "agent")

    def role(api: Api, user_id: int, to: str) -> Any:
        return api.request("PUT", f"/api/admin/team/{user_id}/role", {"role": to})

    # An admin manages agents only.
    assert admin.ok("PUT", f"/api/admin/team/{agent.id}/role", {"role": "admin"})["member"]["role"] == "admin"
    assert error_of(role(admin, agent.id, "agent"), 403) == "owner_only"  # an admin now
    assert error_of(role(admin, other_admin.id, "agent"), 403) == "owner_only"
    assert error_of(admin.post(f"/api/admin/team/{other_admin.id}/deactivate"), 403) == "owner_only"
    assert error_of(role(admin, owner.id, "agent"), 403) == "owner_protected"
    assert error_of(admin.post(f"/api/admin/team/{owner.id}/deactivate"), 403) == "owner_protected"
    assert error_of(role(admin, admin.id, "agent"), 403) == "own_account"
    assert error_of(admin.post(f"/api/admin/team/{admin.id}/deactivate"), 403) == "own_account"
    # Only the owner changes admins and makes an owner, which hands ownership over.
    assert owner.ok("PUT", f"/api/admin/team/{agent.id}/role", {"role": "agent"})["member"]["role"] == "agent"
    assert error_of(role(owner, owner.id, "admin"), 403) == "own_account"
    assert error_of(role(admin, agent.id, "owner"), 403) == "owner_only"
    handed = owner.ok("PUT", f"/api/admin/team/{admin.id}/role", {"role": "owner"})["member"]
    assert handed["role"] == "owner"
    assert owner.ok("GET", "/api/auth/me")["user"]["staff_role"] == "admin"
    assert error_of(role(owner, admin.id, "agent"), 403) == "owner_protected"
    assert error_of(role(owner, other_admin.id, "agent"), 403) == "owner_only"  # no longer the owner
    assert admin.ok("PUT", f"/api/admin/team/{other_admin.id}/role", {"role": "agent"})["member"]["role"] == "agent"
    # Visitors are not members.
    visitor = Api.guest(chat.base_url, "Not Staff")
    assert error_of(role(admin, visitor.id, "agent"), 404) == "member_not_found"
    assert error_of(admin.post(f"/api/admin/team/{visitor.id}/deactivate"), 404) == "member_not_found"
    actions = [(e["action"], e["target"]["id"], e["details"]) for e in admin.ok("GET", "/api/admin/audit")["data"]]
    assert ("team.role", admin.id, {"from": "admin", "to": "owner", "previous_owner": owner.id}) in actions


async def test_deactivation_ends_sessions_and_presence(
    chat: ChatappProcess, chat_reverb: ReverbProcess, echo_clients: list[NodeClient]
) -> None:
    manager = await asyncio.to_thread(staff, chat, "admin")
    agent = await asyncio.to_thread(staff, chat, "agent")
    tab = await _admin_tab(chat, chat_reverb, agent.token or "", echo_clients)
    visitor = await asyncio.to_thread(Api.guest, chat.base_url, "Held Visitor")
    room_id = (await asyncio.to_thread(visitor.send, "who is there?"))["room"]["id"]
    await asyncio.to_thread(agent.ok, "POST", f"/api/admin/chat/rooms/{room_id}/assign", {})

    gone = await asyncio.to_thread(manager.ok, "POST", f"/api/admin/team/{agent.id}/deactivate")
    assert gone["member"]["active"] is False and gone["member"]["deactivated_at"]
    await _terminated(tab)
    room = (await asyncio.to_thread(manager.ok, "GET", f"/api/admin/chat/rooms/{room_id}"))["room"]
    assert room["status"] == "open" and room["assigned_admin"] is None  # back to the queue
    refused = await asyncio.to_thread(agent.get, "/api/admin/chat/rooms")
    assert refused.status_code == 401, refused.text
    login = await asyncio.to_thread(
        Api(chat.base_url).post, "/api/auth/login", {"email": agent.user["email"], "password": PASSWORD})
    assert error_of(login, 403) == "account_deactivated"
    team = await asyncio.to_thread(manager.ok, "GET", "/api/admin/team")
    assert [m["active"] for m in team["data"] if m["id"] == agent.id] == [False]

    back = await asyncio.to_thread(manager.ok, "POST", f"/api/admin/team/{agent.id}/reactivate")
    assert back["member"]["active"] is True and back["member"]["deactivated_at"] is None
    again = await asyncio.to_thread(sign_in, chat, agent.user["email"])
    await asyncio.to_thread(again.ok, "GET", "/api/admin/chat/rooms")


def test_last_activity(chat: ChatappProcess) -> None:
    manager = staff(chat, "admin")
    agent = staff(chat, "agent")

    def last_active(user_id: int) -> Any:
        members = manager.ok("GET", "/api/admin/team")["data"]
        return next(m["last_active_at"] for m in members if m["id"] == user_id)

    signed_in = last_active(agent.id)
    assert signed_in is not None  # signing in counts
    agent.ok("GET", "/api/admin/chat/rooms")
    assert last_active(agent.id) == signed_in  # within the minute: no write

    earlier = utcnow() - timedelta(minutes=5)
    sql(chat, "UPDATE users SET last_active_at = ? WHERE id = ?", earlier, agent.id)
    sql(chat, "UPDATE auth_sessions SET last_seen_at = ? WHERE user_id = ?", earlier, agent.id)
    assert last_active(agent.id) < signed_in
    agent.ok("GET", "/api/admin/chat/rooms")
    assert last_active(agent.id) >= signed_in


def test_create_admin_makes_the_first_account_owner(tmp_path: Path) -> None:
    app = ChatappProcess(f"sqlite:///{tmp_path / 'team.sqlite3'}", reverb_port=1, workdir=tmp_path)
    app.cli("migrate")
    assert "owner" in app.cli("create-admin", "--email", "first@team.test", "--password", PASSWORD).stdout
    assert ", admin)" in app.cli("create-admin", "--email", "second@team.test", "--password", PASSWORD).stdout
    made = app.cli("create-admin", "--email", "third@team.test", "--password", PASSWORD, "--role", "agent")
    assert ", agent)" in made.stdout
    kept = app.cli("create-admin", "--email", "second@team.test", "--password", "another-password")
    assert "role admin" in kept.stdout


def test_an_invitation_is_mailed_when_mail_is_on(tmp_path: Path) -> None:
    env = {"CHATAPP_MAIL_FROM": "Support Team <support@mail.test>", "CHATAPP_MAIL_INTERVAL": "0.3",
           "CHATAPP_PUBLIC_URL": "https://chat.example.test"}
    with running_smtp() as smtp, chatapp_stack(f"sqlite:///{tmp_path / 'mail.sqlite3'}", tmp_path,
                                                 {**env, "CHATAPP_SMTP_URL": smtp.url}) as app:
        owner = admin_api(app, PASSWORD, "Olena Owner")
        owner.ok("POST", "/api/auth/locale", {"locale": "uk"})
        doc = owner.ok("POST", "/api/admin/team/invites", {"email": "new.agent@team.test", "name": "Petro"},
                       status=201)
        assert doc["mailed"] is True and doc["link"].startswith("https://chat.example.test/admin/invite#")
        [mail] = smtp.wait_for("new.agent@team.test")
        assert mail["Subject"] == "Olena Owner запрошує вас до команди підтримки"
        body = mail.get_body(("plain",))
        assert body is not None and doc["link"] in body.get_content()
        token = doc["link"].rsplit("#", 1)[1]
        Api(app.base_url).ok("POST", f"/api/auth/invites/{token}/accept", {"password": PASSWORD}, status=201)
