"""Micro-benchmarks of pyreverb's hot path: one process, no sockets, no load agents.

The scenarios measure the whole machine, and on a shared 2-core box their
throughput moves with whatever else runs. These time only our Python work (the
best of several repeats), so one optimisation's gain shows on its own:

- ``deliver``: one broadcast to 1,000 subscribed ``PusherWebSocket`` connections
  whose transport ``write`` is a C no-op (the syscall is the same for any server);
- ``trigger``: one signed ``POST /apps/{id}/events`` through the full ASGI app
  (middleware, router, signature check, validation, encode, deliver to 1);
- ``trigger_wire``: the same request as raw bytes into the HTTP transport
  (HTTP parsing, the inline trigger path, the response written): all the
  Python work the server does for one trigger;
- ``whisper``: one client event frame in, relayed to the other member.

``python -m bench.micro``; put another copy of the package first on PYTHONPATH
to compare (``PYTHONPATH=var/ab/base:. python -m bench.micro``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import orjson
import uvicorn
from uvicorn.server import ServerState

from pyreverb.app import create_app
from pyreverb.config import AppConfig, Settings
from pyreverb.http_transport import PusherHttp
from pyreverb.protocol.auth import channel_auth_signature
from pyreverb.protocol.session import PusherSession
from pyreverb.server import PusherServer
from pyreverb.transport import PusherWebSocket

__all__ = ["main"]

APP = AppConfig(app_id="micro", key="micro-key", secret="micro-secret")


class NullTransport:
    """Accepts writes at C speed and keeps nothing."""

    def __init__(self) -> None:
        self.write = collections.deque(maxlen=0).append

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    abort = close


def _connection(server: PusherServer, app: AppConfig = APP) -> PusherWebSocket:
    conn = PusherWebSocket(None, SimpleNamespace(connections=set()), {"pyreverb": server})
    conn.connection_made(NullTransport())  # type: ignore[arg-type]  # a stand-in with the methods used
    conn.app, conn.app_id = app, app.app_id
    conn.session = PusherSession(app)
    conn.socket_id = conn.session.socket_id
    conn.opened = True
    server.open(conn)
    return conn


def subscribe_frame(conn: PusherWebSocket, channel: str, user_id: str | None = None) -> bytes:
    """The ``pusher:subscribe`` a client sends, signed for private and presence channels."""
    app = conn.app
    data: dict[str, Any] = {"channel": channel}
    if user_id is not None:
        data["channel_data"] = orjson.dumps({"user_id": user_id, "user_info": {"name": f"user {user_id}"}}).decode()
    if channel.startswith(("private-", "presence-")):
        signature = channel_auth_signature(app.secret, conn.socket_id, channel, data.get("channel_data"))
        data["auth"] = f"{app.key}:{signature}"
    return orjson.dumps({"event": "pusher:subscribe", "data": data})


async def _subscribe(server: PusherServer, conn: PusherWebSocket, channel: str) -> None:
    server.receive(conn, subscribe_frame(conn, channel))
    while conn.pending is not None:
        await asyncio.sleep(0)


def _best(fn: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


async def bench_deliver(server: PusherServer, repeat: int) -> float:
    """ns per subscriber write of a 1,000-subscriber broadcast."""
    for _ in range(1000):
        await _subscribe(server, _connection(server), "fan")
    payload = orjson.dumps({"event": "e", "channel": "fan", "data": "x" * 100})
    rounds = 200

    def run() -> None:
        for _ in range(rounds):
            server.hub.deliver(APP.app_id, "fan", payload)

    return _best(run, repeat) / (rounds * 1000) * 1e9


async def bench_trigger(server: PusherServer, repeat: int) -> float:
    """us per signed trigger through the ASGI app."""
    await _subscribe(server, _connection(server), "api")
    app = create_app(server.settings, server)
    path = f"/apps/{APP.app_id}/events"
    body = json.dumps({"name": "e", "channel": "api", "data": "x" * 100}).encode()
    query = (f"auth_key={APP.key}&auth_timestamp={int(time.time())}&auth_version=1.0"
             f"&body_md5={hashlib.md5(body).hexdigest()}")
    sig = hmac.new(APP.secret.encode(), f"POST\n{path}\n{query}".encode(), hashlib.sha256).hexdigest()
    scope_base = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": f"{query}&auth_signature={sig}".encode(),
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
        "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 5000),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    rounds = 2000
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(rounds):
            await app(dict(scope_base, state={"pyreverb": server}), receive, send)
        best = min(best, time.perf_counter() - started)
    assert set(statuses) == {200}, set(statuses)
    return best / rounds * 1e6


class WireTransport(NullTransport):
    """A transport for the HTTP protocol: keeps the last response for checking."""

    def __init__(self) -> None:
        self.last = b""

    def write(self, data: bytes) -> None:
        self.last = data

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def bench_trigger_wire(server: PusherServer, repeat: int) -> float:
    """us per signed trigger as raw HTTP/1.1 bytes through ``PusherHttp``."""
    await _subscribe(server, _connection(server), "api")
    config = uvicorn.Config(create_app(server.settings, server), http=PusherHttp, ws=PusherWebSocket,
                            log_level="warning", access_log=False)
    config.load()
    proto = PusherHttp(config, ServerState(), {"pyreverb": server})
    transport = WireTransport()
    proto.connection_made(transport)  # type: ignore[arg-type]  # a stand-in with the methods used
    path = f"/apps/{APP.app_id}/events"
    body = json.dumps({"name": "e", "channel": "api", "data": "x" * 100}).encode()
    query = (f"auth_key={APP.key}&auth_timestamp={int(time.time())}&auth_version=1.0"
             f"&body_md5={hashlib.md5(body).hexdigest()}")
    sig = hmac.new(APP.secret.encode(), f"POST\n{path}\n{query}".encode(), hashlib.sha256).hexdigest()
    request = (f"POST {path}?{query}&auth_signature={sig} HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n"
               f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n").encode() + body
    rounds = 2000
    before = server.hub.frames_out

    def run() -> None:
        for _ in range(rounds):
            proto.data_received(request)

    best = _best(run, repeat)
    assert transport.last.startswith(b"HTTP/1.1 200 "), transport.last
    assert server.hub.frames_out - before == rounds * repeat
    return best / rounds * 1e6


async def bench_whisper(server: PusherServer, repeat: int) -> float:
    """us per client event relayed to the other member of a private channel."""
    a, b = _connection(server), _connection(server)
    await _subscribe(server, a, "private-pair")
    await _subscribe(server, b, "private-pair")
    frame = orjson.dumps({"event": "client-typing", "channel": "private-pair", "data": {"t": "x" * 80}})
    rounds = 20000

    def run() -> None:
        for _ in range(rounds):
            server.receive(a, frame)

    return _best(run, repeat) / rounds * 1e6


async def _main(repeat: int, speedups: bool) -> dict[str, float]:
    out = {}
    for name, fn in (("deliver_ns_per_write", bench_deliver), ("trigger_us", bench_trigger),
                     ("trigger_wire_us", bench_trigger_wire), ("whisper_us", bench_whisper)):
        server = PusherServer(Settings(apps=(APP,), speedups=speedups))
        out[name] = round(await fn(server, repeat), 2)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.micro", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-speedups", action="store_true", help="the pure-Python trigger path")
    args = parser.parse_args(argv)
    import pyreverb

    result = asyncio.run(_main(args.repeat, not args.no_speedups))
    compiled = PusherServer(Settings(apps=(APP,), speedups=not args.no_speedups)).speedups is not None
    print(json.dumps({"pyreverb": pyreverb.__file__, "compiled": compiled, **result}))


if __name__ == "__main__":
    main()
