"""The authorisation matrix: anonymous, guest, user A, user B and admin over every endpoint and channel.

Each case gets a fresh room owned by user A. Callers run in a fixed order with the
permitted ones last, so a refused call can never be masked by an earlier success,
and afterwards room A must hold exactly what its owner put there.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.chatapp.procs import Api, ChatappProcess

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ACTORS = ("anon", "guest", "user_b", "admin", "user_a")
_emails = itertools.count(1)

V = {"anon": 401, "guest": 200, "user_b": 200, "user_a": 200, "admin": 403}  # any visitor
OWN = {"anon": 401, "guest": 404, "user_b": 404, "admin": 403, "user_a": 200}  # visitor, A's room only
ADMIN = {"anon": 401, "guest": 403, "user_b": 403, "user_a": 403, "admin": 200}
SIGNED_IN = {"anon": 401, "guest": 200, "user_b": 200, "user_a": 200, "admin": 200}
PUBLIC = {a: 200 for a in ACTORS}


def ok_as(base: dict[str, int], status: int) -> dict[str, int]:
    return {a: (status if s == 200 else s) for a, s in base.items()}


@dataclass
class Case:
    id: str
    method: str
    path: str  # {room} = a fresh room of user A, {file} = a file uploaded to it, {a} = A's user id
    expect: dict[str, int]
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    upload: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def channel(name: str, expect: dict[str, int]) -> Case:
    return Case(f"channel {name}", "POST", "/broadcasting/auth", expect,
                form={"socket_id": "1234.5678", "channel_name": name})


CASES = [
    Case("health", "GET", "/up", PUBLIC),
    Case("config", "GET", "/api/config", PUBLIC),
    Case("openapi", "GET", "/api/openapi.json", PUBLIC),
    Case("me", "GET", "/api/auth/me", SIGNED_IN),
    Case("current room", "GET", "/api/chat/room", V),
    Case("open room", "POST", "/api/chat/room", {**V, "guest": 201, "user_b": 201}, json={}),
    Case("my rooms", "GET", "/api/chat/rooms", V),
    Case("show room", "GET", "/api/chat/rooms/{room}", OWN),
    Case("send to room", "POST", "/api/chat/messages", ok_as(OWN, 201), json={"room_id": "{room}", "body": "x"}),
    Case("history", "GET", "/api/chat/rooms/{room}/messages", OWN),
    Case("catch-up", "GET", "/api/chat/rooms/{room}/messages?after=0", OWN),
    Case("typing", "POST", "/api/chat/rooms/{room}/typing", OWN, json={"is_typing": True}),
    Case("read", "POST", "/api/chat/rooms/{room}/read", OWN),
    Case("close own", "POST", "/api/chat/rooms/{room}/close", OWN),
    Case("unread", "GET", "/api/chat/unread", V),
    Case("upload", "POST", "/api/chat/upload", {**ok_as(OWN, 201), "admin": 201}, upload=True),
    Case("download", "GET", "/api/chat/files/{file}", {**OWN, "admin": 200}),
    Case("admin rooms", "GET", "/api/admin/chat/rooms", ADMIN),
    Case("admin room", "GET", "/api/admin/chat/rooms/{room}", ADMIN),
    Case("admin history", "GET", "/api/admin/chat/rooms/{room}/messages", ADMIN),
    Case("admin reply", "POST", "/api/admin/chat/rooms/{room}/messages", ok_as(ADMIN, 201), json={"body": "hi"}),
    Case("assign", "POST", "/api/admin/chat/rooms/{room}/assign", ADMIN, json={}),
    Case("unassign", "POST", "/api/admin/chat/rooms/{room}/unassign", ok_as(ADMIN, 409)),
    Case("priority", "POST", "/api/admin/chat/rooms/{room}/priority", ADMIN, json={"priority": "urgent"}),
    Case("resolve", "POST", "/api/admin/chat/rooms/{room}/resolve", ADMIN),
    Case("close", "POST", "/api/admin/chat/rooms/{room}/close", ADMIN),
    Case("reopen", "POST", "/api/admin/chat/rooms/{room}/reopen", ok_as(ADMIN, 409)),
    Case("admin read", "POST", "/api/admin/chat/rooms/{room}/read", ADMIN),
    Case("admin typing", "POST", "/api/admin/chat/rooms/{room}/typing", ADMIN, json={"is_typing": True}),
    Case("stats", "GET", "/api/admin/chat/stats", ADMIN),
    Case("admins", "GET", "/api/admin/admins", ADMIN),
    Case("push subscribe", "POST", "/api/push/subscriptions", ok_as(SIGNED_IN, 201), extra={"push": True}),
    Case("push unsubscribe", "DELETE", "/api/push/subscriptions", SIGNED_IN,
         json={"endpoint": "https://push.example/none"}),
    channel("private-chat.{room}", {"anon": 401, "guest": 403, "user_b": 403, "admin": 200, "user_a": 200}),
    channel("private-admin.chat", {**ADMIN}),
    channel("presence-admins", {**ADMIN}),
    channel("private-user.{a}", {"anon": 401, "guest": 403, "user_b": 403, "admin": 403, "user_a": 200}),
    channel("private-chat.999999999", {"anon": 401, "guest": 403, "user_b": 403, "user_a": 403, "admin": 403}),
    channel("private-secret", {"anon": 401, "guest": 403, "user_b": 403, "user_a": 403, "admin": 403}),
    channel("chat.1", {"anon": 401, "guest": 403, "user_b": 403, "user_a": 403, "admin": 403}),
]


@pytest.fixture(scope="module")
def actors(chat: ChatappProcess, admin: Api) -> dict[str, Api]:
    anon = Api(chat.base_url)

    def account(name: str) -> Api:
        email = f"{name.lower().replace(' ', '')}{next(_emails)}-{chat.port}@example.test"
        doc = anon.ok("POST", "/api/auth/register", {"email": email, "password": "correct horse", "name": name})
        return Api(chat.base_url, doc["token"], doc["user"])

    guest = anon.ok("POST", "/api/auth/guest", {"name": "Guest G"})
    return {
        "anon": anon,
        "guest": Api(chat.base_url, guest["token"], guest["user"]),
        "user_a": account("User A"),
        "user_b": account("User B"),
        "admin": admin,
    }


def _fill(value: Any, subs: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, sub in subs.items():
            value = value.replace("{" + key + "}", sub)
        return int(value) if value.isdigit() else value
    if isinstance(value, dict):
        return {k: _fill(v, subs) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_matrix(case: Case, actors: dict[str, Api], push_receiver: Any) -> None:
    owner = actors["user_a"]
    room = owner.ok("POST", "/api/chat/room", {"subject": case.id})
    if not room["created"]:  # start every case from a fresh, open room of A's
        owner.ok("POST", f"/api/chat/rooms/{room['room']['id']}/close")
        room = owner.ok("POST", "/api/chat/room", {"subject": case.id})
    room = room["room"]
    subs = {"room": str(room["id"]), "a": str(owner.id)}
    if "{file}" in case.path:
        uploaded = owner.request("POST", "/api/chat/upload", files={"file": ("a.png", PNG, "image/png")},
                                 data={"room_id": subs["room"]})
        assert uploaded.status_code == 201, uploaded.text
        subs["file"] = uploaded.json()["attachment"]["url"].rsplit("/", 1)[1]
    before = owner.ok("GET", f"/api/chat/rooms/{room['id']}/messages", params={"limit": 100})["data"]

    seen: dict[str, int] = {}
    for actor in ACTORS:
        api = actors[actor]
        kwargs: dict[str, Any] = {}
        if case.upload:
            kwargs = {"files": {"file": ("b.png", PNG, "image/png")}, "data": {"room_id": subs["room"]}}
        elif case.form is not None:
            kwargs = {"data": _fill(case.form, subs)}
            kwargs["data"] = {k: str(v) for k, v in kwargs["data"].items()}
        elif case.extra.get("push"):
            kwargs = {"json": push_receiver.new_subscription().to_json()}
        elif case.json is not None:
            kwargs = {"json": _fill(case.json, subs)}
        response = api.request(case.method, _fill(case.path, subs) if "{" in case.path else case.path, **kwargs)
        seen[actor] = response.status_code
        if response.status_code >= 400:
            body = response.json()
            assert body["error"] and body["message"], f"{actor}: error body must say what is wrong: {body}"
    expected = {a: case.expect[a] for a in ACTORS}
    assert seen == expected, f"{case.method} {case.path}"

    after = owner.ok("GET", f"/api/chat/rooms/{room['id']}/messages", params={"limit": 100})["data"]
    foreign = [m for m in after if m["sender_role"] == "user" and m["user_id"] != owner.id]
    assert not foreign, "nobody else may write into A's room"
    assert [m["id"] for m in after[: len(before)]] == [m["id"] for m in before], "stored messages are untouched"
