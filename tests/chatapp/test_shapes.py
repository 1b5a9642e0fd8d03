"""Request and response shapes (chatapp/shapes.py): bodies decode into them, errors name the field and
the rule, the OpenAPI components are theirs, and what the server really answers fits them."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import httpx
import jsonschema
import msgspec
import pytest

from chatapp import shapes
from chatapp.errors import BadRequest, ChatError
from chatapp.openapi import build_openapi, component_schemas, shape_named
from chatapp.routes import ENDPOINTS
from chatapp.validation import convert, decode
from tests.chatapp.procs import Api, ChatappProcess

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 50
_codes = itertools.count(1)


def error_of(raw: bytes, shape: type[msgspec.Struct]) -> dict[str, Any]:
    with pytest.raises(ChatError) as caught:
        decode(raw, shape)
    return caught.value.to_json() | {"status": caught.value.status}


# ------------------------------------------------------------------------------------------ decoding

def test_a_body_decodes_into_its_shape_and_unknown_fields_are_ignored() -> None:
    sent = decode(b'{"body": "hi", "room_id": 7, "idempotency_key": "k-1", "from_the_future": [1]}',
                  shapes.SendMessage)
    assert (sent.body, sent.room_id, sent.attachment_id, sent.idempotency_key) == ("hi", 7, None, "k-1")
    assert decode(b'{"body": null, "room_id": null}', shapes.SendMessage).room_id is None, "null: not given"
    assert decode(b"{}", shapes.Typing).is_typing is True
    assert msgspec.to_builtins(decode(b'{"body": "x"}', shapes.CannedReplyUpdate)) == {"body": "x"}


@pytest.mark.parametrize(
    ("shape", "raw", "field", "words"),
    [
        (shapes.SendMessage, b'{"body": 42}', "body", "'body' must be a string"),
        (shapes.SendMessage, b'{"room_id": "abc"}', "room_id", "'room_id' must be a positive integer id"),
        (shapes.SendMessage, b'{"room_id": 0}', "room_id", "'room_id' must be a positive integer id"),
        (shapes.SendMessage, b'{"room_id": true}', "room_id", "'room_id' must be a positive integer id"),
        (shapes.SendMessage, b'{"room_id": 1e400}', "room_id", "'room_id' must be a positive integer id"),
        (shapes.SendMessage, b'{"room_id": 99999999999999999999999}', "room_id", "positive integer id"),
        (shapes.SendMessage, b'{"idempotency_key": "has space"}', "idempotency_key", "printable ASCII"),
        (shapes.SendMessage, b'{"body": "nul \\u0000"}', "body", "'body' contains a NUL byte"),
        (shapes.Typing, b'{"is_typing": "yes"}', "is_typing", "'is_typing' must be true or false"),
        (shapes.Typing, b'{"is_typing": null}', "is_typing", "'is_typing' must be true or false"),
        (shapes.Priority, b'{"priority": "critical"}', "priority", "'priority' must be one of: normal, urgent"),
        (shapes.Priority, b"{}", "priority", "'priority' is required"),
        (shapes.Register, b'{"email": "a@b.test", "password": "short"}', "password", "8 to 256 characters"),
        (shapes.Note, b'{"mentions": [1, "a"]}', "mentions", "'mentions' must be a list of at most 20 items"),
        (shapes.PushSubscription, b'{"endpoint": "https://x", "keys": {"p256dh": "a"}}', "keys.auth",
         "'keys.auth' is required"),
        (shapes.PushSubscription, b'{"endpoint": "https://x", "keys": {"p256dh": "\\u0000", "auth": "a"}}',
         "keys.p256dh", "NUL byte"),
        (shapes.CannedReplyCreate, b'{"code": "x", "body": ""}', "body", "'body' must be a string of 1 to 2000"),
        (shapes.CannedReplyUpdate, b'{"scope": null}', "scope", "'scope' must be one of: personal, team"),
        (shapes.ChannelAuth, b'{"socket_id": "1.x", "channel_name": "c"}', "socket_id", "like '1234.5678'"),
    ],
)
def test_a_field_that_breaks_its_shape_is_named_with_its_rule(
    shape: type[msgspec.Struct], raw: bytes, field: str, words: str
) -> None:
    error = error_of(raw, shape)
    assert error["status"] == 422 and error["error"] == "invalid_input" and error["field"] == field, error
    assert words in error["message"], error


def test_limits_and_choices_travel_with_the_error() -> None:
    assert error_of(b'{"subject": "' + b"x" * 201 + b'"}', shapes.OpenRoom)["max_length"] == 200
    assert error_of(b'{"priority": 5}', shapes.Priority)["allowed"] == ["normal", "urgent"]


DEEP = b'{"unknown": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"  # fits in 64 KB


@pytest.mark.parametrize("raw", [b"[1, 2]", b"null", b'"text"', b"{", b"\xff", b'{"body": "\\ud800"}', DEEP])
def test_what_is_not_a_json_object_is_malformed(raw: bytes) -> None:
    error = error_of(raw, shapes.SendMessage)
    assert error["status"] == 400 and error["error"] == "malformed_json", error


def test_forms_are_checked_as_the_same_shapes() -> None:
    assert convert({"socket_id": "1.2", "channel_name": "private-chat.1"}, shapes.ChannelAuth).socket_id == "1.2"
    with pytest.raises(BadRequest, match="'channel_name' is required"):
        convert({"socket_id": "1.2"}, shapes.ChannelAuth)
    with pytest.raises(BadRequest, match="NUL byte"):
        convert({"socket_id": "1.2", "channel_name": "a\x00"}, shapes.ChannelAuth)


def test_every_example_is_a_valid_body() -> None:
    for shape in shapes.REQUEST_SHAPES:
        if shape.example is not None:
            decode(msgspec.json.encode(shape.example), shape)


# ------------------------------------------------------------------------------------------ OpenAPI

def test_the_routes_name_shapes_and_the_description_is_generated_from_them() -> None:
    for endpoint in ENDPOINTS:
        if endpoint.body:
            assert issubclass(shape_named(endpoint.body), shapes.Body), endpoint.path
        assert endpoint.response, f"{endpoint.method} {endpoint.path} says what it answers"
        if endpoint.response != "File":
            shape_named(endpoint.response)
    doc = build_openapi()
    schemas = doc["components"]["schemas"]
    assert schemas == component_schemas()
    assert schemas["Priority"] == {
        "type": "object", "properties": {"priority": {"enum": ["normal", "urgent"]}}, "required": ["priority"]
    }
    body = doc["paths"]["/api/chat/messages"]["post"]["requestBody"]
    assert body["required"] is True and body["content"]["application/json"]["example"] == shapes.SendMessage.example
    typing = doc["paths"]["/api/chat/rooms/{room_id}/typing"]["post"]["requestBody"]
    assert typing["required"] is False, "an empty body is allowed"
    auth = doc["paths"]["/broadcasting/auth"]["post"]["requestBody"]["content"]
    assert set(auth) == {"application/json", "application/x-www-form-urlencoded"}
    with pytest.raises(LookupError, match="NoSuchShape"):
        shape_named("NoSuchShape")


# ------------------------------------------------------------------------------------------ real responses

class Described:
    """Calls the live server; each answer must fit its route's response shape and documented schema."""

    def __init__(self) -> None:
        self.doc = build_openapi()
        self.routes = {(e.method, e.path): e for e in ENDPOINTS}
        self.checked: set[str] = set()

    def call(self, api: Api, method: str, route: str, path: str | None = None, json: Any = None,
             **kw: Any) -> Any:
        response: httpx.Response = api.request(method, path or route, json=json, **kw)
        endpoint = self.routes[(method, route)]
        assert response.status_code in (endpoint.ok, endpoint.extra.get("also")), response.text
        assert endpoint.response
        doc = response.json()
        self.fits(endpoint.response, doc)
        return doc

    def fits(self, name: str, doc: Any) -> None:
        msgspec.convert(doc, shape_named(name))
        schema = {"$ref": f"#/components/schemas/{name}", "components": self.doc["components"]}
        jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
        self.checked.add(name)


def test_real_responses_fit_their_shapes(chat: ChatappProcess, admin: Api,
                                         new_guest: Callable[..., Api]) -> None:
    d = Described()
    anon = Api(chat.base_url)
    d.call(anon, "GET", "/up")
    d.call(anon, "GET", "/api/config")
    d.call(anon, "GET", "/api/i18n", params={"prefer": "fr"})
    n = next(_codes)
    signed_up = d.call(anon, "POST", "/api/auth/register", json={"email": f"shape{n}@example.test",
                                                                 "password": "shape-password"})
    member = Api(chat.base_url, signed_up["token"], signed_up["user"])
    d.call(member, "GET", "/api/auth/me")
    d.call(member, "POST", "/api/auth/locale", json={"locale": "uk"})

    visitor = new_guest("Shape Visitor")
    d.call(visitor, "GET", "/api/chat/room")
    room = d.call(visitor, "POST", "/api/chat/room", json={"subject": "Shapes"})["room"]
    rid = room["id"]
    uploaded = d.call(visitor, "POST", "/api/chat/upload", files={"file": ("a.png", PNG, "image/png")})
    d.call(visitor, "POST", "/api/chat/messages", json={"body": "hello", "attachment_id": uploaded["attachment"]["id"]})
    d.call(visitor, "POST", "/api/chat/messages", json={"body": "again", "idempotency_key": f"shape-{n}"})
    d.call(visitor, "POST", "/api/chat/rooms/{room_id}/typing", f"/api/chat/rooms/{rid}/typing", json={})
    d.call(visitor, "GET", "/api/chat/rooms")
    d.call(visitor, "GET", "/api/chat/rooms", params={"before": rid + 1, "per_page": 1})  # keyset: next_before
    d.call(visitor, "GET", "/api/chat/rooms/{room_id}", f"/api/chat/rooms/{rid}")
    d.call(visitor, "GET", "/api/chat/unread")

    base = f"/api/admin/chat/rooms/{rid}"
    d.call(admin, "POST", "/api/admin/chat/rooms/{room_id}/messages", f"{base}/messages", json={"body": "hi!"})
    d.call(admin, "POST", "/api/admin/chat/rooms/{room_id}/notes", f"{base}/notes",
           json={"body": "note", "mentions": [admin.user["id"]]})
    d.call(admin, "POST", "/api/admin/chat/rooms/{room_id}/priority", f"{base}/priority", json={"priority": "urgent"})
    d.call(admin, "POST", "/api/admin/chat/rooms/{room_id}/read", f"{base}/read")
    d.call(admin, "POST", "/api/admin/chat/rooms/{room_id}/resolve", f"{base}/resolve")
    d.call(admin, "POST", "/api/admin/chat/rooms/{room_id}/reopen", f"{base}/reopen")
    d.call(admin, "POST", "/api/admin/chat/rooms/{room_id}/assign", f"{base}/assign",
           json={"expected_admin_id": admin.user["id"]})
    d.call(admin, "GET", "/api/admin/chat/rooms/{room_id}", base)
    d.call(admin, "GET", "/api/admin/chat/rooms/{room_id}/messages", f"{base}/messages", params={"after": 0})
    d.call(admin, "GET", "/api/admin/chat/rooms", params={"filter": "all"})
    d.call(admin, "GET", "/api/admin/chat/stats")
    d.call(admin, "GET", "/api/admin/status")
    d.call(admin, "GET", "/api/admin/lockouts")
    d.call(admin, "GET", "/api/admin/admins")
    reply = d.call(admin, "POST", "/api/admin/canned-replies",
                   json={"code": f"shape-{n}", "body": "Hi {{visitor.name}}", "scope": "personal"})["reply"]
    d.call(admin, "PATCH", "/api/admin/canned-replies/{reply_id}", f"/api/admin/canned-replies/{reply['id']}",
           json={"scope": "team"})
    d.call(admin, "GET", "/api/admin/canned-replies")
    d.call(admin, "DELETE", "/api/admin/canned-replies/{reply_id}", f"/api/admin/canned-replies/{reply['id']}")

    history = d.call(visitor, "GET", "/api/chat/rooms/{room_id}/messages", f"/api/chat/rooms/{rid}/messages")
    assert any(m["system"] for m in history["data"]), "system messages are among them"
    assert any(m["attachment"] for m in history["data"]), "and a message with an attachment"
    d.call(visitor, "POST", "/api/chat/rooms/{room_id}/read", f"/api/chat/rooms/{rid}/read")
    d.call(visitor, "POST", "/api/chat/rooms/{room_id}/close", f"/api/chat/rooms/{rid}/close")
    d.call(member, "POST", "/api/auth/logout")

    d.call(admin, "GET", "/api/admin/agents")
    d.call(admin, "GET", "/api/admin/routing")
    d.call(admin, "GET", "/api/admin/queue")
    leaving = new_guest("Leaving")
    leaving.send("please forget me")
    d.call(leaving, "DELETE", "/api/chat/me")
    erased = new_guest("Erased")
    erased.send("erase me")
    d.call(admin, "DELETE", "/api/admin/contacts/{user_id}", f"/api/admin/contacts/{erased.user['id']}")
    assert d.call(admin, "GET", "/api/admin/audit", params={"limit": 5})["data"], "the erase is in the audit log"
    report = d.call(admin, "GET", "/api/admin/reports", params={"tz": "Europe/Paris"})["report"]
    assert report["overall"]["conversations"] >= 1 and report["agents"], "the chats above are in the report"

    refused = visitor.post("/api/chat/messages", {"body": 42})
    assert refused.status_code == 422
    d.fits("Error", refused.json())
    assert {"TokenResponse", "SentEnvelope", "AdminSentEnvelope", "NoteEnvelope", "MessagePage", "AdminRoomDetail",
            "AdminRoomPage", "RoomPage", "ReadReceipt", "OperatorStatus", "Catalogue", "ClientConfig", "AgentList",
            "RoutingEnvelope", "QueuePage", "Erased", "AuditPage", "ReportEnvelope"} <= d.checked
