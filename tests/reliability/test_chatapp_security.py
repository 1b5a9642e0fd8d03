"""chatapp against an attacker: forged and stale tokens, password guessing, hostile
uploads, cross-origin calls, and the headers that keep pages and files inert.

One chatapp runs for the module with a known token secret (so the tests can sign
tokens dated in the past), tight sign-in limits and one allowed CORS origin. Each
test speaks from its own client IP (``X-Forwarded-For``, with 127.0.0.1 a trusted proxy
through ``CHATAPP_TRUSTED_PROXIES``), so the per-IP limit of one test never spills into another.
"""

from __future__ import annotations

import itertools
import re
import socket
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.chatapp.procs import Api, ChatappProcess, chatapp_stack

SECRET = "security-suite-secret-0123456789abcdef"
ALLOWED_ORIGIN = "https://shop.example"
AUTH_PER_IP = 8
FAILURES_PER_ADDRESS = 5
BACKOFF_AFTER = 6
PASSWORD = "correct horse battery"
DAY = 24 * 3600
_ips = itertools.count(1)


def new_ip() -> dict[str, str]:
    n = next(_ips)
    return {"X-Forwarded-For": f"198.51.{n // 250}.{n % 250 + 1}"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatappProcess]:
    workdir = tmp_path_factory.mktemp("chat-security")
    env = {
        "CHATAPP_SECRET_KEY": SECRET,
        "CHATAPP_RATE_AUTH": f"{AUTH_PER_IP}/60",
        "CHATAPP_RATE_LOGIN_FAILURES": f"{FAILURES_PER_ADDRESS}/900",
        "CHATAPP_LOGIN_BACKOFF_AFTER": str(BACKOFF_AFTER),
        "CHATAPP_CORS_ORIGINS": ALLOWED_ORIGIN,
        "CHATAPP_RATE_UPLOADS": "1000/60",
        "CHATAPP_TRUSTED_PROXIES": "127.0.0.1",
    }
    with chatapp_stack(f"sqlite:///{workdir / 'chat.sqlite3'}", workdir, env) as process:
        yield process


def register(app: ChatappProcess, name: str) -> tuple[Api, str]:
    email = f"{name.lower()}.{time.time_ns()}@example.test"
    doc = Api(app.base_url).ok("POST", "/api/auth/register", {"email": email, "password": PASSWORD, "name": name},
                              headers=new_ip())
    return Api(app.base_url, doc["token"], doc["user"]), email


def guest(app: ChatappProcess) -> Api:
    doc = Api(app.base_url).ok("POST", "/api/auth/guest", {"name": "Guest"}, headers=new_ip())
    return Api(app.base_url, doc["token"], doc["user"])


def error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body["message"], body
    if code:
        assert body["error"] == code, body
    return body


# ------------------------------------------------------------------------ tokens


def token_signed_at(user_id: int, when: float, secret: str = SECRET) -> str:
    """A token as chatapp issues it, but dated ``when`` (forging needs the secret)."""

    class DatedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(when)

    return URLSafeTimedSerializer(secret, salt="chatapp.access", signer=DatedSigner).dumps({"u": user_id})


def flip(text: str, index: int) -> str:
    ch = text[index]
    return text[:index] + ("A" if ch != "A" else "B") + text[index + 1:]


def me(app: ChatappProcess, token: str) -> httpx.Response:
    return httpx.get(f"{app.base_url}/api/auth/me", headers={"Authorization": f"Bearer {token}".encode()})


def test_tampered_tokens_are_refused(app: ChatappProcess) -> None:
    user, _ = register(app, "Tina")
    victim, _ = register(app, "Victor")
    token = user.token or ""
    assert me(app, token).json()["user"]["id"] == user.id
    payload, stamp, signature = token.split(".")
    # The payload of another account (or an admin id) under this token's signature.
    swapped = token_signed_at(victim.id, time.time()).split(".")[0] + f".{stamp}.{signature}"
    forged = {
        "payload byte": flip(token, 1),
        "timestamp byte": flip(token, len(payload) + 2),
        "signature byte": flip(token, len(token) - 3),
        "another user's payload": swapped,
        "foreign secret": token_signed_at(victim.id, time.time(), secret="not-the-server-secret-at-all!!"),
        "truncated": token[:-6],
        "extra segment": token + ".x",
        "no signature": f"{payload}.{stamp}",
        "oversized": token + "A" * 2000,
        "non-ascii": token[:-1] + "é",
    }
    for what, bad in forged.items():
        response = me(app, bad)
        assert response.status_code == 401, (what, response.text)
        assert response.json()["error"] == "invalid_token", (what, response.json())
    for header in ("Bearer", f"Basic {token}", token, f"Token {token}", f"Bearer{token}"):
        response = httpx.get(f"{app.base_url}/api/auth/me", headers={"Authorization": header})
        error(response, 401, "unauthenticated")
    error(httpx.get(f"{app.base_url}/api/auth/me", params={"token": token}), 401, "unauthenticated")
    assert me(app, token).status_code == 200, "the genuine token still works"


def session_rows(app: ChatappProcess, user_id: int) -> list[tuple[str, datetime, datetime]]:
    """(id, created_at, expires_at) of every session the account holds, read from the SQLite file."""
    with sqlite3.connect(app.database_url.removeprefix("sqlite:///")) as db:
        rows = db.execute(
            "SELECT id, created_at, expires_at FROM auth_sessions WHERE user_id = ? ORDER BY created_at", (user_id,)
        ).fetchall()
    return [(sid, datetime.fromisoformat(created), datetime.fromisoformat(expires)) for sid, created, expires in rows]


def set_expiry(app: ChatappProcess, session_id: str, when: datetime) -> None:
    with sqlite3.connect(app.database_url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE auth_sessions SET expires_at = ? WHERE id = ?", (when.isoformat(), session_id))


def test_tokens_expire_by_role(app: ChatappProcess) -> None:
    member, _ = register(app, "Morgan")
    visitor = guest(app)
    lifetimes = {}
    for who in (member, visitor):
        [(sid, created, expires)] = session_rows(app, who.id)
        lifetimes[who.id] = (expires - created).total_seconds()
        set_expiry(app, sid, datetime.now(timezone.utc) + timedelta(minutes=5))
        assert me(app, who.token).status_code == 200
        set_expiry(app, sid, datetime.now(timezone.utc) - timedelta(seconds=1))
        error(me(app, who.token), 401, "token_expired")
    assert lifetimes == {member.id: 7 * DAY, visitor.id: 30 * DAY}, "accounts keep 7 days, guests 30"
    # An expired token reaches nothing, not only /me.
    error(member.post("/api/chat/messages", {"body": "late"}), 401, "token_expired")
    error(member.post("/broadcasting/auth", {"socket_id": "1.2", "channel_name": f"private-user.{member.id}"}),
          401, "token_expired")
    # Tokens of the format before sessions: an account's is refused whatever its age, and one
    # signed beyond the longest lifetime is refused by its signature alone.
    error(me(app, token_signed_at(member.id, time.time() - DAY)), 401, "token_expired")
    error(me(app, token_signed_at(visitor.id, time.time() - 31 * DAY)), 401, "token_expired")
    error(me(app, token_signed_at(987654321, time.time())), 401)  # signed, but no such account


# ----------------------------------------------------------------- brute force


def login(app: ChatappProcess, email: str, password: str, ip: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{app.base_url}/api/auth/login", json={"email": email, "password": password}, headers=ip)


def test_password_spraying_from_one_address_is_throttled(app: ChatappProcess) -> None:
    _, email = register(app, "Sprayed")
    ip = new_ip()
    statuses = [login(app, f"guess{i}@example.test", "password123", ip).status_code for i in range(AUTH_PER_IP)]
    assert statuses == [401] * AUTH_PER_IP
    limited = login(app, email, PASSWORD, ip)
    body = error(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1 and body["retry_after"] >= 1
    error(httpx.post(f"{app.base_url}/api/auth/guest", json={}, headers=ip), 429, "rate_limited")
    assert login(app, email, PASSWORD, new_ip()).status_code == 200, "other addresses are not affected"


def admin_of(app: ChatappProcess) -> Api:
    email = f"security-admin.{time.time_ns()}@example.test"
    app.cli("create-admin", "--email", email, "--password", PASSWORD)
    doc = Api(app.base_url).ok("POST", "/api/auth/login", {"email": email, "password": PASSWORD}, headers=new_ip())
    return Api(app.base_url, doc["token"], doc["user"])


def test_guessing_from_many_addresses_does_not_lock_the_owner_out(app: ChatappProcess) -> None:
    victim, email = register(app, "Targeted")
    _, other_email = register(app, "Bystander")
    attacker = new_ip()
    for i in range(FAILURES_PER_ADDRESS):
        error(login(app, email, f"wrong-{i}-password", attacker), 401, "invalid_credentials")
    stopped = login(app, email, PASSWORD, attacker)  # a failing client is stopped, whatever it sends
    assert "from your address" in error(stopped, 429, "rate_limited")["message"]
    assert int(stopped.headers["Retry-After"]) >= 1

    botnet = [new_ip() for _ in range(BACKOFF_AFTER + 4)]
    for ip in botnet:
        error(login(app, email, "wrong-again-password", ip), 401, "invalid_credentials")
    for ip in (botnet[0], botnet[-1]):  # the account backs off: every failing address waits
        slowed = login(app, email, "yet-another-guess", ip)
        assert "must wait" in error(slowed, 429, "rate_limited")["message"]
        assert int(slowed.headers["Retry-After"]) >= 1

    owner = login(app, email.upper(), PASSWORD, new_ip())  # meanwhile, from an address that has not failed
    assert owner.status_code == 200, owner.text
    assert owner.json()["user"]["id"] == victim.id
    assert login(app, other_email, PASSWORD, new_ip()).status_code == 200
    error(login(app, email, "wrong-again-password", botnet[1]), 429, "rate_limited")  # still slowed after that

    log = app.wait_log(f"sign-in locked for {email} from {attacker['X-Forwarded-For']}")
    assert f"sign-in back-off for {email}" in log
    seen = admin_of(app).ok("GET", "/api/admin/lockouts")["data"]
    mine = {(lk["kind"], lk["address"]) for lk in seen if lk["account"] == email}
    assert ("address", attacker["X-Forwarded-For"]) in mine
    assert any(kind == "account" for kind, _ in mine)
    assert all(lk["until"] > lk["at"] for lk in seen), "ISO-8601 UTC times sort as text"


def test_a_correct_password_clears_the_failures_of_that_address(app: ChatappProcess) -> None:
    _, email = register(app, "Forgetful")
    ip = new_ip()
    for i in range(FAILURES_PER_ADDRESS - 1):
        error(login(app, email, f"typo-{i}-xx", ip), 401, "invalid_credentials")
    assert login(app, email, PASSWORD, ip).status_code == 200
    # Uncleared, the second of these would come after five failures: 429. The account's
    # back-off (from BACKOFF_AFTER failures) is not reached, so only the clearing is measured.
    assert FAILURES_PER_ADDRESS - 1 + 2 <= BACKOFF_AFTER
    for i in range(2):
        error(login(app, email, f"typo-again-{i}-xx", ip), 401, "invalid_credentials")


# ---------------------------------------------------------------------- uploads

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(document.cookie)</script></svg>'
GIF_JS = b"GIF89a/*\x01\x00\x01\x00\x00\xff\x00,*/=1;alert(document.domain);//"
PNG_HTML = PNG + b"<html><body><script>alert(document.domain)</script></body></html>"
PDF_JS = b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\n%%EOF\n"


def upload(api: Api, name: str, data: bytes, mime: str = "application/octet-stream") -> httpx.Response:
    return api.request("POST", "/api/chat/upload", files={"file": (name, data, mime)})


def download(api: Api, response: httpx.Response) -> httpx.Response:
    assert response.status_code == 201, response.text
    return api.get(f"/api/chat/files/{response.json()['url'].rsplit('/', 1)[1]}")


def assert_inert(served: httpx.Response, content_type: str, disposition: str) -> None:
    assert served.status_code == 200
    assert served.headers["content-type"].split(";")[0] == content_type
    assert served.headers["x-content-type-options"] == "nosniff"
    csp = served.headers["content-security-policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert served.headers["content-disposition"].startswith(disposition)


def test_svg_and_markup_are_never_stored(app: ChatappProcess) -> None:
    visitor = guest(app)
    visitor.send("I have a file for you")
    cases = {
        "logo.svg": SVG,
        "logo.png": SVG,
        "logo.txt": SVG,
        "logo.svgz": SVG,
        "prolog.svg": b'<?xml version="1.0"?>\n' + SVG,
        "bom.txt": "\ufeff".encode() + SVG,
        "spaced.txt": b"\n\n   \t" + SVG,
        "page.html": b"<!doctype html><script>alert(1)</script>",
        "page.xhtml": b'<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>',
        "script.js": b"alert(document.cookie)",
        "gif.js": GIF_JS,
        "png.html": PNG_HTML,
        "pdf.svg": PDF_JS,
    }
    for name, data in cases.items():
        response = upload(visitor, name, data, "image/svg+xml")
        assert response.status_code == 415, (name, response.text)
        assert response.json()["error"] in ("unsupported_media_type", "content_mismatch"), name


def test_polyglots_that_pass_are_served_inert(app: ChatappProcess) -> None:
    """Bytes that really are a GIF/PNG/PDF are kept, but a browser can never run them as a page or script."""
    visitor = guest(app)
    visitor.send("attachments follow")
    assert_inert(download(visitor, upload(visitor, "avatar.gif", GIF_JS, "text/javascript")), "image/gif", "inline")
    assert_inert(download(visitor, upload(visitor, "shot.png", PNG_HTML, "text/html")), "image/png", "inline")
    assert_inert(download(visitor, upload(visitor, "invoice.pdf", PDF_JS)), "application/pdf", "attachment")
    # Markup after some text is text: served as an attachment in text/plain, never rendered.
    text = download(visitor, upload(visitor, "notes.txt", b"my notes\n" + SVG, "image/svg+xml"))
    assert_inert(text, "text/plain", "attachment")
    assert text.content.endswith(SVG)


def raw_upload(api: Api, filename: bytes, data: bytes) -> httpx.Response:
    """A multipart body byte for byte, so no client library escapes the name on our behalf."""
    body = (b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="' + filename
            + b'"\r\nContent-Type: image/png\r\n\r\n' + data + b"\r\n--XyZ--\r\n")
    return api.http.post("/api/chat/upload", content=body,
                         headers={**api.headers(), "Content-Type": "multipart/form-data; boundary=XyZ"})


def test_hostile_file_names(app: ChatappProcess) -> None:
    visitor = guest(app)
    visitor.send("names")
    names = {
        b"../../../../etc/passwd.png": "passwd.png",
        b"..\\..\\windows\\win.ini.png": "win.ini.png",
        b"C:\\Users\\x\\photo.png": "photo.png",
        # What a browser sends for a name with CR LF in it; kept as text, never a header break.
        b"evil%0D%0ASet-Cookie: session=stolen.png": "evil%0D%0ASet-Cookie: session=stolen.png",
        b"nul\x00byte.png": "nulbyte.png",
        b"tab\tbell\x07.png": "tabbell.png",
        "\u202egnp.exe.png".encode(): "gnp.exe.png",  # right-to-left override stripped
        b"..": "file",
        b"/": "file",
        b'quote\\".png': 'quote".png',
        b"x" * 400 + b".png": "x" * 200,
    }
    for raw, shown in names.items():
        response = raw_upload(visitor, raw, PNG)
        assert response.status_code == 201, (raw, response.text)
        attachment = response.json()["attachment"]
        assert attachment["name"] == shown, (raw, attachment["name"])
        stored = response.json()["url"].rsplit("/", 1)[1]
        assert re.fullmatch(r"[A-Za-z0-9_-]{20,64}\.png", stored), "stored under a random name"
        served = visitor.get(f"/api/chat/files/{stored}")
        assert served.status_code == 200 and served.content == PNG and "set-cookie" not in served.headers
        assert not set("\r\n\x00") & set(served.headers["content-disposition"]), served.headers


def test_upload_transport_tricks(app: ChatappProcess) -> None:
    visitor = guest(app)
    visitor.send("transport")
    auth = visitor.headers()

    def chunks() -> Iterator[bytes]:
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n"
        yield PNG + b"\r\n--b--\r\n"

    chunked = httpx.post(f"{app.base_url}/api/chat/upload", content=chunks(),
                         headers={**auth, "Content-Type": "multipart/form-data; boundary=b"})
    error(chunked, 411, "length_required")
    two = visitor.request("POST", "/api/chat/upload", files=[("file", ("a.png", PNG, "image/png")),
                                                              ("file", ("b.png", PNG, "image/png"))])
    assert two.status_code == 400 and two.json()["error"], two.text
    # A Content-Length far over the limit is refused before a byte of the body is read.
    with socket.create_connection(("127.0.0.1", app.port), timeout=5) as sock:
        sock.sendall(f"POST /api/chat/upload HTTP/1.1\r\nHost: x\r\nAuthorization: {auth['Authorization']}\r\n"
                     "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 999999999\r\n\r\n".encode())
        head = sock.recv(4096).decode(errors="replace")
    assert head.startswith("HTTP/1.1 413"), head
    for path in ("..%2Fchat.sqlite3", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%5C..%5Cchat.sqlite3", "%2Fetc%2Fpasswd",
                 "uploads", ".", "a" * 30 + ".png%00.txt"):
        error(visitor.get(f"/api/chat/files/{path}"), 404)


# --------------------------------------------------------------- CORS, headers


def directives(csp: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_cors_allows_only_the_configured_origin(app: ChatappProcess) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    ok = httpx.options(f"{app.base_url}/api/chat/messages", headers={"Origin": ALLOWED_ORIGIN, **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in ok.headers, "bearer tokens, no cookies: never credentials"
    for origin in ("https://evil.example", "https://shop.example.evil.test", "null", "http://shop.example"):
        refused = httpx.options(f"{app.base_url}/api/chat/messages", headers={"Origin": origin, **preflight})
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers, origin
        simple = httpx.get(f"{app.base_url}/api/config", headers={"Origin": origin})
        assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers, origin
    allowed = httpx.get(f"{app.base_url}/api/config", headers={"Origin": ALLOWED_ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


def test_every_kind_of_response_carries_the_security_headers(app: ChatappProcess) -> None:
    visitor = guest(app)
    visitor.send("headers")
    stored = upload(visitor, "a.png", PNG, "image/png").json()["url"].rsplit("/", 1)[1]
    responses = {
        "json": httpx.get(f"{app.base_url}/api/config"),
        "error": httpx.get(f"{app.base_url}/api/auth/me"),
        "404": httpx.get(f"{app.base_url}/nope"),
        "file": visitor.get(f"/api/chat/files/{stored}"),
        "page": httpx.get(f"{app.base_url}/"),
        "admin": httpx.get(f"{app.base_url}/admin/chat"),
        "static": httpx.get(f"{app.base_url}/widget.js"),
        "openapi": httpx.get(f"{app.base_url}/api/openapi.json"),
    }
    for kind, response in responses.items():
        assert response.headers.get("x-content-type-options") == "nosniff", kind
        assert response.headers.get("referrer-policy") in ("same-origin", "no-referrer", "strict-origin"), kind
        assert "server" not in response.headers, f"{kind}: no server banner"


@pytest.mark.parametrize("path", ["/admin/chat", "/admin/chat/1", "/admin/login"])
def test_admin_pages_have_a_strict_csp_and_cannot_be_framed(app: ChatappProcess, path: str) -> None:
    page = httpx.get(f"{app.base_url}{path}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = directives(page.headers["content-security-policy"])
    assert csp["frame-ancestors"] == ["'none'"] and page.headers["x-frame-options"] == "DENY"
    assert csp["script-src"] == ["'self'"], "no inline or eval'd script, no third-party script"
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["default-src"] == ["'self'"] and csp["form-action"] == ["'self'"]
    assert all("'unsafe" not in " ".join(v) for v in csp.values()), csp
    assert page.headers["cache-control"] == "no-store"
    # The CSP holds only if the page needs no inline code: every script is a file, no on* handlers.
    html = page.text
    scripts = re.findall(r"<script\b[^>]*>", html, re.I)
    assert scripts and all("src=" in s for s in scripts), scripts
    assert not re.search(r"\son[a-z]+\s*=", html, re.I)
