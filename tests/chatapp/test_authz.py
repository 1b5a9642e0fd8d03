"""The authorisation matrix, generated from the route table: every endpoint and channel, five callers.

For each endpoint of :data:`chatapp.routes.ENDPOINTS` the expected status per caller
(anonymous, a guest, user B, an agent, an admin, the owner, user A) follows from its declared ``auth``
rule. What the table cannot say (what to send, whether the call acts on user A's
room, which status a permitted call gets) is kept in :data:`FACTS`, keyed by
(method, path). An endpoint without facts, facts for a route that is gone, or a
served route that is neither in the table nor in :data:`OUTSIDE_TABLE` fails the
suite, so no route escapes the matrix.

Each case gets a fresh room owned by user A. Callers run in a fixed order with the
permitted ones last, so a refused call can never be masked by an earlier success,
and afterwards room A must hold exactly what its owner put there.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.routing import Mount, Route

from chatapp.app import create_app
from chatapp.config import Settings
from chatapp.routes import ENDPOINTS, Endpoint
from tests.chatapp.procs import Api, ChatappProcess

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PASSWORD = "correct horse"
ACTORS = ("anon", "guest", "user_b", "agent", "admin", "owner", "user_a")  # those allowed into room A run last
OTHER_VISITORS = ("guest", "user_b")  # signed in as visitors, but room A is not theirs
STAFF = ("agent", "admin", "owner")  # support staff (role 'admin'), by their role in the team
MANAGERS = ("admin", "owner")  # the `manager` rule: the team's owner and admins
_emails = itertools.count(1)


@dataclass(frozen=True)
class Facts:
    """What the route table cannot say about an endpoint."""

    json: dict[str, Any] | None = None  # the body; {room_id}, {email}, {password}... are filled per call
    upload: bool = False  # a multipart file for A's room
    push: bool = False  # a new Web Push subscription for each caller
    room: bool = False  # acts on user A's room: other visitors get 404, never 403, so ids do not leak
    ok: int | None = None  # a permitted call's status when it is not the endpoint's declared `ok`
    ok_for: Mapping[str, int] = field(default_factory=dict)  # ... for one caller only
    queries: tuple[str, ...] = ("",)  # query-string variants, each its own case
    channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # channel -> callers who may subscribe
    throwaway: bool = False  # signs its caller out: runs with callers made for this case only
    victim: bool = False  # {user_id} is a visitor made for this case (else user A)
    member: bool = False  # {user_id} is an agent made for this case
    invite: bool = False  # {token} is a fresh team invitation's
    erases_owner: bool = False  # user A's own call erases them: room A is gone afterwards


ROOM = Facts(room=True)
NOBODY: tuple[str, ...] = ()

FACTS: dict[tuple[str, str], Facts] = {
    ("GET", "/up"): Facts(),
    ("GET", "/api/config"): Facts(),
    ("GET", "/api/i18n"): Facts(queries=("", "?prefer=uk-UA,fr")),
    ("POST", "/api/mail/inbound"): Facts(ok=404),  # no CHATAPP_INBOUND_MAIL_SECRET here: the same 404 for everyone
    ("POST", "/api/auth/register"): Facts(json={"email": "{email}", "password": PASSWORD}),
    ("POST", "/api/auth/login"): Facts(json={"email": "{login}", "password": PASSWORD}),
    ("POST", "/api/auth/guest"): Facts(json={"name": "Another guest"}),
    ("POST", "/api/auth/identity"): Facts(json={"identity": "{identity}"}),
    ("GET", "/api/auth/me"): Facts(),
    ("POST", "/api/auth/locale"): Facts(json={"locale": "uk"}),
    ("GET", "/api/auth/invites/{token}"): Facts(invite=True),
    # public: the first caller uses the invitation up, every later one finds it gone
    ("POST", "/api/auth/invites/{token}/accept"): Facts(json={"password": "{password}"}, invite=True, ok=404,
                                                         ok_for={"anon": 201}),
    ("POST", "/api/auth/logout"): Facts(throwaway=True),
    ("POST", "/api/auth/logout-all"): Facts(throwaway=True),
    ("POST", "/api/auth/password"): Facts(  # a guest has no password to change
        json={"current_password": "{password}", "new_password": "a brand new horse"}, ok_for={"guest": 409},
        throwaway=True,
    ),
    # e-mail is off in the suite's chatapp: a new address stays unverified, no link can be mailed (409 mail_off;
    # a guest has no address, 409 no_email), and an unknown token is 404; the flows: tests/chatapp/test_verification.py
    ("POST", "/api/auth/email"): Facts(json={"email": "{email}", "current_password": "{password}"},
                                       ok_for={"guest": 409}, throwaway=True),
    ("POST", "/api/auth/email/resend"): Facts(ok=409),
    ("GET", "/api/auth/email/verify"): Facts(queries=("?token=not-a-token",), ok=404),
    ("POST", "/api/auth/email/verify"): Facts(json={"token": "not-a-token"}, ok=404),
    ("GET", "/api/chat/status"): Facts(queries=("", "?prefer=fr")),
    # a visitor's own chat (a new one, or room A for its owner); it renames them: callers of its own
    ("POST", "/api/chat/offline"): Facts(json={"name": "Ana", "email": "ana@example.com", "message": "x"},
                                         throwaway=True),
    ("GET", "/api/chat/prechat"): Facts(queries=("", "?prefer=uk")),
    # the suite's site has no pre-chat form: a visitor's answers are 409 prechat_off (tests/chatapp/test_prechat.py)
    ("POST", "/api/chat/prechat"): Facts(json={"answers": {"name": "Ana"}}, ok=409),
    ("GET", "/api/chat/room"): Facts(),
    ("POST", "/api/chat/room"): Facts(json={}, ok_for={"guest": 201, "user_b": 201}),  # their first room
    ("GET", "/api/chat/rooms"): Facts(queries=("", "?before=999999999&per_page=5")),
    ("GET", "/api/chat/rooms/{room_id}"): ROOM,
    ("POST", "/api/chat/messages"): Facts(json={"room_id": "{room_id}", "body": "x"}, room=True),
    ("GET", "/api/chat/rooms/{room_id}/messages"): Facts(room=True, queries=("", "?after=0")),
    ("POST", "/api/chat/rooms/{room_id}/typing"): Facts(json={"is_typing": True}, room=True),
    ("POST", "/api/chat/rooms/{room_id}/read"): ROOM,
    ("POST", "/api/chat/rooms/{room_id}/close"): ROOM,
    # a fresh chat is open: its owner is told it is not rateable yet; rating itself: tests/chatapp/test_ratings.py
    ("POST", "/api/chat/rooms/{room_id}/rating"): Facts(json={"score": 5}, room=True, ok=409),
    ("POST", "/api/chat/rooms/{room_id}/pages"): Facts(json={"url": "https://shop.example/"}, room=True),
    # the suite's chatapp has no CHATAPP_SMTP_URL: e-mail is off, 409 mail_off (tests/chatapp/test_mail.py)
    ("POST", "/api/chat/rooms/{room_id}/transcript"): Facts(room=True, ok=409),
    ("GET", "/api/chat/unread"): Facts(),
    ("POST", "/api/chat/upload"): Facts(upload=True, room=True),
    ("GET", "/api/chat/files/{name}"): ROOM,
    ("GET", "/api/admin/chat/rooms"): Facts(),
    ("GET", "/api/admin/chat/rooms/{room_id}"): Facts(),
    ("GET", "/api/admin/chat/rooms/{room_id}/messages"): Facts(),
    ("POST", "/api/admin/chat/rooms/{room_id}/messages"): Facts(json={"body": "hi"}),
    ("POST", "/api/admin/chat/rooms/{room_id}/notes"): Facts(json={"body": "for support only"}),
    # expects nobody assigned: the first staff member takes it, the others are too late
    ("POST", "/api/admin/chat/rooms/{room_id}/assign"): Facts(json={}, ok_for={"admin": 409, "owner": 409}),
    ("POST", "/api/admin/chat/rooms/{room_id}/unassign"): Facts(ok=409),  # a fresh room has nobody assigned
    ("POST", "/api/admin/chat/rooms/{room_id}/priority"): Facts(json={"priority": "urgent"}),
    # the first staff member resolves or closes it; the others find it so already
    ("POST", "/api/admin/chat/rooms/{room_id}/resolve"): Facts(ok_for={"admin": 409, "owner": 409}),
    ("POST", "/api/admin/chat/rooms/{room_id}/close"): Facts(ok_for={"admin": 409, "owner": 409}),
    ("POST", "/api/admin/chat/rooms/{room_id}/reopen"): Facts(ok=409),  # a fresh room is open already
    # until the visitor's next message; snoozing again sets the new time (tests/chatapp/test_snooze.py)
    ("POST", "/api/admin/chat/rooms/{room_id}/snooze"): Facts(json={"until": None}),
    ("POST", "/api/admin/chat/rooms/{room_id}/unsnooze"): Facts(ok=409),  # a fresh room is not snoozed
    ("POST", "/api/admin/chat/rooms/{room_id}/read"): Facts(),
    ("POST", "/api/admin/chat/rooms/{room_id}/typing"): Facts(json={"is_typing": True}),
    ("GET", "/api/admin/chat/stats"): Facts(),
    ("GET", "/api/admin/status"): Facts(),
    ("GET", "/api/admin/lockouts"): Facts(),
    ("GET", "/api/admin/admins"): Facts(),
    ("GET", "/api/admin/agents"): Facts(),
    ("PUT", "/api/admin/me/availability"): Facts(json={"availability": "online"}),
    ("PUT", "/api/admin/agents/{user_id}/capacity"): Facts(json={"capacity": 5}, ok=404),  # user A is no agent
    ("GET", "/api/admin/business-hours"): Facts(),
    ("PUT", "/api/admin/business-hours"): Facts(
        json={"time_zone": "Europe/Paris", "week": {"mon": [["09:00", "17:00"]]}, "holidays": ["2026-12-25"]}),
    ("DELETE", "/api/admin/business-hours"): Facts(),
    ("GET", "/api/admin/prechat"): Facts(),
    ("PUT", "/api/admin/prechat"): Facts(json={"enabled": False, "fields": []}),  # as the suite runs: off
    ("GET", "/api/admin/routing"): Facts(),
    ("PUT", "/api/admin/routing"): Facts(json={"auto_assign": False}),  # as the suite runs: chats wait
    ("GET", "/api/admin/queue"): Facts(),
    ("GET", "/api/admin/canned-replies"): Facts(queries=("", "?q=matrix")),
    ("POST", "/api/admin/canned-replies"): Facts(
        json={"code": "matrix-{room_id}", "body": "Thanks!", "scope": "personal"}),
    # {reply_id} is a team reply: agents use them, the owner and admins manage them
    ("PATCH", "/api/admin/canned-replies/{reply_id}"): Facts(json={"body": "Thank you!"}, ok_for={"agent": 403}),
    ("DELETE", "/api/admin/canned-replies/{reply_id}"): Facts(ok_for={"agent": 403, "owner": 404}),
    ("GET", "/api/admin/labels"): Facts(),
    ("POST", "/api/admin/labels"): Facts(json={"name": "{email}", "color": "#2f80ed"}),  # a new name per caller
    # {label_id}: a fresh label; agents use labels, the owner and admins manage them
    ("PATCH", "/api/admin/labels/{label_id}"): Facts(json={"color": "#eb5757"}),
    ("DELETE", "/api/admin/labels/{label_id}"): Facts(ok_for={"owner": 404}),  # the admin deleted it first
    ("POST", "/api/admin/chat/rooms/{room_id}/labels"): Facts(json={"label_id": "{label_id}"}),
    ("DELETE", "/api/admin/chat/rooms/{room_id}/labels/{label_id}"): Facts(),
    ("POST", "/api/admin/chat/rooms/bulk"): Facts(
        json={"room_ids": ["{room_id}"], "action": "label", "label_id": "{label_id}"}),
    ("DELETE", "/api/chat/me"): Facts(throwaway=True, erases_owner=True),
    # e-mail is off in the suite's chatapp: 409 mail_off (the flow: tests/chatapp/test_reply_address.py)
    ("POST", "/api/chat/me/email"): Facts(json={"email": "{email}"}, ok=409),
    ("GET", "/api/admin/contacts/{user_id}/export"): Facts(),
    # the first manager erases the visitor; the other finds them gone (agents may not: 403)
    ("DELETE", "/api/admin/contacts/{user_id}"): Facts(victim=True, ok_for={"owner": 404}),
    ("GET", "/api/admin/audit"): Facts(queries=("", "?limit=1")),
    ("GET", "/api/admin/reports"): Facts(queries=("", "?format=csv&tz=Europe/Paris")),
    ("GET", "/api/admin/team"): Facts(),
    ("POST", "/api/admin/team/invites"): Facts(json={"email": "{email}", "role": "agent"}),
    # {invite_id}: a fresh invitation; the first manager withdraws it, the other finds it gone
    ("DELETE", "/api/admin/team/invites/{invite_id}"): Facts(invite=True, ok_for={"owner": 404}),
    ("PUT", "/api/admin/team/{user_id}/role"): Facts(json={"role": "agent"}, member=True),
    ("POST", "/api/admin/team/{user_id}/deactivate"): Facts(member=True),
    ("POST", "/api/admin/team/{user_id}/reactivate"): Facts(member=True),
    ("POST", "/broadcasting/auth"): Facts(
        channels={
            "private-chat.{room_id}": (*STAFF, "user_a"),
            "private-admin.chat": STAFF,
            "presence-admins": STAFF,
            "private-user.{a}": ("user_a",),
            "private-chat.999999999": NOBODY,
            "private-secret": NOBODY,
            "chat.1": NOBODY,
        }
    ),
    ("POST", "/broadcasting/user-auth"): Facts(json={"socket_id": "1234.5678"}),
    ("POST", "/api/push/subscriptions"): Facts(push=True),
    ("DELETE", "/api/push/subscriptions"): Facts(json={"endpoint": "https://push.example/none"}),
}

# Served, public by design, and not in the route table (see chatapp.routes): the same
# answer for every caller. Mounts are probed through one file under them.
OUTSIDE_TABLE: dict[tuple[str, str], tuple[str, int]] = {
    ("GET", "/api/openapi.json"): ("/api/openapi.json", 200),
    ("GET", "/"): ("/", 200),
    ("GET", "/widget.js"): ("/widget.js", 200),
    ("GET", "/widget-sw.js"): ("/widget-sw.js", 200),
    ("GET", "/admin"): ("/admin", 302),
    ("GET", "/admin/login"): ("/admin/login", 200),
    ("GET", "/admin/invite"): ("/admin/invite", 200),
    ("GET", "/admin/chat"): ("/admin/chat", 200),
    ("GET", "/admin/chat/{room_id:int}"): ("/admin/chat/{room_id}", 200),
    ("GET", "/admin/sw.js"): ("/admin/sw.js", 200),
    ("MOUNT", "/static"): ("/static/icon.svg", 200),
}


def status_for(endpoint: Endpoint, facts: Facts, actor: str, channel: str | None = None) -> int:
    """What ``actor`` gets: the route's rule first, then the channel's and the room's owner."""
    ok = facts.ok_for.get(actor, facts.ok or endpoint.ok)
    if endpoint.auth == "none":
        return ok
    if actor == "anon":
        return 401
    if (
        (endpoint.auth == "admin" and actor not in STAFF)
        or (endpoint.auth == "manager" and actor not in MANAGERS)
        or (endpoint.auth == "visitor" and actor in STAFF)
    ):
        return 403
    if channel is not None and actor not in facts.channels[channel]:
        return 403
    if facts.room and actor in OTHER_VISITORS:
        return 404
    return ok


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str  # {room_id} = a fresh room of user A, {name} = a file uploaded to it, {reply_id} = a team reply
    expect: dict[str, int]
    facts: Facts = Facts()
    channel: str | None = None


def cases_of(endpoint: Endpoint, facts: Facts) -> list[Case]:
    def case(path: str, channel: str | None = None) -> Case:
        expect = {actor: status_for(endpoint, facts, actor, channel) for actor in ACTORS}
        name = f"{endpoint.method} {path}" + (f" {channel}" if channel else "")
        return Case(name, endpoint.method, path, expect, facts, channel)

    if facts.channels:
        return [case(endpoint.path, channel) for channel in facts.channels]
    return [case(endpoint.path + query) for query in facts.queries]


CASES = [
    *(case for e in ENDPOINTS if (e.method, e.path) in FACTS for case in cases_of(e, FACTS[(e.method, e.path)])),
    *(Case(f"{method} {path}", "GET", probe, {a: status for a in ACTORS})
      for (method, path), (probe, status) in OUTSIDE_TABLE.items()),
]


def test_every_endpoint_has_facts() -> None:
    """A new route cannot escape the matrix: it needs an entry in FACTS first."""
    missing = [f"{e.method} {e.path}" for e in ENDPOINTS if (e.method, e.path) not in FACTS]
    assert not missing, f"add these endpoints to FACTS in {__file__}: {missing}"


def test_no_facts_for_removed_routes() -> None:
    routes = {(e.method, e.path) for e in ENDPOINTS}
    stale = [f"{method} {path}" for method, path in FACTS if (method, path) not in routes]
    assert not stale, f"these FACTS entries name no route any more: {stale}"


def test_every_served_route_is_in_the_table_or_public_by_design() -> None:
    app = create_app(Settings.from_env({}))
    served: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, Route):
            served |= {(method, route.path) for method in route.methods or () if method != "HEAD"}
        elif isinstance(route, Mount):
            served.add(("MOUNT", route.path))
    declared = {(e.method, e.starlette_path) for e in ENDPOINTS} | set(OUTSIDE_TABLE)
    assert served == declared


# ------------------------------------------------------------------ the matrix


@dataclass
class World:
    callers: dict[str, Api]
    reader: Api  # reads room A before and after; never signed out by a case
    login_email: str
    identity: str


def sign_up(chat: ChatappProcess, name: str) -> Api:
    email = f"{name.lower().replace(' ', '')}{next(_emails)}-{chat.port}@example.test"
    doc = Api(chat.base_url).ok("POST", "/api/auth/register", {"email": email, "password": PASSWORD, "name": name})
    return Api(chat.base_url, doc["token"], doc["user"])


def new_staff(chat: ChatappProcess, role: str = "admin") -> Api:
    email = f"matrix-{role}{next(_emails)}-{chat.port}@support.test"
    chat.cli("create-admin", "--email", email, "--name", f"Matrix {role.title()}", "--password", PASSWORD,
             "--role", role)
    doc = Api(chat.base_url).ok("POST", "/api/auth/login", {"email": email, "password": PASSWORD})
    assert doc["user"]["staff_role"] == role, doc["user"]
    return Api(chat.base_url, doc["token"], doc["user"])


def callers(chat: ChatappProcess) -> dict[str, Api]:
    guest = Api(chat.base_url).ok("POST", "/api/auth/guest", {"name": "Guest G"})
    return {
        "anon": Api(chat.base_url),
        "guest": Api(chat.base_url, guest["token"], guest["user"]),
        "user_a": sign_up(chat, "User A"),
        "user_b": sign_up(chat, "User B"),
        **{role: new_staff(chat, role) for role in STAFF},
    }


@pytest.fixture(scope="module")
def world(chat: ChatappProcess, admin: Api) -> World:
    login = sign_up(chat, "Login Target")
    identity = chat.cli("identity-token", "--sub", f"matrix-{chat.port}", "--name", "Site User").stdout.strip()
    return World(callers(chat), admin, login.user["email"], identity)


def _fill(value: Any, subs: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for key, sub in subs.items():
            value = value.replace("{" + key + "}", sub)
        return int(value) if value.isdigit() else value
    if isinstance(value, dict):
        return {k: _fill(v, subs) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, subs) for v in value]
    return value


def _request_kwargs(case: Case, subs: Mapping[str, str], push_receiver: Any) -> dict[str, Any]:
    facts = case.facts
    if facts.upload:
        return {"files": {"file": ("b.png", PNG, "image/png")}, "data": {"room_id": subs["room_id"]}}
    if case.channel is not None:
        return {"data": {"socket_id": "1234.5678", "channel_name": str(_fill(case.channel, subs))}}
    if facts.push:
        return {"json": push_receiver.new_subscription().to_json()}
    if facts.json is not None:
        return {"json": _fill(facts.json, subs)}
    return {}


# Every route for seven callers: in make test, not test-fast. On SQLite only: who may call a
# route is decided by the route table and chatapp/policy.py, the same code on both databases
# (each route's own tests run on both); twice over was two and a half minutes of the suite.
@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_matrix(case: Case, world: World, chat: ChatappProcess, push_receiver: Any) -> None:
    actors = callers(chat) if case.facts.throwaway else world.callers
    owner = actors["user_a"]
    room = owner.ok("POST", "/api/chat/room", {"subject": case.id})
    if not room["created"]:  # start every case from a fresh, open room of A's
        owner.ok("POST", f"/api/chat/rooms/{room['room']['id']}/close")
        room = owner.ok("POST", "/api/chat/room", {"subject": case.id})
    room_id = room["room"]["id"]
    history = f"/api/admin/chat/rooms/{room_id}/messages"
    subs = {"room_id": str(room_id), "a": str(owner.id), "login": world.login_email, "identity": world.identity,
            "password": PASSWORD, "user_id": str(owner.id)}
    if case.facts.victim:
        subs["user_id"] = str(Api.guest(chat.base_url, "Erased Visitor").id)
    if case.facts.member:
        subs["user_id"] = str(new_staff(chat, "agent").id)
    if case.facts.invite:
        made = world.reader.ok("POST", "/api/admin/team/invites",
                               {"email": f"matrix-invitee{next(_emails)}-{chat.port}@support.test"})
        subs["token"] = made["link"].rsplit("#", 1)[1]
        subs["invite_id"] = str(made["invite"]["id"])
    if "{name}" in case.path:
        uploaded = owner.request("POST", "/api/chat/upload", files={"file": ("a.png", PNG, "image/png")},
                                 data={"room_id": subs["room_id"]})
        assert uploaded.status_code == 201, uploaded.text
        subs["name"] = uploaded.json()["attachment"]["url"].rsplit("/", 1)[1]
    if "{reply_id}" in case.path:
        made = world.reader.ok("POST", "/api/admin/canned-replies",
                               {"code": f"matrix-team-{room_id}", "body": "Team reply", "scope": "team"})
        subs["reply_id"] = str(made["reply"]["id"])
    if "{label_id}" in case.path or "{label_id}" in str(case.facts.json):
        made = world.reader.ok("POST", "/api/admin/labels", {"name": f"matrix-{room_id}", "color": "#27ae60"})
        subs["label_id"] = str(made["label"]["id"])
    before = world.reader.ok("GET", history, params={"limit": 100})["data"]

    seen: dict[str, int] = {}
    for actor in ACTORS:
        call_subs = {**subs, "email": f"matrix{next(_emails)}-{actor}-{chat.port}@example.test"}
        kwargs = _request_kwargs(case, call_subs, push_receiver)
        response = actors[actor].request(case.method, str(_fill(case.path, call_subs)), **kwargs)
        seen[actor] = response.status_code
        if response.status_code >= 400:
            body = response.json()
            assert body["error"] and body["message"], f"{actor}: error body must say what is wrong: {body}"
    assert seen == case.expect, case.id
    if case.facts.erases_owner:
        assert world.reader.request("GET", history).status_code == 404, "A erased their own room"
        return

    after = world.reader.ok("GET", history, params={"limit": 100})["data"]
    foreign = [m for m in after if m["sender_role"] == "user" and m["user_id"] != owner.id]
    assert not foreign, "nobody else may write into A's room"
    assert [m["id"] for m in after[: len(before)]] == [m["id"] for m in before], "stored messages are untouched"
