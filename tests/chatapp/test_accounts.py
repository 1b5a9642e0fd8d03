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


def sign_up(api: Api, email: str, password: str) -> Any:
    return api.request("POST", "/api/auth/register", json={"email": email, "password": password})


def test_sign_up_does_not_reveal_which_addresses_have_accounts(chat: ChatappProcess, anon: Api) -> None:
    taken = f"owner.{chat.port}.{time.time_ns()}@example.com"
    owner = sign_up(anon, taken, "the owner's password")
    assert owner.status_code == 201, owner.text
    fresh = sign_up(anon, f"nobody.{time.time_ns()}@example.com", "a squatter's password")
    squatter = sign_up(anon, taken.upper(), "a squatter's password")
    assert squatter.status_code == fresh.status_code == 201, squatter.text
    shape = lambda doc: {k: sorted(v) if isinstance(v, dict) else type(v).__name__ for k, v in doc.items()}  # noqa: E731
    assert shape(squatter.json()) == shape(fresh.json()), "an address in use answers exactly like a new one"
    assert squatter.json()["user"]["email"] == taken and squatter.json()["user"]["email_verified"] is False
    assert squatter.json()["user"]["id"] != owner.json()["user"]["id"], "the owner's account is not touched"

    signed_in = anon.ok("POST", "/api/auth/login", {"email": taken, "password": "the owner's password"})
    assert signed_in["user"]["id"] == owner.json()["user"]["id"]
    theirs = anon.ok("POST", "/api/auth/login", {"email": taken, "password": "a squatter's password"})
    assert theirs["user"]["id"] == squatter.json()["user"]["id"]
    for _ in range(3):  # more sign-ups with the address cannot push the owner out of reach
        assert sign_up(anon, taken, f"probe {time.time_ns()}").status_code == 201
    assert anon.ok("POST", "/api/auth/login", {"email": taken, "password": "the owner's password"})["user"]["id"] \
        == owner.json()["user"]["id"]


def test_an_unverified_sign_up_is_never_made_an_admin(chat: ChatappProcess, anon: Api) -> None:
    email = f"support.{chat.port}.{time.time_ns()}@example.com"
    squatter = Api(chat.base_url, sign_up(anon, email, "squatter password").json()["token"])
    result = chat.cli("create-admin", "--email", email, "--name", "Real Admin", "--password", "admin password 1")
    assert "created admin" in result.stdout, result.stdout
    assert squatter.ok("GET", "/api/auth/me")["user"]["role"] == "user"
    admin = anon.ok("POST", "/api/auth/login", {"email": email, "password": "admin password 1"})["user"]
    assert admin["role"] == "admin" and admin["email_verified"] is True
    again = chat.cli("create-admin", "--email", email, "--password", "admin password 2")
    assert f"(id {admin['id']}) is an admin" in again.stdout, "the verified admin is the one updated"


def test_a_site_identity_gets_its_address_even_when_someone_signed_up_with_it(chat: ChatappProcess,
                                                                              anon: Api) -> None:
    email = f"site.{chat.port}.{time.time_ns()}@example.com"
    assert sign_up(anon, email, "squatter password").status_code == 201
    token = sign_identity_token(IDENTITY_SECRET, {"sub": f"s-{time.time_ns()}", "email": email,
                                                  "exp": int(time.time()) + 60})
    user = exchange(anon, token).json()["user"]
    assert user["email"] == email and user["email_verified"] is True


def test_admins_see_whether_a_visitors_email_is_verified(chat: ChatappProcess, admin: Api, anon: Api) -> None:
    signed_up = Api(chat.base_url, sign_up(anon, f"typed.{time.time_ns()}@example.com", "a password").json()["token"])
    token = sign_identity_token(IDENTITY_SECRET, {"sub": f"v-{time.time_ns()}", "email": f"v{time.time_ns()}@shop.test",
                                                  "exp": int(time.time()) + 60})
    site_user = Api(chat.base_url, exchange(anon, token).json()["token"])
    for visitor, verified in ((signed_up, False), (site_user, True)):
        room_id = visitor.send("hello")["room"]["id"]
        assert admin.ok("GET", f"/api/admin/chat/rooms/{room_id}")["room"]["user"]["email_verified"] is verified
        listed = admin.ok("GET", "/api/admin/chat/rooms", params={"filter": "all", "per_page": 100})["data"]
        assert [r["user"]["email_verified"] for r in listed if r["id"] == room_id] == [verified]


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

    assert created.json()["user"]["email_verified"] is False, "a sign-up proves nothing about the address"
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
