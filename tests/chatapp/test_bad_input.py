"""Bad input gets a clear JSON error, and nothing already stored is lost or corrupted."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest

from tests.chatapp.procs import Api, ChatappProcess, admin_api, guest_api

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 50
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256))


def error_of(response: httpx.Response, status: int, code: str | None = None) -> dict[str, object]:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    body = response.json()
    assert isinstance(body["message"], str) and body["message"]
    if code:
        assert body["error"] == code, body
    return body  # type: ignore[no-any-return]


@pytest.fixture
def visitor(new_guest: Callable[..., Api]) -> Api:
    api = new_guest("Careful Carla")
    api.send("first, valid message")
    return api


def stored(api: Api) -> list[dict[str, object]]:
    room = api.ok("GET", "/api/chat/room")["room"]
    return api.ok("GET", f"/api/chat/rooms/{room['id']}/messages", params={"limit": 100})["data"]  # type: ignore[no-any-return]


def test_message_content_rules(visitor: Api) -> None:
    before = stored(visitor)
    error_of(visitor.post("/api/chat/messages", {"body": ""}), 422, "message_empty")
    error_of(visitor.post("/api/chat/messages", {"body": " \n\t "}), 422, "message_empty")
    error_of(visitor.post("/api/chat/messages", {}), 422, "message_empty")
    too_long = error_of(visitor.post("/api/chat/messages", {"body": "x" * 5001}), 422)
    assert too_long["max_length"] == 5000 and "5000" in str(too_long["message"])
    error_of(visitor.post("/api/chat/messages", {"body": 42}), 422, "invalid_input")
    error_of(visitor.post("/api/chat/messages", {"body": "nul \x00 byte"}), 422, "invalid_input")
    error_of(visitor.post("/api/chat/messages", {"body": "hi", "room_id": "abc"}), 422, "invalid_input")
    error_of(visitor.post("/api/chat/messages", {"body": "hi", "attachment_id": 99999999}), 422, "attachment_not_found")
    assert stored(visitor) == before, "rejected messages leave no trace"

    exact = visitor.send("é" * 5000)
    assert len(exact["message"]["body"]) == 5000, "the limit counts characters, not bytes"
    unicode = visitor.send("Привіт 👋 <script>alert(1)</script> ' OR 1=1 --")
    assert stored(visitor)[-1]["body"] == unicode["message"]["body"]


def test_malformed_requests(visitor: Api) -> None:
    raw = visitor.http
    auth = visitor.headers()
    error_of(raw.post("/api/chat/messages", content=b"{not json", headers={**auth, "Content-Type": "application/json"}),
             400, "malformed_json")
    error_of(raw.post("/api/chat/messages", content=b"[1, 2]", headers={**auth, "Content-Type": "application/json"}),
             400, "malformed_json")
    error_of(raw.post("/api/chat/messages", content=b"body=hi", headers={**auth, "Content-Type": "text/plain"}), 415)
    error_of(raw.post("/api/chat/messages", content=b'{"body": "' + b"x" * 70_000 + b'"}',
                      headers={**auth, "Content-Type": "application/json"}), 413, "too_large")
    error_of(raw.get("/api/chat/rooms/1/messages", params={"before": "-1"}, headers=auth), 422)
    error_of(raw.get("/api/chat/rooms/1/messages", params={"before": "5", "after": "1"}, headers=auth), 422)
    error_of(raw.get("/api/chat/rooms", params={"per_page": "1000"}, headers=auth), 422)
    error_of(raw.get("/api/chat/nope", headers=auth), 404, "not_found")
    error_of(raw.put("/api/chat/messages", headers=auth), 405, "method_not_allowed")
    error_of(raw.get("/api/chat/room", headers={"Authorization": "Bearer not-a-token"}), 401, "invalid_token")
    error_of(raw.get("/api/chat/room", headers={"Authorization": "Basic Zm9vOmJhcg=="}), 401, "unauthenticated")
    error_of(raw.post("/api/chat/messages", json={"body": "x"}, headers={**auth, "X-Socket-ID": "nope"}), 422)


def test_unknown_rooms(visitor: Api, admin: Api) -> None:
    for path in ("/api/chat/rooms/999999999", "/api/chat/rooms/999999999/messages",
                 f"/api/chat/rooms/{2**70}/messages"):
        error_of(visitor.get(path), 404)
    error_of(visitor.post("/api/chat/messages", {"body": "hi", "room_id": 999999999}), 404, "room_not_found")
    error_of(admin.get("/api/admin/chat/rooms/999999999"), 404, "room_not_found")
    error_of(admin.post("/api/admin/chat/rooms/999999999/messages", {"body": "hi"}), 404, "room_not_found")
    error_of(admin.post("/api/admin/chat/rooms/999999999/resolve"), 404, "room_not_found")
    error_of(admin.get("/api/admin/chat/rooms", params={"filter": "everything"}), 422)
    error_of(admin.get("/api/admin/chat/rooms", params={"page": "0"}), 422)


def test_wrong_state_transitions(visitor: Api, admin: Api) -> None:
    room_id = visitor.ok("GET", "/api/chat/room")["room"]["id"]
    base = f"/api/admin/chat/rooms/{room_id}"
    error_of(admin.post(f"{base}/reopen"), 409, "invalid_state")
    error_of(admin.post(f"{base}/unassign"), 409, "invalid_state")
    error_of(admin.post(f"{base}/priority", {"priority": "critical"}), 422, "invalid_input")
    admin.ok("POST", f"{base}/close")
    history = f"/api/chat/rooms/{room_id}/messages"
    before = visitor.ok("GET", history, params={"limit": 100})["data"]

    reply = error_of(admin.post(f"{base}/messages", {"body": "too late"}), 409, "invalid_state")
    assert reply["status"] == "closed"
    error_of(visitor.post("/api/chat/messages", {"body": "hello?", "room_id": room_id}), 409, "invalid_state")
    error_of(admin.post(f"{base}/resolve"), 409, "invalid_state")
    error_of(admin.post(f"{base}/close"), 409, "invalid_state")
    error_of(admin.post(f"{base}/assign", {}), 409, "invalid_state")
    error_of(admin.post(f"{base}/priority", {"priority": "urgent"}), 409, "invalid_state")
    error_of(admin.post(f"{base}/typing", {"is_typing": True}), 409, "invalid_state")
    error_of(visitor.post(f"/api/chat/rooms/{room_id}/close"), 409, "invalid_state")
    assert visitor.ok("GET", history, params={"limit": 100})["data"] == before


def test_idempotency_key_stores_one_message(visitor: Api) -> None:
    first = visitor.request("POST", "/api/chat/messages", json={"body": "pay invoice #7", "idempotency_key": "k-1"})
    again = visitor.request("POST", "/api/chat/messages", json={"body": "pay invoice #7", "idempotency_key": "k-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["message"]["id"] == first.json()["message"]["id"] and again.json()["created"] is False
    header = visitor.request("POST", "/api/chat/messages", json={"body": "pay invoice #7"},
                             headers={"Idempotency-Key": "k-1"})
    assert header.json()["message"]["id"] == first.json()["message"]["id"]
    reused = error_of(visitor.post("/api/chat/messages", {"body": "something else", "idempotency_key": "k-1"}),
                      409, "idempotency_key_reused")
    assert reused["message_id"] == first.json()["message"]["id"]
    error_of(visitor.post("/api/chat/messages", {"body": "x", "idempotency_key": "has space"}), 422)

    # Ten concurrent retries of one send store one message.
    results: list[int] = []

    def retry() -> None:
        r = visitor.http.post("/api/chat/messages", json={"body": "double click", "idempotency_key": "k-2"},
                              headers=visitor.headers())
        results.append(r.json()["message"]["id"])

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and len(results) == 8
    bodies = [m["body"] for m in stored(visitor)]
    assert bodies.count("double click") == 1 and bodies.count("pay invoice #7") == 1


def test_flood_is_rate_limited(new_guest: Callable[..., Api]) -> None:
    flooder = new_guest("Flooder")
    statuses = [flooder.post("/api/chat/messages", {"body": f"spam {i}"}) for i in range(24)]
    accepted = [r for r in statuses if r.status_code == 201]
    limited = [r for r in statuses if r.status_code == 429]
    assert len(accepted) == 20 and len(limited) == 4
    body = error_of(limited[0], 429, "rate_limited")
    assert int(limited[0].headers["Retry-After"]) >= 1 and body["retry_after"] >= 1
    assert [m["body"] for m in stored(flooder)] == [f"spam {i}" for i in range(20)]
    # Another visitor is not affected by the flooder's limit.
    assert new_guest().post("/api/chat/messages", {"body": "calm"}).status_code == 201
    # Typing updates have their own, larger allowance (60 per 10 s by default).
    room_id = stored(flooder)[0]["room_id"]
    typing = [flooder.post(f"/api/chat/rooms/{room_id}/typing", {"is_typing": i % 2 == 0}).status_code
              for i in range(62)]
    assert typing.count(200) == 60 and typing[-2:] == [429, 429]


def upload(api: Api, name: str, data: bytes, mime: str = "application/octet-stream", **form: str) -> httpx.Response:
    return api.request("POST", "/api/chat/upload", files={"file": (name, data, mime)}, data=form)


def test_uploads_are_checked_by_content(visitor: Api, new_guest: Callable[..., Api]) -> None:
    error_of(upload(visitor, "big.png", PNG + b"\x00" * 300_001), 413, "too_large")
    error_of(upload(visitor, "photo.png", PDF, "image/png"), 415, "content_mismatch")
    error_of(upload(visitor, "invoice.pdf", EXE, "application/pdf"), 415, "unsupported_media_type")
    error_of(upload(visitor, "setup.exe", EXE), 415, "unsupported_media_type")
    error_of(upload(visitor, "notes.txt", b"<html><script>alert(1)</script></html>", "text/plain"), 415)
    error_of(upload(visitor, "page.html", b"just words"), 415, "content_mismatch")
    error_of(upload(visitor, "empty.png", b""), 422)
    error_of(visitor.request("POST", "/api/chat/upload", files={"other": ("a.png", PNG, "image/png")}), 422)
    error_of(visitor.request("POST", "/api/chat/upload", content=b"raw", headers={"Content-Type": "image/png"}), 415)

    ok = upload(visitor, "../../etc/My Photo.PNG", PNG, "text/html")
    assert ok.status_code == 201, ok.text
    attachment = ok.json()["attachment"]
    assert attachment["content_type"] == "image/png" and attachment["name"] == "My Photo.PNG"
    stored_name = attachment["url"].rsplit("/", 1)[1]
    assert "Photo" not in stored_name and stored_name.endswith(".png") and len(stored_name) > 30
    assert ok.json()["url"] == attachment["url"]

    served = visitor.get(f"/api/chat/files/{stored_name}")
    assert served.status_code == 200 and served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]
    text = upload(visitor, "log.txt", "plain text, ünïcode\n".encode())
    served_text = visitor.get(f"/api/chat/files/{text.json()['attachment']['url'].rsplit('/', 1)[1]}")
    assert served_text.headers["content-disposition"].startswith("attachment")

    error_of(new_guest().get(f"/api/chat/files/{stored_name}"), 404, "file_not_found")
    error_of(visitor.get("/api/chat/files/..%2F..%2Fetc%2Fpasswd"), 404)
    error_of(visitor.get("/api/chat/files/nope.png"), 404)

    # A message can carry the upload; the attachment must belong to the same room.
    sent = visitor.send("", attachment_id=attachment["id"])
    assert sent["message"]["attachment"]["id"] == attachment["id"] and sent["room"]["last_message_preview"]
    other = new_guest()
    other.send("my own room")
    error_of(other.post("/api/chat/messages", {"body": "steal", "attachment_id": attachment["id"]}), 422,
             "attachment_not_found")


JUNK_BODIES = [
    b"", b"null", b"[]", b"\"text\"", b"{", b"\xff\xfe\x00", b'{"body": null}', b'{"body": {"x": 1}}',
    b'{"body": "x", "room_id": 1e400}', b'{"body": "x", "room_id": -1}', b'{"body": "\\ud800"}',
    b'{"body": "x", "room_id": 99999999999999999999999}', b'{"is_typing": "yes", "priority": 5, "admin_id": true}',
    b'{"socket_id": 1, "channel_name": ["a"], "endpoint": 5, "keys": "k", "identity": 7, "email": 1}',
]
JUNK_QUERY = {"page": "abc", "per_page": "-1", "before": "1e5", "after": "x", "limit": "0", "filter": "../", "q": "\x00"}


# Routes that may sign their caller out, or spend a per-user allowance other suites count on.
OWN_CALLERS = {"/api/auth/logout", "/api/auth/logout-all", "/api/auth/password", "/api/push/subscriptions"}


@pytest.mark.slow  # every route with junk: 5 s; in `make test`, not in test-fast
def test_no_endpoint_fails_on_junk(chat: ChatappProcess, admin: Api, visitor: Api) -> None:
    """Every route answers junk with a 4xx JSON error, never a 500 (what a fuzzer would try first).

    Routes that may sign their caller out or use up a per-user limit get callers made for them, so the
    shared admin stays signed in and keeps its allowance.
    """
    from chatapp.routes import ENDPOINTS

    room_id = visitor.ok("GET", "/api/chat/room")["room"]["id"]
    reply = admin.ok("POST", "/api/admin/canned-replies", {"code": f"junk-{room_id}", "body": "x", "scope": "personal"})
    failures = []
    for endpoint in ENDPOINTS:
        if endpoint.path in OWN_CALLERS:
            own_visitor, own_admin = guest_api(chat), admin_api(chat, "junk-admin-password")
            callers = {"admin": [own_admin], "visitor": [own_visitor]}.get(endpoint.auth, [own_visitor, own_admin])
        else:
            callers = {"admin": [admin], "visitor": [visitor]}.get(endpoint.auth, [visitor, admin])
        for room in (str(room_id), str(2**63), "0") if "{room_id}" in endpoint.path else ("",):
            path = endpoint.path.replace("{room_id}", room).replace("{name}", "..%00.png")
            path = path.replace("{reply_id}", str(reply["reply"]["id"]))
            bodies = JUNK_BODIES if room in ("", str(room_id)) else [b"{}"]
            for caller in callers:
                for body in bodies if endpoint.method != "GET" else [b""]:
                    response = caller.http.request(
                        endpoint.method, path, content=body, params=JUNK_QUERY,
                        headers={**caller.headers(), "Content-Type": "application/json"},
                    )
                    if response.status_code >= 500 or (
                        response.status_code >= 400 and "error" not in response.json()
                    ):
                        failures.append((endpoint.method, path, body[:40], response.status_code, response.text[:200]))
    assert not failures, failures[:10]
