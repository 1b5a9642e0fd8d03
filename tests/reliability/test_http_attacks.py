"""The HTTP API under attack: every hostile request is a 4xx with a JSON reason, never a 5xx."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pyreverb.protocol.auth import sign_request
from tests.e2e.test_http_api import signed_url
from tests.helpers.procs import ReverbProcess


@pytest.fixture(scope="module")
def node() -> Iterator[ReverbProcess]:
    n = ReverbProcess().start()
    yield n
    n.stop()
    assert "Traceback" not in n.log(), n.log()[-3000:]


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def _assert_clean_4xx(r: httpx.Response) -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json")
    assert isinstance(r.json()["error"], str) and r.json()["error"]


def test_replay_outside_the_window_is_refused(node: ReverbProcess, http: httpx.Client) -> None:
    body = json.dumps({"name": "e", "channel": "a", "data": "{}"}).encode()
    old = signed_url(node, "POST", f"/apps/{node.app_id}/events", body, ts=int(time.time()) - 3600)
    future = signed_url(node, "POST", f"/apps/{node.app_id}/events", body, ts=int(time.time()) + 3600)
    for url in (old, future):
        r = http.post(url, content=body)
        _assert_clean_4xx(r)
        assert r.status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/apps/100/../100/events",
        "/apps/100/events/../../100/events",
        "/apps/%2e%2e/events",
        "/apps/100%2Fevents",
        "/apps/" + "9" * 5000 + "/events",
        "/apps/100/channels/" + "c" * 300,
        "/apps/100/channels/%00",
        "/apps/100/channels/a%2Fb/users",
    ],
)
def test_path_tricks(node: ReverbProcess, http: httpx.Client, path: str) -> None:
    body = json.dumps({"name": "e", "channel": "a", "data": "{}"}).encode()
    r = http.post(f"{node.base_url}{path}?auth_key={node.key}&auth_timestamp={int(time.time())}&auth_version=1.0&auth_signature=x", content=body)
    _assert_clean_4xx(r)
    r = http.get(f"{node.base_url}{path}")
    _assert_clean_4xx(r)


def test_oversized_and_lying_bodies(node: ReverbProcess, http: httpx.Client) -> None:
    big = b'{"name":"e","channel":"a","data":"' + b"x" * 300_000 + b'"}'
    r = http.post(signed_url(node, "POST", f"/apps/{node.app_id}/events", big), content=big)
    assert r.status_code == 413
    # a Content-Length far beyond the limit is refused before any body is read
    url = signed_url(node, "POST", f"/apps/{node.app_id}/events", b"{}").removeprefix(node.base_url)
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as sock:
        sock.sendall(f"POST {url} HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n{{}}".encode())
        head = sock.recv(4096).decode(errors="replace")
    assert head.startswith("HTTP/1.1 413"), head


def _signed_params(node: ReverbProcess, method: str, path: str, body: bytes) -> dict[str, str]:
    params = {"auth_key": node.key, "auth_timestamp": str(int(time.time())), "auth_version": "1.0"}
    if body:
        params["body_md5"] = hashlib.md5(body).hexdigest()
    params["auth_signature"] = sign_request(node.secret, method, path, params)
    return params


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=400) | st.text(max_size=300).map(str.encode) | st.builds(lambda d: json.dumps(d).encode(), st.dictionaries(st.sampled_from(["name", "data", "channel", "channels", "socket_id", "info", "batch"]), st.none() | st.integers() | st.text(max_size=20) | st.lists(st.text(max_size=10), max_size=3), max_size=5)),
    endpoint=st.sampled_from(["events", "batch_events"]),
    tamper=st.sampled_from(["none", "signature", "key", "md5", "version"]),
)
def test_fuzzed_signed_bodies_never_5xx(node: ReverbProcess, http: httpx.Client, body: bytes, endpoint: str, tamper: str) -> None:
    path = f"/apps/{node.app_id}/{endpoint}"
    params = _signed_params(node, "POST", path, body)
    if tamper == "signature":
        params["auth_signature"] = params["auth_signature"][::-1]
    elif tamper == "key":
        params["auth_key"] = "x" + params["auth_key"]
    elif tamper == "md5" and body:
        params["body_md5"] = "0" * 32
    elif tamper == "version":
        params["auth_version"] = "2.0"
    r = http.post(f"{node.base_url}{path}", params=params, content=body)
    assert r.status_code < 500, r.text
    if tamper != "none" and (tamper != "md5" or body):
        assert r.status_code == 401
    if r.status_code >= 400:
        _assert_clean_4xx(r)
