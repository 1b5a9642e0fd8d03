"""Canned replies over the API: team and personal scopes, codes unique per scope, clear 4xx errors."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.chatapp.procs import Api, ChatappProcess, admin_api

ROUTE = "/api/admin/canned-replies"


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    body = response.json()
    assert body["error"] == code and isinstance(body["message"], str) and body["message"], body
    return body  # type: ignore[no-any-return]


@pytest.fixture
def code() -> Callable[[str], str]:
    """Codes of this test only: the shared admin and its team replies live for the whole session."""
    prefix = secrets.token_hex(3)
    return lambda stem: f"t{prefix}-{stem}"


@pytest.fixture
def bob(chat: ChatappProcess) -> Iterator[Api]:
    api = admin_api(chat, "bob-password-1", name="Bob Agent")
    try:
        yield api
    finally:
        api.close()


def listed(api: Api, q: str | None = None) -> list[dict[str, object]]:
    return api.ok("GET", ROUTE, params={"q": q} if q is not None else None)["data"]  # type: ignore[no-any-return]


def codes(api: Api, q: str | None = None) -> list[object]:
    return [r["code"] for r in listed(api, q)]


def test_a_team_reply_is_created_found_changed_and_deleted(admin: Api, bob: Api, code: Callable[[str], str]) -> None:
    made = admin.request("POST", ROUTE, json={"code": "/" + code("Refund").upper(), "body": "Hi {{visitor.name}}, "
                                              "your refund is on its way. {{ agent.name }}"})
    assert made.status_code == 201, made.text
    reply = made.json()["reply"]
    assert reply["code"] == code("refund"), "a leading slash is dropped and the code stored lower-case"
    assert reply["scope"] == "team" and reply["owner_id"] is None and reply["created_by"] == admin.id
    assert reply["created_at"] and reply["updated_at"]

    # Every admin sees and may use a team reply; q matches the code or the body, case ignored.
    assert code("refund") in codes(bob)
    assert codes(bob, code("REF")) == [code("refund")]
    assert codes(bob, "/" + code("ref")) == [code("refund")], "what follows the slash in the composer works as q"
    assert code("refund") in codes(admin, "REFUND IS ON")
    assert codes(admin, f"nothing-like-this-{code('x')}") == []

    # Any admin manages team replies (there is no narrower role yet).
    changed = bob.ok("PATCH", f"{ROUTE}/{reply['id']}", {"body": "Refund sent, {{visitor.name}}."})["reply"]
    assert changed["body"] == "Refund sent, {{visitor.name}}." and changed["code"] == code("refund")
    assert changed["updated_at"] >= reply["updated_at"]
    assert [r["body"] for r in listed(admin, code("refund"))] == ["Refund sent, {{visitor.name}}."]

    assert admin.ok("DELETE", f"{ROUTE}/{reply['id']}") == {"removed": 1}
    assert code("refund") not in codes(admin) and code("refund") not in codes(bob)
    entry = admin.ok("GET", "/api/admin/audit", params={"limit": 1})["data"][0]  # a team reply's deletion
    assert (entry["action"], entry["target"], entry["actor"]["id"]) == (
        "canned.delete", {"type": "canned_reply", "id": reply["id"]}, admin.id)
    error_of(admin.request("DELETE", f"{ROUTE}/{reply['id']}"), 404, "canned_reply_not_found")
    error_of(admin.request("PATCH", f"{ROUTE}/{reply['id']}", json={"body": "x"}), 404, "canned_reply_not_found")


def test_a_code_is_unique_within_its_scope(admin: Api, bob: Api, code: Callable[[str], str]) -> None:
    team = admin.ok("POST", ROUTE, {"code": code("hello"), "body": "Hello!", "scope": "team"})["reply"]
    clash = error_of(bob.request("POST", ROUTE, json={"code": code("HELLO"), "body": "Hi", "scope": "team"}),
                     409, "canned_reply_exists")
    assert clash["field"] == "code" and code("hello") in str(clash["message"])

    # The same code may be personal for each agent once, and each keeps their own.
    mine = admin.ok("POST", ROUTE, {"code": code("hello"), "body": "Alice says hello", "scope": "personal"})["reply"]
    bobs = bob.ok("POST", ROUTE, {"code": code("hello"), "body": "Bob says hello", "scope": "personal"})["reply"]
    error_of(bob.request("POST", ROUTE, json={"code": code("hello"), "body": "again", "scope": "personal"}),
             409, "canned_reply_exists")
    assert [(r["scope"], r["body"]) for r in listed(admin, code("hello"))] == [
        ("personal", "Alice says hello"), ("team", "Hello!")]
    assert [(r["scope"], r["body"]) for r in listed(bob, code("hello"))] == [
        ("personal", "Bob says hello"), ("team", "Hello!")]

    # Renaming onto a taken code is refused too, and changes nothing.
    other = admin.ok("POST", ROUTE, {"code": code("bye"), "body": "Bye!"})["reply"]
    error_of(admin.request("PATCH", f"{ROUTE}/{other['id']}", json={"code": code("hello")}), 409, "canned_reply_exists")
    assert [r["body"] for r in listed(admin, code("bye"))] == ["Bye!"]
    for reply, owner in ((team, admin), (mine, admin), (bobs, bob), (other, admin)):
        owner.ok("DELETE", f"{ROUTE}/{reply['id']}")


def test_personal_replies_are_never_visible_to_another_agent(admin: Api, bob: Api, code: Callable[[str], str]) -> None:
    secret = bob.ok("POST", ROUTE, {"code": code("bobonly"), "body": "Bob's secret wording", "scope": "personal"})
    secret = secret["reply"]
    assert secret["scope"] == "personal" and secret["owner_id"] == bob.id
    assert code("bobonly") in codes(bob)

    assert code("bobonly") not in codes(admin)
    assert codes(admin, "secret wording") == [] and codes(admin, code("bobonly")) == []
    # Another agent cannot change or delete it, and is told it does not exist (ids do not leak).
    path = f"{ROUTE}/{secret['id']}"
    error_of(admin.request("PATCH", path, json={"body": "hijacked"}), 404, "canned_reply_not_found")
    error_of(admin.request("PATCH", path, json={"scope": "team"}), 404, "canned_reply_not_found")
    error_of(admin.request("DELETE", path), 404, "canned_reply_not_found")
    assert [r["body"] for r in listed(bob, code("bobonly"))] == ["Bob's secret wording"]

    # Its owner may share it with the team, after which everyone sees it; and take it back.
    shared = bob.ok("PATCH", f"{ROUTE}/{secret['id']}", {"scope": "team"})["reply"]
    assert shared["scope"] == "team" and shared["owner_id"] is None
    assert codes(admin, code("bobonly")) == [code("bobonly")]
    back = admin.ok("PATCH", f"{ROUTE}/{secret['id']}", {"scope": "personal"})["reply"]
    assert back["owner_id"] == admin.id, "a team reply made personal belongs to whoever did it"
    assert codes(bob, code("bobonly")) == []
    admin.ok("DELETE", f"{ROUTE}/{secret['id']}")


def test_bad_input_gets_a_clear_error_and_stores_nothing(admin: Api, code: Callable[[str], str]) -> None:
    before = listed(admin)
    too_long = error_of(admin.request("POST", ROUTE, json={"code": code("long"), "body": "é" * 2001}),
                        422, "invalid_input")
    assert too_long["field"] == "body" and too_long["max_length"] == 2000
    error_of(admin.request("POST", ROUTE, json={"code": code("blank"), "body": " \n "}), 422, "invalid_input")
    error_of(admin.request("POST", ROUTE, json={"code": code("none")}), 422, "invalid_input")
    for bad in ("", "/", "two words", "a" * 33, "semi;colon", 5, None):
        body = error_of(admin.request("POST", ROUTE, json={"code": bad, "body": "x"}), 422, "invalid_input")
        assert body["field"] == "code", bad
    typo = error_of(admin.request("POST", ROUTE, json={"code": code("typo"), "body": "Hi {{visitor.nmae}}"}),
                    422, "invalid_input")
    assert "{{visitor.nmae}}" in str(typo["message"]) and typo["variables"] == ["visitor.name", "agent.name"]
    error_of(admin.request("POST", ROUTE, json={"code": code("scope"), "body": "x", "scope": "everyone"}),
             422, "invalid_input")
    error_of(admin.request("POST", ROUTE, content=b"{nope", headers={"Content-Type": "application/json"}),
             400, "malformed_json")
    error_of(admin.request("GET", ROUTE, params={"q": "x" * 201}), 422, "invalid_input")
    error_of(admin.request("PATCH", f"{ROUTE}/999999999", json={"body": "x"}), 404, "canned_reply_not_found")
    error_of(admin.request("DELETE", f"{ROUTE}/{2**63}"), 404, "not_found")
    assert listed(admin) == before

    exact = admin.ok("POST", ROUTE, {"code": code("Відповідь"), "body": "ї" * 2000})["reply"]
    assert exact["code"] == code("відповідь") and len(exact["body"]) == 2000, "letters of any script; chars, not bytes"
    admin.ok("DELETE", f"{ROUTE}/{exact['id']}")


def test_visitors_cannot_reach_canned_replies(new_guest: Callable[..., Api]) -> None:
    visitor = new_guest("Curious")
    error_of(visitor.request("GET", ROUTE), 403, "admin_only")
    error_of(visitor.request("POST", ROUTE, json={"code": "x", "body": "y"}), 403, "admin_only")
