"""Accounts: register/login, guests, and identity signed by the host site (docs/identity.md)."""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt

from chatapp.identity import sign_identity_token
from tests.chatapp.procs import IDENTITY_SECRET, Api, ChatappProcess, chatapp_stack

DOC = Path(__file__).resolve().parents[2] / "docs" / "identity.md"


def doc_signer() -> Callable[..., str]:
    """The Python snippet from docs/identity.md, run as written."""
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert code, "docs/identity.md has a Python snippet"
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)  # noqa: S102 - our own documentation
    return namespace["chat_identity_token"]  # type: ignore[no-any-return]


def signed_with(algorithm: str, claims: dict[str, Any]) -> str:
    """A token the site's secret signs with another algorithm (or none at all)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)  # HS512 wants a longer key; beside the point
        return jwt.encode(claims, None if algorithm == "none" else IDENTITY_SECRET, algorithm=algorithm)


def exchange(api: Api, token: str, **headers: str) -> Any:
    return api.request("POST", "/api/auth/identity", json={"identity": token}, headers=headers)


def test_site_identity_from_the_documented_snippet(chat: ChatappProcess, anon: Api) -> None:
    sign = doc_signer()
    sub = f"site-user-{chat.port}-{time.time_ns()}"
    first = exchange(anon, sign(sub, "Ada Lovelace", f"ada{chat.port}@example.com", IDENTITY_SECRET))
    assert first.status_code == 200, first.text
    user = first.json()["user"]
    assert user["external_id"] == f"site:{sub}" and user["name"] == "Ada Lovelace" and user["role"] == "user"

    renamed = exchange(anon, sign(sub, "Ada King", f"ada{chat.port}@example.com", IDENTITY_SECRET)).json()
    assert renamed["user"]["id"] == user["id"] and renamed["user"]["name"] == "Ada King"

    me = Api(chat.base_url, renamed["token"])
    assert me.ok("GET", "/api/auth/me")["user"]["id"] == user["id"]
    assert me.send("hello from the site")["room"]["user_id"] == user["id"]


def test_bad_identity_tokens_are_refused(anon: Api) -> None:
    now = int(time.time())
    good = {"sub": "7", "name": "Eve", "exp": now + 600}
    header_none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"
    unsigned = sign_identity_token("x" * 20, good).split(".")
    cases = {
        "signature": sign_identity_token("a-different-secret-entirely", good),
        "expired": sign_identity_token(IDENTITY_SECRET, {**good, "exp": now - 120}),
        "not yet valid": sign_identity_token(IDENTITY_SECRET, {**good, "nbf": now + 300}),
        "in the future": sign_identity_token(IDENTITY_SECRET, {**good, "iat": now + 300}),
        "HS256": f"{header_none}.{unsigned[1]}.",
        "not 'HS512'": signed_with("HS512", good),
        "not 'none'": signed_with("none", good),
        "lives longer": sign_identity_token(IDENTITY_SECRET, {**good, "exp": now + 10 * 24 * 3600}),
        "'sub'": sign_identity_token(IDENTITY_SECRET, {"name": "x", "exp": now + 60}),
        "'exp'": sign_identity_token(IDENTITY_SECRET, {"sub": "1"}),
        "JWT": "not-a-jwt",
    }
    for reason, token in cases.items():
        response = exchange(anon, token)
        assert response.status_code == 401, (reason, response.text)
        body = response.json()
        assert body["error"] == "invalid_identity" and reason in body["message"], (reason, body)
    missing = anon.request("POST", "/api/auth/identity", json={})
    assert missing.status_code == 422 and missing.json()["error"] == "invalid_input"


def test_identity_audience_and_issuer_are_checked_when_configured(tmp_path: Path) -> None:
    env = {"CHATAPP_IDENTITY_AUDIENCE": "chat.shop.example", "CHATAPP_IDENTITY_ISSUER": "https://shop.example"}
    with chatapp_stack(f"sqlite:///{tmp_path / 'chat.sqlite3'}", tmp_path, env) as app:
        anon = Api(app.base_url)
        claims = {"sub": "77", "exp": int(time.time()) + 600, **{"aud": env["CHATAPP_IDENTITY_AUDIENCE"],
                                                                  "iss": env["CHATAPP_IDENTITY_ISSUER"]}}
        assert exchange(anon, sign_identity_token(IDENTITY_SECRET, claims)).status_code == 200
        cases = {
            "another audience": {**claims, "aud": "billing.shop.example"},
            "another issuer": {**claims, "iss": "https://evil.example"},
            "'aud' claim": {k: v for k, v in claims.items() if k != "aud"},
            "'iss' claim": {k: v for k, v in claims.items() if k != "iss"},
        }
        for reason, bad in cases.items():
            response = exchange(anon, sign_identity_token(IDENTITY_SECRET, bad))
            assert response.status_code == 401, (reason, response.text)
            assert response.json()["error"] == "invalid_identity" and reason in response.json()["message"], reason


def test_guest_conversation_moves_to_the_signed_in_user(chat: ChatappProcess, new_guest: Callable[..., Api]) -> None:
    guest = new_guest("Anonymous")
    room_id = guest.send("I started as a guest")["room"]["id"]
    token = sign_identity_token(IDENTITY_SECRET, {"sub": f"later-{time.time_ns()}", "exp": int(time.time()) + 60})
    response = exchange(Api(chat.base_url), token, Authorization=f"Bearer {guest.token}")
    assert response.status_code == 200 and response.json()["moved_rooms"] == 1
    member = Api(chat.base_url, response.json()["token"])
    room = member.ok("GET", "/api/chat/room")["room"]
    assert room["id"] == room_id
    history = member.ok("GET", f"/api/chat/rooms/{room_id}/messages")["data"]
    assert history[0]["body"] == "I started as a guest" and history[0]["user_id"] == member.ok("GET", "/api/auth/me")["user"]["id"]
    assert guest.get(f"/api/chat/rooms/{room_id}").status_code == 404, "the guest token no longer reaches it"


def test_register_and_login(chat: ChatappProcess, anon: Api, new_guest: Callable[..., Api]) -> None:
    email = f"Mia.{chat.port}.{time.time_ns()}@Example.com"
    guest = new_guest()
    guest_room = guest.send("before signing up")["room"]["id"]
    created = anon.request("POST", "/api/auth/register", json={"email": email, "password": "long enough",
                                                               "name": "Mia"}, headers=guest.headers())
    assert created.status_code == 201 and created.json()["user"]["email"] == email.lower()
    assert created.json()["moved_rooms"] == 1

    duplicate = anon.request("POST", "/api/auth/register", json={"email": email.lower(), "password": "long enough"})
    assert duplicate.status_code == 409 and duplicate.json()["error"] == "email_taken"
    for bad, field in (({"email": "nope", "password": "long enough"}, "email"),
                       ({"email": "a@b.example", "password": "short"}, "password"),
                       ({"email": "a@b.example", "password": "long enough", "name": ""}, "name")):
        response = anon.request("POST", "/api/auth/register", json=bad)
        assert response.status_code == 422 and response.json()["field"] == field

    wrong = anon.request("POST", "/api/auth/login", json={"email": email, "password": "wrong password"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_credentials"
    nobody = anon.request("POST", "/api/auth/login", json={"email": "ghost@example.test", "password": "whatever1"})
    assert nobody.status_code == 401 and nobody.json()["error"] == "invalid_credentials"
    login = anon.ok("POST", "/api/auth/login", {"email": email, "password": "long enough"})
    member = Api(chat.base_url, login["token"], login["user"])
    assert member.ok("GET", "/api/chat/rooms")["data"][0]["id"] == guest_room
