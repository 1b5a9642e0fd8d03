"""Whose address a request comes from: the peer, unless a trusted proxy (CHATAPP_TRUSTED_PROXIES) says otherwise.

Per-address rate limits are only as good as this answer: a client that may choose its
own address escapes every one of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.chatapp.procs import ChatappProcess, chatapp_stack

PER_ADDRESS = 3


def stack(tmp_path: Path, **env: str) -> Iterator[ChatappProcess]:
    with chatapp_stack(f"sqlite:///{tmp_path / 'chat.sqlite3'}", tmp_path,
                       {"CHATAPP_RATE_AUTH": f"{PER_ADDRESS}/60", **env}) as app:
        yield app


@pytest.fixture
def direct(tmp_path: Path) -> Iterator[ChatappProcess]:
    yield from stack(tmp_path)


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[ChatappProcess]:
    yield from stack(tmp_path, CHATAPP_TRUSTED_PROXIES="127.0.0.1")


def new_guest(app: ChatappProcess, forwarded_for: str) -> httpx.Response:
    return httpx.post(f"{app.base_url}/api/auth/guest", json={}, headers={"X-Forwarded-For": forwarded_for})


def test_without_trusted_proxies_a_forwarded_address_is_ignored(direct: ChatappProcess) -> None:
    statuses = [new_guest(direct, f"203.0.113.{i + 1}").status_code for i in range(PER_ADDRESS + 1)]
    assert statuses == [201] * PER_ADDRESS + [429], "a client cannot pick a new address per request"


def test_a_trusted_proxy_gives_each_client_its_own_bucket(proxied: ChatappProcess) -> None:
    first = [new_guest(proxied, "203.0.113.10").status_code for _ in range(PER_ADDRESS + 1)]
    assert first == [201] * PER_ADDRESS + [429]
    limited = new_guest(proxied, "203.0.113.10")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert new_guest(proxied, "203.0.113.20").status_code == 201, "another client behind the proxy is not affected"


def test_a_spoofed_left_most_entry_is_not_believed(proxied: ChatappProcess) -> None:
    # The client wrote the left part; the proxy appended the address it saw (the right-most entry).
    chains = [f"198.51.100.{i + 1}, 203.0.113.30" for i in range(PER_ADDRESS + 1)]
    statuses = [new_guest(proxied, chain).status_code for chain in chains]
    assert statuses == [201] * PER_ADDRESS + [429]
    assert new_guest(proxied, "198.51.100.77").status_code == 201, "the spoofed addresses were never charged"
