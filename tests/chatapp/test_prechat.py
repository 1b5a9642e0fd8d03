"""The pre-chat form over HTTP, on SQLite and PostgreSQL: the owner and admins set it (agents
read it), the widget is told whether it is on, a visitor's answers are checked field by field
and kept on their contact, and the panel reads them in the agent's language.

The form is site-wide, so every test that sets it leaves it off and empty.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chatapp.identity import sign_identity_token
from tests.chatapp.procs import IDENTITY_SECRET, Api, ChatappProcess
from tests.chatapp.test_shapes import Described
from tests.chatapp.test_team import sql, staff

ROUTE = "/api/admin/prechat"
FORM = [
    {"type": "name", "required": True},
    {"type": "email", "required": False},
    {"type": "select", "key": "topic", "label": {"en": "Topic", "fr": "Sujet", "uk": "Тема"}, "required": True,
     "options": [{"value": "billing", "label": {"en": "Billing", "fr": "Facturation", "uk": "Оплата"}},
                 {"value": "other", "label": "Other"}]},
    {"type": "number", "key": "order", "label": "Order number"},
    {"type": "checkbox", "key": "terms", "label": {"en": "I accept the terms", "fr": "J\u2019accepte les conditions"},
     "required": True},
    {"type": "text", "key": "company", "label": "Company"},
]


@pytest.fixture
def prechat(admin: Api) -> Iterator[Callable[..., dict[str, Any]]]:
    def put(fields: list[dict[str, Any]] | None = None, enabled: bool = True) -> dict[str, Any]:
        return admin.ok("PUT", ROUTE, {"enabled": enabled, "fields": FORM if fields is None else fields})["prechat"]  # type: ignore[no-any-return]

    yield put
    admin.ok("PUT", ROUTE, {"enabled": False, "fields": []})


def identified(chat: ChatappProcess, name: str, email: str) -> Api:
    now = int(time.time())
    claims = {"sub": f"prechat-{chat.port}-{time.time_ns()}", "name": name, "email": email, "iat": now,
              "exp": now + 600}
    doc = Api(chat.base_url).ok("POST", "/api/auth/identity",
                                {"identity": sign_identity_token(IDENTITY_SECRET, claims)})
    return Api(chat.base_url, doc["token"], doc["user"])


def test_the_form_is_set_by_admins_read_by_agents_and_audited(
    chat: ChatappProcess, admin: Api, anon: Api, prechat: Callable[..., Any],
) -> None:
    assert admin.ok("GET", ROUTE)["prechat"] == {"enabled": False, "fields": []}
    assert anon.ok("GET", "/api/config")["features"]["prechat"] is False
    saved = prechat()
    assert [f["key"] for f in saved["fields"]] == ["name", "email", "topic", "order", "terms", "company"]
    assert saved["fields"][0] == {"type": "name", "key": "name", "label": None, "required": True, "options": []}
    assert saved["fields"][2]["options"][1] == {"value": "other", "label": "Other"}
    assert admin.ok("GET", ROUTE)["prechat"] == saved
    assert anon.ok("GET", "/api/config")["features"]["prechat"] is True
    logged = admin.ok("GET", "/api/admin/audit", params={"limit": 5})["data"]
    assert any(e["action"] == "prechat.set" and e["actor"]["id"] == admin.id and e["details"] == {
        "enabled": True, "fields": ["name", "email", "topic", "order", "terms", "company"]} for e in logged), logged

    agent = staff(chat, "agent")
    assert agent.ok("GET", ROUTE)["prechat"] == saved
    refused = agent.request("PUT", ROUTE, {"enabled": False, "fields": []})
    assert refused.status_code == 403 and refused.json()["error"] == "manager_only"
    assert anon.request("GET", ROUTE).status_code == 401


@pytest.mark.parametrize(("fields", "field"), [
    ([{"type": "text", "label": "No key"}], "fields[0].key"),
    ([{"type": "text", "key": "Bad Key", "label": "x"}], "fields[0].key"),
    ([{"type": "text", "key": "email", "label": "x"}], "fields[0].key"),
    ([{"type": "text", "key": "plan"}], "fields[0].label"),
    ([{"type": "text", "key": "plan", "label": {"de": "Tarif"}}], "fields[0].label"),
    ([{"type": "select", "key": "plan", "label": "Plan"}], "fields[0].options"),
    ([{"type": "select", "key": "plan", "label": "Plan", "options": [{"value": "a"}, {"value": "a"}]}],
     "fields[0].options[1].value"),
    ([{"type": "name"}, {"type": "name"}], "fields[1].key"),
    ([{"type": "text", "key": f"f{n}", "label": "x"} for n in range(11)], "fields"),
    ([{"type": "date", "key": "when", "label": "When"}], "fields[0].type"),
    ([], "fields"),
])
def test_bad_forms_are_422_naming_the_field(admin: Api, fields: list[dict[str, Any]], field: str) -> None:
    response = admin.request("PUT", ROUTE, {"enabled": True, "fields": fields})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field, response.json()
    assert admin.ok("GET", ROUTE)["prechat"]["enabled"] is False  # nothing was kept


def test_a_guest_is_asked_every_field_in_their_language(new_guest: Callable[..., Api],
                                                        prechat: Callable[..., Any]) -> None:
    prechat()
    visitor = new_guest("Guest")
    form = visitor.ok("GET", "/api/chat/prechat", params={"prefer": "fr-FR,fr"})
    assert form["enabled"] is True and form["done"] is False and form["locale"] == "fr"
    assert [(f["key"], f["label"], f["required"]) for f in form["fields"]] == [
        ("name", "Votre nom", True), ("email", "Votre e-mail", False), ("topic", "Sujet", True),
        ("order", "Order number", False), ("terms", "J\u2019accepte les conditions", True),
        ("company", "Company", False),
    ]
    assert form["fields"][2]["options"] == [{"value": "billing", "label": "Facturation"},
                                            {"value": "other", "label": "Other"}]
    assert form["fields"][0]["value"] == "Guest"
    assert new_guest("Visitor").ok("GET", "/api/chat/prechat")["fields"][0]["value"] == ""  # the default name


def test_answers_are_checked_field_by_field(new_guest: Callable[..., Api], prechat: Callable[..., Any]) -> None:
    prechat()
    visitor = new_guest("Guest")
    bad = visitor.post("/api/chat/prechat", {"answers": {
        "name": " ", "email": "not-an-address", "topic": "refunds", "order": "twelve", "terms": False,
        "colour": "blue"}})
    assert bad.status_code == 422, bad.text
    doc = bad.json()
    assert doc["error"] == "invalid_input"
    assert doc["problems"] == {"colour": "unknown", "name": "required", "email": "email", "topic": "option",
                               "order": "number", "terms": "required"}
    assert set(doc["fields"]) == set(doc["problems"]) and "'topic' (option)" in doc["message"]
    long = visitor.post("/api/chat/prechat", {"answers": {"name": "x" * 101, "topic": "other", "terms": True}})
    assert long.status_code == 422 and long.json()["problems"] == {"name": "length"}
    assert visitor.post("/api/chat/prechat", {"answers": "yes"}).status_code == 422
    assert visitor.post("/api/chat/prechat", {}).status_code == 422
    assert visitor.ok("GET", "/api/chat/prechat")["done"] is False  # nothing was kept


def test_a_first_message_needs_the_required_answers(new_guest: Callable[..., Api],
                                                  prechat: Callable[..., Any]) -> None:
    """The widget asks first; any other client is held to the form by the server too."""
    prechat([{"type": "name", "required": True}, {"type": "text", "key": "company", "label": "Company"}])
    visitor = new_guest("Guest")
    for refused in (visitor.post("/api/chat/messages", {"body": "hello"}),
                    visitor.post("/api/chat/room", {}),
                    visitor.request("POST", "/api/chat/upload", files={"file": ("a.txt", b"hello", "text/plain")})):
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "prechat_required" and refused.json()["fields"] == ["name"]
    assert visitor.ok("GET", "/api/chat/room")["room"] is None  # no chat was made
    # the offline form asks its own questions: it is not held to this one
    left = visitor.post("/api/chat/offline", {"name": "Ana", "email": "ana@example.com", "message": "call me"})
    assert left.status_code in (200, 201), left.text

    answered = new_guest("Guest")
    answered.ok("POST", "/api/chat/prechat", {"answers": {"name": "Bo"}})
    assert answered.send("hello")["room"]["status"] == "open"  # optional fields left empty are not owed


def test_answers_are_kept_on_the_contact_and_shown_to_the_agent(
    chat: ChatappProcess, new_guest: Callable[..., Api], admin: Api, prechat: Callable[..., Any],
) -> None:
    prechat()
    visitor = new_guest("Guest")
    answers = {"name": " Camille Martin ", "email": "Camille@Example.com", "topic": "billing", "order": "1042",
               "terms": True, "company": ""}
    done = visitor.ok("POST", "/api/chat/prechat", {"answers": answers}, params={"prefer": "fr"})
    assert done["done"] is True and done["fields"][0]["value"] == "Camille Martin"
    me = visitor.ok("GET", "/api/auth/me")["user"]
    assert me["name"] == "Camille Martin" and me["email"] == "camille@example.com" and not me["email_verified"]
    room = visitor.send("Bonjour")["room"]  # the first message makes the chat as usual

    agent = staff(chat, "agent")
    agent.ok("POST", "/api/auth/locale", {"locale": "uk"})
    detail = agent.ok("GET", f"/api/admin/chat/rooms/{room['id']}")
    assert detail["room"]["user"]["name"] == "Camille Martin"
    assert detail["prechat"] == [
        {"key": "topic", "label": "Тема", "type": "select", "value": "billing", "text": "Оплата"},
        {"key": "order", "label": "Order number", "type": "number", "value": "1042", "text": "1042"},
        {"key": "terms", "label": "I accept the terms", "type": "checkbox", "value": "true", "text": "true"},
    ]  # an empty optional answer is not kept; labels in the agent's language, else English
    assert admin.ok("GET", f"/api/admin/chat/rooms/{room['id']}")["prechat"][0]["label"] == "Topic"

    # the contact's export holds the answers; erasing the contact removes them
    archive = zipfile.ZipFile(io.BytesIO(admin.get(f"/api/admin/contacts/{me['id']}/export").content))
    exported = json.loads(archive.read("contact.json"))
    assert exported["prechat"]["answers"] == [
        {"key": "order", "value": "1042", "updated_at": exported["prechat"]["answers"][0]["updated_at"]},
        {"key": "terms", "value": "true", "updated_at": exported["prechat"]["answers"][1]["updated_at"]},
        {"key": "topic", "value": "billing", "updated_at": exported["prechat"]["answers"][2]["updated_at"]},
    ]
    assert exported["prechat"]["sent_at"] is not None
    admin.ok("DELETE", f"/api/admin/contacts/{me['id']}")
    left = sql(chat, "SELECT COUNT(*) AS n FROM contact_attributes WHERE user_id = ?", me["id"])
    assert left["n"] == 0


def test_a_verified_address_is_kept_and_known_fields_are_not_asked(
    chat: ChatappProcess, prechat: Callable[..., Any], admin: Api,
) -> None:
    prechat()
    email = f"ada-{chat.port}-{time.time_ns()}@example.com"
    visitor = identified(chat, "Ada Lovelace", email)
    form = visitor.ok("GET", "/api/chat/prechat")
    assert [f["key"] for f in form["fields"]] == ["topic", "order", "terms", "company"]  # name and e-mail known
    # answering a known field is refused, as any field the form does not ask
    sneaky = visitor.post("/api/chat/prechat", {"answers": {"email": "other@example.com", "topic": "other",
                                                            "terms": True}})
    assert sneaky.status_code == 422 and sneaky.json()["problems"] == {"email": "unknown"}
    visitor.ok("POST", "/api/chat/prechat", {"answers": {"topic": "other", "terms": True}})
    me = visitor.ok("GET", "/api/auth/me")["user"]
    assert me["email"] == email and me["email_verified"] is True and me["name"] == "Ada Lovelace"

    # a guest with a verified address is impossible; a signed-up account's unverified one is replaced
    prechat([{"type": "email", "required": True}])
    guest = Api(chat.base_url, *_guest(chat))
    guest.ok("POST", "/api/chat/prechat", {"answers": {"email": "first@example.com"}})
    guest.ok("POST", "/api/chat/prechat", {"answers": {"email": "second@example.com"}})
    assert guest.ok("GET", "/api/auth/me")["user"]["email"] == "second@example.com"


def _guest(chat: ChatappProcess) -> tuple[str, dict[str, Any]]:
    doc = Api(chat.base_url).ok("POST", "/api/auth/guest", {"name": "Guest"})
    return doc["token"], doc["user"]


def test_a_form_that_is_off_is_not_asked(new_guest: Callable[..., Api], prechat: Callable[..., Any]) -> None:
    prechat(enabled=False)
    visitor = new_guest()
    assert visitor.ok("GET", "/api/chat/prechat") == {"enabled": False, "done": False, "fields": [], "locale": "en"}
    off = visitor.post("/api/chat/prechat", {"answers": {"name": "Ana"}})
    assert off.status_code == 409 and off.json()["error"] == "prechat_off"


def test_the_answers_fit_their_shapes(new_guest: Callable[..., Api], admin: Api, prechat: Callable[..., Any]) -> None:
    d = Described()
    prechat()
    d.call(admin, "GET", ROUTE)
    d.call(admin, "PUT", ROUTE, json={"enabled": True, "fields": FORM})
    visitor = new_guest("Shape")
    d.call(visitor, "GET", "/api/chat/prechat", params={"prefer": "uk"})
    d.call(visitor, "POST", "/api/chat/prechat", json={"answers": {"name": "Ana", "topic": "other", "terms": True,
                                                                   "order": 12.5}})
    room = visitor.send("hi")["room"]
    detail = d.call(admin, "GET", "/api/admin/chat/rooms/{room_id}", f"/api/admin/chat/rooms/{room['id']}")
    assert [a["value"] for a in detail["prechat"]] == ["other", "12.5", "true"]
    refused = visitor.post("/api/chat/prechat", {"answers": {"name": ""}})
    assert refused.status_code == 422
    d.fits("Error", refused.json())
