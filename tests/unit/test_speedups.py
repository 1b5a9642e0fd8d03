"""The compiled trigger path (``pyreverb._speedups``) against the pure-Python one.

Its contract: accept the common case, and never accept what the Python path
refuses. Each test below could fail: a parser that returned a request httptools
reads differently, or a signature check that passed a request ``verify_request``
rejects, breaks a property; one that falls back on everything breaks the
"takes the SDK's request" cases.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any

import httptools
import pusher
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyreverb.protocol.auth import RequestAuthError, sign_request, verify_request
from pyreverb.speedups import load

native = load()
if native is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("pyreverb._speedups was not built; CI measures and tests the compiled path")
    pytest.skip("pyreverb._speedups not built here (pip install -e . builds it)", allow_module_level=True)

KEY, SECRET = "app-key", "app-secret"
PATH = "/apps/app-1/events"
LIMIT = 10_000


def signed(body: bytes, path: str = PATH, method: str = "POST", **extra: str) -> dict[str, str]:
    params = {"auth_key": KEY, "auth_timestamp": str(int(time.time())), "auth_version": "1.0", **extra}
    if body:
        params["body_md5"] = hashlib.md5(body).hexdigest()
    params["auth_signature"] = sign_request(SECRET, method, path, params)
    return params


def query_of(params: dict[str, str]) -> bytes:
    return "&".join(f"{k}={v}" for k, v in params.items()).encode()


def python_accepts(method: str, path: str, query: bytes, body: bytes, now: float) -> bool:
    params: dict[str, str] = {}
    for pair in query.decode("latin-1").split("&"):
        if pair:
            k, _, v = pair.partition("=")
            params[k] = v
    try:
        verify_request(key=KEY, secret=SECRET, method=method, path=path, params=params, body=body,
                       now=now, tolerance=600)
    except RequestAuthError:
        return False
    return True


def native_accepts(method: str, path: str, query: bytes, body: bytes, now: float) -> bool:
    return bool(native.signature_ok(method.encode(), path, query, body, KEY, SECRET, now, 600))


# -- signature_ok ----------------------------------------------------------------------
def test_accepts_what_the_python_sdk_signs() -> None:
    client = pusher.Pusher(app_id="123", key=KEY, secret=SECRET, host="127.0.0.1", port=1, ssl=False)
    for make in (
        lambda: client._pusher_client.trigger.make_request(["orders"], "created", {"id": 7}),
        lambda: client._pusher_client.trigger.make_request(["a", "b"], "e", "text", "123.456"),
        lambda: client._pusher_client.trigger_batch.make_request([{"channel": "a", "name": "e", "data": "x"}]),
    ):
        req = make()
        query = query_of(req.query_params)
        assert native_accepts(req.method, req.path, query, req.body, time.time())
        assert python_accepts(req.method, req.path, query, req.body, time.time())


@pytest.mark.parametrize("secret", ["s", "x" * 64, "y" * 65, "\u00e9t\u00e9-" * 30])
def test_keys_of_every_length_sign_like_hmac(secret: str) -> None:
    """Secrets up to a block are padded, longer ones hashed first (RFC 2104)."""
    body = b'{"name":"e","channel":"c","data":"x"}'
    params = {"auth_key": KEY, "auth_timestamp": str(int(time.time())), "auth_version": "1.0",
              "body_md5": hashlib.md5(body).hexdigest()}
    params["auth_signature"] = sign_request(secret, "POST", PATH, params)
    query = query_of(params)
    assert native.signature_ok(b"POST", PATH, query, body, KEY, secret, time.time(), 600)
    assert not native.signature_ok(b"POST", PATH, query, body, KEY, secret + "!", time.time(), 600)


def test_accepts_a_bodyless_get() -> None:
    params = signed(b"", path="/apps/app-1/channels", method="GET", filter_by_prefix="presence-")
    assert native_accepts("GET", "/apps/app-1/channels", query_of(params), b"", time.time())


@pytest.mark.parametrize(
    "change",
    [
        "signature", "key", "version", "timestamp_old", "timestamp_text", "md5", "no_md5", "body", "path",
        "method", "missing_key", "secret",
    ],
)
def test_refuses_what_is_wrong(change: str) -> None:
    body = b'{"name":"e","channel":"c","data":"x"}'
    params = signed(body)
    path, method, now = PATH, "POST", time.time()
    if change == "signature":
        params["auth_signature"] = params["auth_signature"][::-1]
    elif change == "key":
        params = signed(body) | {"auth_key": "other"}
    elif change == "version":
        params["auth_version"] = "2.0"
    elif change == "timestamp_old":
        now += 601
    elif change == "timestamp_text":
        params["auth_timestamp"] = "12a"
    elif change == "md5":
        params["body_md5"] = hashlib.md5(b"other").hexdigest()
    elif change == "no_md5":
        del params["body_md5"]
    elif change == "body":
        body = body.replace(b"x", b"y")
    elif change == "path":
        path = "/apps/app-2/events"
    elif change == "method":
        method = "PUT"
    elif change == "missing_key":
        del params["auth_key"]
    elif change == "secret":
        params["auth_signature"] = sign_request("not-the-secret", "POST", PATH, params)
    query = query_of(params)
    assert not native_accepts(method, path, query, body, now)
    assert not python_accepts(method, path, query, body, now)


@pytest.mark.parametrize(
    "query_change",
    [
        lambda q: q.replace(b"auth_key", b"Auth_Key"),  # upper case: Python lower-cases, C leaves it
        lambda q: q + b"&auth_version=1.0",  # a repeated key
        lambda q: q.replace(b"auth_key=app-key", b"auth_key=app%2Dkey"),  # escapes
        lambda q: q + b"&x=a+b",
        lambda q: q + "&x=\u00e9".encode("latin-1"),
    ],
)
def test_falls_back_on_unusual_queries(query_change: Any) -> None:
    """Not accepted here; the Python check decides (and may still accept)."""
    body = b"{}"
    assert not native_accepts("POST", PATH, query_change(query_of(signed(body))), body, time.time())


def test_falls_back_on_paths_python_escapes() -> None:
    path = "/apps/a?b/events"
    params = signed(b"{}", path=path)
    assert not native_accepts("POST", path, query_of(params), b"{}", time.time())


_params = st.dictionaries(
    st.sampled_from(["auth_key", "auth_timestamp", "auth_version", "auth_signature", "body_md5", "info", "Auth_key", "x"]),
    st.text(alphabet="abcdef0123456789.-%+=AZ", max_size=70),
    max_size=7,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=40),
    extra=_params,
    tamper=st.sampled_from(["none", "signed_extra", "drop", "swap_case", "dup", "truncate"]),
    skew=st.sampled_from([0, 599, 601, -601]),
    method=st.sampled_from(["POST", "post", "GET"]),
)
def test_never_accepts_what_python_refuses(body: bytes, extra: dict[str, str], tamper: str, skew: int,
                                           method: str) -> None:
    if tamper == "none":  # extra parameters added after signing
        params = {**signed(body, method=method.upper()), **extra}
    elif tamper == "signed_extra":  # ... and signed with them
        own = {k: v for k, v in extra.items() if k.lower() not in ("auth_signature", "body_md5")}
        params = signed(body, method=method.upper(), **own)
    else:
        params = signed(body, method=method.upper())
    query = query_of(params)
    if tamper == "drop":
        query = b"&".join(query.split(b"&")[1:])
    elif tamper == "swap_case":
        query = query.swapcase()
    elif tamper == "dup":
        query = query + b"&" + query.split(b"&")[0]
    elif tamper == "truncate":
        query = query[:-1]
    now = time.time() + skew
    if native_accepts(method, PATH, query, body, now):
        assert python_accepts(method, PATH, query, body, now), (method, query, body, skew)


# -- parse_trigger_request ---------------------------------------------------------------
def request_bytes(target: str = PATH + "?a=1", body: bytes = b'{"x":1}', headers: str = "",
                  version: str = "1.1", method: str = "POST") -> bytes:
    return (f"{method} {target} HTTP/{version}\r\nHost: h\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{headers}\r\n").encode() + body


class _Seen:
    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""
        self.complete = 0
        self.parser: Any = None
        self.keep_alive: bool | None = None

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete += 1
        self.keep_alive = self.parser.should_keep_alive()  # as the transport asks it


def httptools_reads(data: bytes) -> tuple[_Seen, Any] | None:
    seen = _Seen()
    parser = seen.parser = httptools.HttpRequestParser(seen)
    try:
        parser.feed_data(data)
    except httptools.HttpParserError:
        return None
    return seen, parser


def test_takes_a_plain_trigger() -> None:
    assert native.parse_trigger_request(request_bytes(), b"", LIMIT) == ("app-1", PATH, b"a=1", b'{"x":1}', True)
    assert native.parse_trigger_request(request_bytes(PATH), b"", LIMIT) == ("app-1", PATH, b"", b'{"x":1}', True)
    closing = request_bytes(headers="Connection: close\r\n")
    assert native.parse_trigger_request(closing, b"", LIMIT)[4] is False
    prefixed = request_bytes("/ws/apps/9/events?q=1")
    assert native.parse_trigger_request(prefixed, b"/ws", LIMIT) == ("9", "/ws/apps/9/events", b"q=1", b'{"x":1}', True)


@pytest.mark.parametrize(
    "data",
    [
        request_bytes(version="1.0"),
        request_bytes(method="PUT"),
        request_bytes("/apps/app-1/batch_events"),
        request_bytes("/apps/app-1/events/x"),
        request_bytes("/apps//events"),
        request_bytes("/apps/a%20b/events"),
        request_bytes("/apps/a\\b/events"),
        request_bytes(PATH + "?a=1#frag"),
        request_bytes(headers="Transfer-Encoding: chunked\r\n"),
        request_bytes(headers="Expect: 100-continue\r\n"),
        request_bytes(headers="Upgrade: websocket\r\nConnection: upgrade\r\n"),
        request_bytes(headers="X-Forwarded-Prefix: /p\r\n"),
        request_bytes(headers="Content-Length: 7\r\n"),  # a second length
        request_bytes(headers="X-A: 1\r\n folded\r\n"),
        request_bytes(headers="Bad Name: 1\r\n"),
        request_bytes(headers="X-A: \x01\r\n"),
        request_bytes() + b"POST",  # pipelined
        request_bytes()[:-1],  # body not all here
        request_bytes().replace(b"\r\n\r\n", b"\r\n"),  # head not finished
        request_bytes(body=b"x" * (LIMIT + 1)),
        request_bytes().replace(b"Content-Length: 7", b"Content-Length: +7"),
        request_bytes("/other/apps/1/events"),
    ],
)
def test_leaves_everything_else_to_httptools(data: bytes) -> None:
    assert native.parse_trigger_request(data, b"", LIMIT) is None


@settings(max_examples=500, deadline=None)
@given(
    target=st.sampled_from([PATH, PATH + "?auth_key=k&b=2", "/apps/x.y/events?q", "/p/apps/1/events?a"]),
    body=st.binary(max_size=30),
    headers=st.lists(
        st.tuples(
            st.sampled_from(["X-A", "Connection", "connection", "CONTENT-LENGTH", "Transfer-Encoding", "Host", "x y"]),
            st.sampled_from(["1", "close", "keep-alive", "Keep-Alive", "chunked", " 3 ", "\t", ""]),
        ),
        max_size=3,
    ),
    cut=st.integers(min_value=-3, max_value=3),
    noise=st.binary(max_size=3),
)
def test_whatever_it_takes_httptools_reads_the_same_way(target: str, body: bytes, headers: list[tuple[str, str]],
                                                       cut: int, noise: bytes) -> None:
    extra = "".join(f"{n}: {v}\r\n" for n, v in headers)
    data = request_bytes(target, body, extra)
    if cut < 0:
        data = data[:cut]
    elif cut > 0:
        data = data + noise
    prefix = b"/p" if target.startswith("/p/") else b""
    taken = native.parse_trigger_request(data, prefix, LIMIT)
    if taken is None:
        return
    read = httptools_reads(data)
    assert read is not None, data
    seen, parser = read
    app_id, path, query, got_body, keep_alive = taken
    assert seen.complete == 1 and parser.get_method() == b"POST"
    url_path, _, url_query = seen.url.partition(b"?")
    assert (url_path.decode(), url_query, seen.body) == (path, query, got_body)
    assert path == f"{prefix.decode()}/apps/{app_id}/events"
    assert keep_alive == seen.keep_alive, data
    assert not any(name in (b"transfer-encoding", b"expect", b"upgrade") for name, _ in seen.headers)


def test_a_trigger_json_body_round_trips() -> None:
    body = json.dumps({"name": "e", "channel": "c", "data": "é"}).encode()
    taken = native.parse_trigger_request(request_bytes(body=body), b"", LIMIT)
    assert taken is not None and json.loads(taken[3])["data"] == "é"
