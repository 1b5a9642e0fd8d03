"""Real chatapp processes, throwaway PostgreSQL databases and a Web Push receiver."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from tests.helpers.procs import TIME_FACTOR, ChildServer, ReverbProcess, free_port, wait_http

PG_ADMIN_URL = os.environ.get("CHATAPP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IDENTITY_SECRET = "site-shared-secret-for-tests-0123456789"
CHATAPP_REVERB_ENV = {"REVERB_APP_ACCEPT_CLIENT_EVENTS_FROM": "none"}
"""chatapp's pyreverb app as docs/chatapp.md sets it up: the product sends no client events."""


def chatapp_reverb(port: int | None = None, env: dict[str, str] | None = None) -> ReverbProcess:
    """A started pyreverb for chatapp (on ``port`` when given: a restart on the same port)."""
    node = ReverbProcess(env={**CHATAPP_REVERB_ENV, **(env or {})})
    if port is not None:
        node.port = port
    return node.start()


@dataclass
class ChatappProcess(ChildServer):
    """``chatapp migrate`` then ``chatapp serve`` on a free port."""

    database_url: str
    reverb_port: int
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def full_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "REVERB_APP_ID": "100",
                "REVERB_APP_KEY": "test-key",
                "REVERB_APP_SECRET": "test-secret",
                "REVERB_HOST": "127.0.0.1",
                "REVERB_PORT": str(self.reverb_port),
                "REVERB_SCHEME": "http",
                "CHATAPP_IDENTITY_SECRET": IDENTITY_SECRET,
                "CHATAPP_ALLOW_REGISTRATION": "true",  # the suites sign up accounts alongside site identities
                "CHATAPP_UPLOAD_DIR": str(self.workdir / "uploads"),
                "CHATAPP_MAX_UPLOAD_BYTES": "300000",
                "CHATAPP_RATE_AUTH": "10000/60",
                # The local PushReceiver: plain http on loopback (both for local testing only).
                "CHATAPP_PUSH_ALLOW_INSECURE": "true",
                "CHATAPP_PUSH_ALLOW_PRIVATE_ADDRESSES": "true",
                "CHATAPP_PUSH_HOSTS": "127.0.0.1",
                "CHATAPP_BROADCAST_RETRIES": "2",
                # Suites that assign by hand keep new chats waiting; tests/chatapp/test_routing.py turns it on.
                "CHATAPP_AUTO_ASSIGN": "false",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.env)
        return env

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "chatapp", *args],
            env=self.full_env(),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=60 * TIME_FACTOR,
            check=check,
        )

    def start(self, migrate: bool = True) -> "ChatappProcess":
        self.workdir.mkdir(parents=True, exist_ok=True)
        if migrate:
            self.cli("migrate")
        argv = [sys.executable, "-m", "chatapp", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.launch("chatapp", argv, self.full_env(), self.workdir)
        wait_http(f"{self.base_url}/up", proc=self.proc)
        return self

    def ok_json(self, path: str) -> Any:
        response = httpx.get(self.base_url + path, timeout=10 * TIME_FACTOR)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_log(self, needle: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout * TIME_FACTOR
        while time.monotonic() < deadline:
            text = self.log()
            if needle in text:
                return text
            time.sleep(0.05)
        raise TimeoutError(f"{needle!r} not in chatapp log:\n{self.log()[-3000:]}")


@contextmanager
def chatapp_stack(database_url: str, workdir: Path, env: dict[str, str] | None = None) -> Iterator[ChatappProcess]:
    """A pyreverb and a migrated chatapp with its own ``env``; afterwards its log must show no 500."""
    reverb = chatapp_reverb()
    try:
        app = ChatappProcess(database_url, reverb.port, workdir, env=dict(env or {})).start()
        try:
            yield app
        finally:
            app.stop()
    finally:
        reverb.stop()
    log = app.log()
    assert "unhandled error" not in log and "Exception in ASGI application" not in log, log[-3000:]


@contextmanager
def mail_stack(kind: str, smtp_url: str, workdir: Path) -> Iterator[ChatappProcess]:
    """:func:`chatapp_stack` on a fresh ``sqlite`` or ``postgres`` database, mailing through ``smtp_url`` with
    a one-second delay before notifications."""
    env = {"CHATAPP_SMTP_URL": smtp_url, "CHATAPP_MAIL_FROM": "Support <support@mail.test>",
           "CHATAPP_MAIL_DELAY_SECONDS": "1", "CHATAPP_MAIL_INTERVAL": "0.3"}
    with throwaway_database(kind, workdir) as url, chatapp_stack(url, workdir, env) as process:
        yield process


# ------------------------------------------------------------------ PostgreSQL


async def _pg(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_pg_database() -> str:
    """A fresh, empty database; returns its URL."""
    name = f"chatapp_test_{secrets.token_hex(6)}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def throwaway_database(kind: str, directory: Path) -> Iterator[str]:
    """The URL of an empty ``sqlite`` file in ``directory`` or a fresh ``postgres`` database, dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'chat.sqlite3'}"
        return
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


# ---------------------------------------------------------------------- API


class Api:
    """A thin JSON client for one caller (``token`` None = anonymous)."""

    def __init__(self, base_url: str, token: str | None = None, user: dict[str, Any] | None = None) -> None:
        self.base_url = base_url
        self.token = token
        self.user = user or {}
        # ok() waits out a 429 and asks again: for the suite's one shared admin, whose per-user
        # allowances (20 messages per 10 s...) every test spends; never for a test's own callers.
        self.patient = False
        # No idle keep-alive sockets: callers are made by the hundred and dropped without a
        # close(), and a pooled socket left to the garbage collector is a ResourceWarning.
        self.http = httpx.Client(
            base_url=base_url, timeout=10 * TIME_FACTOR, limits=httpx.Limits(max_keepalive_connections=0)
        )

    @classmethod
    def guest(cls, base_url: str, name: str) -> Api:
        """A new anonymous visitor, signed in."""
        doc = cls(base_url).ok("POST", "/api/auth/guest", {"name": name})
        return cls(base_url, doc["token"], doc["user"])

    @property
    def id(self) -> int:
        return int(self.user["id"])

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**h, **(extra or {})}

    def request(self, method: str, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        headers = self.headers(kw.pop("headers", None))
        if json is not None:
            kw["content"] = orjson.dumps(json)
            headers.setdefault("Content-Type", "application/json")
        return self.http.request(method, path, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.request("POST", path, json=json, **kw)

    def ok(self, method: str, path: str, json: Any = None, status: int | tuple[int, ...] = (200, 201), **kw: Any) -> Any:
        response = self.request(method, path, json=json, **kw)
        expected = (status,) if isinstance(status, int) else status
        for _ in range(3 if self.patient else 0):  # the shared admin's allowance is every test's
            if response.status_code != 429 or 429 in expected:
                break
            time.sleep(float(response.json().get("retry_after", 1)))
            response = self.request(method, path, json=json, **kw)
        assert response.status_code in expected, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def send(self, body: str, **extra: Any) -> dict[str, Any]:
        return self.ok("POST", "/api/chat/messages", {"body": body, **extra})  # type: ignore[no-any-return]

    def close(self) -> None:
        self.http.close()


def guest_api(app: ChatappProcess, name: str = "Visitor") -> Api:
    """A new anonymous visitor of ``app``, signed in."""
    doc = Api(app.base_url).ok("POST", "/api/auth/guest", {"name": name})
    return Api(app.base_url, doc["token"], doc["user"])


def admin_api(app: ChatappProcess, password: str, name: str = "Alice Admin") -> Api:
    """A new support admin of ``app`` made with ``chatapp create-admin``, signed in."""
    email = f"admin-{secrets.token_hex(5)}@support.test"
    app.cli("create-admin", "--email", email, "--name", name, "--password", password)
    doc = Api(app.base_url).ok("POST", "/api/auth/login", {"email": email, "password": password})
    return Api(app.base_url, doc["token"], doc["user"])


# ---------------------------------------------------------------- Web Push


@dataclass
class PushSubscription:
    endpoint: str
    private_key: Any
    auth_secret: bytes
    status: int = 201

    def to_json(self) -> dict[str, Any]:
        from cryptography.hazmat.primitives import serialization

        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64(public), "auth": b64(self.auth_secret)}}


class PushReceiver:
    """A local push service: records each POST and answers with the subscription's status.

    ``delay`` seconds before each answer make it a slow service, so deliveries stay in flight.
    """

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.received: list[dict[str, Any]] = []
        self.subscriptions: dict[str, PushSubscription] = {}
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                sub = receiver.subscriptions.get(self.path)
                time.sleep(receiver.delay)
                self.send_response(sub.status if sub else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver._cond:
                    receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    receiver._cond.notify_all()

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 512  # a burst of deliveries must not overflow the listen backlog
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def new_subscription(self, status: int = 201) -> PushSubscription:
        from cryptography.hazmat.primitives.asymmetric import ec

        path = f"/push/{secrets.token_hex(8)}"
        sub = PushSubscription(f"{self.origin}{path}", ec.generate_private_key(ec.SECP256R1()), os.urandom(16), status)
        self.subscriptions[path] = sub
        return sub

    def wait_for(self, sub: PushSubscription, timeout: float = 10.0, count: int = 1) -> list[dict[str, Any]]:
        path = sub.endpoint.removeprefix(self.origin)
        deadline = time.monotonic() + timeout * TIME_FACTOR
        with self._cond:
            while True:
                hits = [r for r in self.received if r["path"] == path]
                if len(hits) >= count:
                    return hits
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no push to {path} within {timeout}s (got {len(self.received)} in total)")
                self._cond.wait(remaining)

    def received_by(self, sub: PushSubscription) -> list[dict[str, Any]]:
        path = sub.endpoint.removeprefix(self.origin)
        with self._cond:
            return [r for r in self.received if r["path"] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def decrypt_push(sub: PushSubscription, request: dict[str, Any]) -> dict[str, Any]:
    import http_ece

    assert request["headers"].get("Content-Encoding") == "aes128gcm"
    plain = http_ece.decrypt(request["body"], private_key=sub.private_key, auth_secret=sub.auth_secret, version="aes128gcm")
    return orjson.loads(plain)  # type: ignore[no-any-return]


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout * TIME_FACTOR
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.03)
    raise TimeoutError(f"{what} not reached within {timeout}s")
