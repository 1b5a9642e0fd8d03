"""Shared processes for the chatapp suite: one pyreverb, and one chatapp per database.

``chat`` is parametrised over SQLite and PostgreSQL at session scope, so every test
that uses it runs on both, and pytest starts each chatapp only once.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.chatapp.procs import (
    Api,
    ChatappProcess,
    PushReceiver,
    chatapp_reverb,
    throwaway_database,
)
from tests.helpers.node_client import JS_DIR, NodeClient
from tests.helpers.procs import ReverbProcess

ADMIN_PASSWORD = "admin-password-1"
_counter = itertools.count(1)


@pytest.fixture(scope="session")
def chat_reverb() -> Iterator[ReverbProcess]:
    node = chatapp_reverb()
    try:
        yield node
    finally:
        node.stop()


# `make test-fast` runs the chat suite on SQLite alone; `make test` on both databases
POSTGRES = pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])


@pytest.fixture(scope="session", params=["sqlite", POSTGRES])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with throwaway_database(request.param, tmp_path_factory.mktemp("chat-db")) as url:
        yield url


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL database of this test's own (several instances sharing it)."""
    with throwaway_database("postgres", tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def chat(database_url: str, chat_reverb: ReverbProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatappProcess]:
    process = ChatappProcess(database_url, chat_reverb.port, tmp_path_factory.mktemp("chatapp")).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def admin(chat: ChatappProcess) -> Api:
    """A support admin made with ``chatapp create-admin``, signed in."""
    email = f"admin{next(_counter)}@support.test"
    result = chat.cli("create-admin", "--email", email, "--name", "Alice Admin", "--password", ADMIN_PASSWORD)
    assert "created admin" in result.stdout
    anon = Api(chat.base_url)
    doc = anon.ok("POST", "/api/auth/login", {"email": email, "password": ADMIN_PASSWORD})
    assert doc["user"]["role"] == "admin"
    shared = Api(chat.base_url, doc["token"], doc["user"])
    shared.patient = True
    return shared


@pytest.fixture
def new_guest(chat: ChatappProcess) -> Callable[..., Api]:
    def make(name: str = "Visitor") -> Api:
        doc = Api(chat.base_url).ok("POST", "/api/auth/guest", {"name": name})
        return Api(chat.base_url, doc["token"], doc["user"])

    return make


@pytest.fixture
def anon(chat: ChatappProcess) -> Api:
    return Api(chat.base_url)


@pytest.fixture(scope="session")
def push_receiver() -> Iterator[PushReceiver]:
    receiver = PushReceiver()
    try:
        yield receiver
    finally:
        receiver.close()


async def start_echo(chat: ChatappProcess, reverb: ReverbProcess, token: str, *, signin: bool = False) -> NodeClient:
    """A real laravel-echo client whose channel auth goes to chatapp's /broadcasting/auth.

    ``signin``: also sign the socket in as the account through /broadcasting/user-auth, as the widget does.
    """
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(JS_DIR / "chat_client.mjs"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=JS_DIR,
    )
    client = NodeClient(proc, None)
    await client.wait_for(lambda e: e["type"] == "ready")
    client.send(cmd="echo", key=reverb.key, port=reverb.port, authEndpoint=f"{chat.base_url}/broadcasting/auth",
                token=token, userAuthEndpoint=f"{chat.base_url}/broadcasting/user-auth" if signin else None)
    await client.connected()
    return client


@pytest.fixture
async def echo_clients() -> AsyncIterator[list[NodeClient]]:
    clients: list[NodeClient] = []
    yield clients
    for client in clients:
        await client.close()

