"""The HTTP transport's inline trigger path, over raw TCP: ordering with pipelined
requests, keep-alive and close, chunked bodies, size limits, 100-continue, and the
hand-over to the ASGI app for triggers that ask for channel info."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from websockets.sync.client import ClientConnection, connect

from pyreverb.lingering import LINGER_IDLE_SECONDS, LINGER_MAX_SECONDS
from pyreverb.protocol.auth import sign_request
from tests.helpers.procs import ReverbProcess


@pytest.fixture(scope="module", params=["compiled", "pure Python"])
def node(request: pytest.FixtureRequest) -> Iterator[ReverbProcess]:
    """Every case runs against both trigger paths: the compiled parser and
    signature check (``pyreverb._speedups``) and the pure-Python one."""
    env = {"PYREVERB_HTTP_KEEP_ALIVE": "1", "REVERB_MAX_REQUEST_SIZE": "4096",
           "PYREVERB_SPEEDUPS": "true" if request.param == "compiled" else "false"}
    proc = ReverbProcess(env=env).start()
    try:
        if request.param == "compiled" and "trigger path: compiled" not in proc.log():
            if os.environ.get("CI") == "true":
                pytest.fail(f"the compiled trigger path was not built: {proc.log()[-500:]}")
            pytest.skip("pyreverb._speedups not built here (pip install -e . builds it)")
        assert f"trigger path: {request.param}" in proc.log()
        yield proc
    finally:
        proc.stop()


def signed_target(node: ReverbProcess, method: str, path: str, body: bytes = b"", secret: str | None = None) -> str:
    params = {"auth_key": node.key, "auth_timestamp": str(int(time.time())), "auth_version": "1.0"}
    if body:
        params["body_md5"] = hashlib.md5(body).hexdigest()
    params["auth_signature"] = sign_request(secret or node.secret, method, path, params)
    return path + "?" + "&".join(f"{k}={v}" for k, v in params.items())


def trigger_request(node: ReverbProcess, doc: dict[str, object], *, headers: str = "", version: str = "1.1",
                    secret: str | None = None) -> bytes:
    body = json.dumps(doc).encode()
    target = signed_target(node, "POST", f"/apps/{node.app_id}/events", body, secret)
    head = (f"POST {target} HTTP/{version}\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n{headers}\r\n")
    return head.encode() + body


def get_request(node: ReverbProcess, path: str) -> bytes:
    return f"GET {signed_target(node, 'GET', path)} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n".encode()


class RawHttp:
    """One TCP connection that reads responses back one by one (content-length framed)."""

    def __init__(self, node: ReverbProcess) -> None:
        self.sock = socket.create_connection(("127.0.0.1", node.port), timeout=5)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return bool(chunk)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buf:
            assert self._fill(), f"connection closed mid-response: {self.buf!r}"
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            assert self._fill(), "connection closed mid-body"
            rest = self.buf.partition(b"\r\n\r\n")[2]
        self.buf = rest[length:]
        return status, headers, rest[:length]

    def closed_by_server(self, within: float) -> bool:
        self.sock.settimeout(within)
        try:
            while self._fill():
                pass
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def http(node: ReverbProcess) -> Iterator[RawHttp]:
    """One raw keep-alive connection to the node, closed afterwards."""
    conn = RawHttp(node)
    yield conn
    conn.close()


@pytest.fixture
def subscribe(node: ReverbProcess) -> Iterator[Callable[[str], ClientConnection]]:
    """Opens a WebSocket subscribed to a public channel; all are closed afterwards."""
    with contextlib.ExitStack() as stack:

        def open_subscribed(channel: str) -> ClientConnection:
            ws = stack.enter_context(connect(f"ws://127.0.0.1:{node.port}/app/{node.key}?protocol=7"))
            assert json.loads(ws.recv(timeout=5))["event"] == "pusher:connection_established"
            ws.send(json.dumps({"event": "pusher:subscribe", "data": {"channel": channel}}))
            assert json.loads(ws.recv(timeout=5))["event"] == "pusher_internal:subscription_succeeded"
            return ws

        yield open_subscribed


def events(ws: ClientConnection, n: int) -> list[str]:
    return [json.loads(ws.recv(timeout=5))["data"] for _ in range(n)]


def test_pipelined_requests_are_answered_in_order(node: ReverbProcess, http: RawHttp, subscribe: Callable[[str], ClientConnection]) -> None:
    channel = f"pipe-{uuid.uuid4().hex[:8]}"
    ws = subscribe(channel)
    http.send(
        trigger_request(node, {"name": "e", "channel": channel, "data": "one"})
        + get_request(node, f"/apps/{node.app_id}/channels/{channel}")  # through the ASGI app
        + trigger_request(node, {"name": "e", "channel": channel, "data": "two"})
        + trigger_request(node, {"name": "e", "channel": channel, "data": "nope"}, secret="wrong")
        + trigger_request(node, {"name": "e", "channel": channel, "data": "three", "info": "subscription_count"})
        + trigger_request(node, {"name": "e", "channel": channel, "data": "four"})
    )
    answers = [http.response() for _ in range(6)]
    assert [a[0] for a in answers] == [200, 200, 200, 401, 200, 200]
    assert json.loads(answers[0][2]) == {}
    assert json.loads(answers[1][2]) == {"occupied": True}
    assert "auth_signature" in json.loads(answers[3][2])["error"]
    assert json.loads(answers[4][2]) == {"channels": {channel: {"subscription_count": 1}}}
    assert all(a[1]["content-type"] == "application/json" for a in answers)
    assert events(ws, 4) == ["one", "two", "three", "four"]  # the refused one never went out


def test_keep_alive_connection_is_reused_then_closed_when_idle(node: ReverbProcess, http: RawHttp) -> None:
    channel = f"ka-{uuid.uuid4().hex[:8]}"
    for i in range(3):
        http.send(trigger_request(node, {"name": "e", "channel": channel, "data": str(i)}))
        status, headers, _ = http.response()
        assert status == 200 and "connection" not in headers
        time.sleep(0.4)  # under the 1 s keep-alive: each request keeps the connection open
    assert http.closed_by_server(within=5), "an idle keep-alive connection must be closed"


@pytest.mark.parametrize(("extra", "version"), [("connection: close\r\n", "1.1"), ("", "1.0")])
def test_connection_close_and_http10_close_after_the_answer(node: ReverbProcess, http: RawHttp, extra: str, version: str) -> None:
    http.send(trigger_request(node, {"name": "e", "channel": "closing", "data": "x"}, headers=extra, version=version))
    status, headers, body = http.response()
    assert (status, body) == (200, b"{}")
    assert headers.get("connection") == "close"
    assert http.closed_by_server(within=2)


def test_chunked_body_is_accepted(node: ReverbProcess, http: RawHttp, subscribe: Callable[[str], ClientConnection]) -> None:
    channel = f"chunk-{uuid.uuid4().hex[:8]}"
    ws = subscribe(channel)
    body = json.dumps({"name": "e", "channel": channel, "data": "in two chunks"}).encode()
    target = signed_target(node, "POST", f"/apps/{node.app_id}/events", body)
    first, second = body[:10], body[10:]
    http.send(f"POST {target} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n".encode())
    http.send(b"%x\r\n%s\r\n" % (len(first), first))
    time.sleep(0.05)
    http.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(second), second))
    assert http.response()[0] == 200
    assert events(ws, 1) == ["in two chunks"]


def test_oversized_chunked_body_is_413_and_the_connection_stays_usable(node: ReverbProcess, http: RawHttp) -> None:
    body = json.dumps({"name": "e", "channel": "big", "data": "x" * 5000}).encode()
    target = signed_target(node, "POST", f"/apps/{node.app_id}/events", body)
    http.send(f"POST {target} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n".encode()
              + b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:3000], body[3000:]))
              + b"0\r\n\r\n")
    status, _, body = http.response()
    assert status == 413
    assert json.loads(body) == {"error": "Request body exceeds 4096 bytes"}
    http.send(trigger_request(node, {"name": "e", "channel": "big", "data": "small"}))
    assert http.response()[0] == 200


def test_declared_oversized_body_is_refused_before_it_is_sent(node: ReverbProcess, http: RawHttp) -> None:
    target = signed_target(node, "POST", f"/apps/{node.app_id}/events", b"{}")
    http.send(f"POST {target} HTTP/1.1\r\nhost: x\r\ncontent-length: 99999999\r\n\r\n".encode())
    status, headers, body = http.response()
    assert status == 413 and headers.get("connection") == "close"
    assert json.loads(body) == {"error": "Request body exceeds 4096 bytes"}
    assert http.closed_by_server(within=2)


def test_expect_100_continue_goes_through(node: ReverbProcess, http: RawHttp, subscribe: Callable[[str], ClientConnection]) -> None:
    channel = f"cont-{uuid.uuid4().hex[:8]}"
    ws = subscribe(channel)
    request = trigger_request(node, {"name": "e", "channel": channel, "data": "continued"},
                              headers="expect: 100-continue\r\n")
    head, _, body = request.partition(b"\r\n\r\n")
    http.send(head + b"\r\n\r\n")
    assert http.response()[0] == 100
    http.send(body)
    assert http.response()[0] == 200
    assert events(ws, 1) == ["continued"]


def test_garbage_after_a_trigger_gets_400_and_the_trigger_is_kept(node: ReverbProcess, http: RawHttp, subscribe: Callable[[str], ClientConnection]) -> None:
    channel = f"junk-{uuid.uuid4().hex[:8]}"
    ws = subscribe(channel)
    http.send(trigger_request(node, {"name": "e", "channel": channel, "data": "kept"}) + b"NOT HTTP\r\n\r\n")
    assert http.response()[0] == 200
    assert http.response()[0] == 400
    assert events(ws, 1) == ["kept"]


# -- refused bodies: the answer arrives before the close (lingering close) --------------

def send_body_then_read(http: RawHttp, head: bytes, body: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send as an SDK does (head, then the whole body), only then read the answer:
    a server that closes on unread bytes resets the connection mid-send instead."""
    http.send(head)
    for start in range(0, len(body), 65536):
        http.send(body[start:start + 65536])
    return http.response()


@pytest.mark.parametrize("size", [1_000_000, 5_000_000], ids=["1MB", "5MB"])
@pytest.mark.parametrize("route", ["events", "batch_events"])
def test_oversized_signed_body_gets_its_413_not_a_reset(node: ReverbProcess, http: RawHttp, size: int, route: str) -> None:
    event = {"name": "e", "channel": "big", "data": "x" * size}
    body = json.dumps({"batch": [event]} if route == "batch_events" else event).encode()
    target = signed_target(node, "POST", f"/apps/{node.app_id}/{route}", body)
    head = (f"POST {target} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode()
    status, headers, answer = send_body_then_read(http, head, body)
    assert (status, headers.get("connection")) == (413, "close")
    assert json.loads(answer) == {"error": "Request body exceeds 4096 bytes"}
    assert http.closed_by_server(within=LINGER_IDLE_SECONDS + 2)


def test_malformed_body_gets_its_400_not_a_reset(node: ReverbProcess, http: RawHttp) -> None:
    target = signed_target(node, "POST", f"/apps/{node.app_id}/events", b"{}")
    head = f"POST {target} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n".encode()
    status, headers, answer = send_body_then_read(http, head, b"not a chunk size\r\n" + b"x" * 1_000_000)
    assert (status, headers.get("connection")) == (400, "close")
    assert json.loads(answer) == {"error": "Invalid HTTP request received"}


def _cut_off_after(http: RawHttp, chunk: bytes, pause: float, limit: float) -> float:
    """Seconds until the server stops a client that sends ``chunk`` every ``pause``."""
    started = time.monotonic()
    with pytest.raises(OSError):  # reset or broken pipe once the server cut it off
        while time.monotonic() - started < limit:
            http.send(chunk)
            time.sleep(pause)
    return time.monotonic() - started


def test_a_client_that_keeps_sending_fast_is_cut_off(node: ReverbProcess, http: RawHttp) -> None:
    target = signed_target(node, "POST", f"/apps/{node.app_id}/events", b"{}")
    http.send(f"POST {target} HTTP/1.1\r\nhost: x\r\ncontent-length: 99999999999\r\n\r\n".encode())
    assert http.response()[0] == 413
    assert _cut_off_after(http, b"x" * 65536, 0, limit=30) < LINGER_MAX_SECONDS + 1


@pytest.mark.slow
def test_a_client_that_keeps_sending_slowly_is_cut_off(node: ReverbProcess, http: RawHttp) -> None:
    target = signed_target(node, "POST", f"/apps/{node.app_id}/events", b"{}")
    http.send(f"POST {target} HTTP/1.1\r\nhost: x\r\ncontent-length: 99999999999\r\n\r\n".encode())
    assert http.response()[0] == 413
    # under the idle bound and the byte bound: only the time bound stops it
    took = _cut_off_after(http, b"x" * 1024, LINGER_IDLE_SECONDS / 4, limit=30)
    assert LINGER_MAX_SECONDS - 1 < took < LINGER_MAX_SECONDS + 2
