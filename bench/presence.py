"""Presence at scale, in-process: what private subscribes and presence joins cost pyreverb.

No sockets and no load agents (the same stand-ins as ``bench.micro``: a connection whose
transport ``write`` is a C no-op), so what is timed is pyreverb's own work:

- ``subscribe``: µs per ``pusher:subscribe`` to a public channel and to a private one
  (the difference is the signature check), each on its own connection;
- ``presence``: joins one presence channel up to ``--members`` (10,000) distinct users,
  in batches; per batch the µs per join, which grows with the channel: every join sends
  ``member_added`` to each member already there and lists all of them in its
  ``subscription_succeeded``. Also the frames written per join and the size of the last
  ``subscription_succeeded``;
- ``memory``: heap bytes per subscription to a public channel and per presence member
  (the connections themselves are made before, so this is what subscribing adds).

``python -m bench.presence`` prints one JSON document. The member limit is the app's
``max_presence_members`` (``PYREVERB_APP_MAX_PRESENCE_MEMBERS``, Pusher's 100 by
default); this run raises it to ``--members``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
import tracemalloc
from typing import Any

from bench.micro import APP, _connection, subscribe_frame
from pyreverb.config import AppConfig, Settings
from pyreverb.protocol.session import PusherSession
from pyreverb.server import PusherServer
from pyreverb.transport import PusherWebSocket

__all__ = ["main"]

CHANNEL = "presence-big"


async def _settled(conns: list[PusherWebSocket]) -> None:
    """Until every queued subscribe ran (each runs in a task)."""
    while any(c.pending is not None for c in conns):
        await asyncio.sleep(0)


async def _timed_subscribes(server: PusherServer, frames: list[tuple[PusherWebSocket, bytes]]) -> float:
    """µs per subscribe: every frame received, then every subscribe task run."""
    started = time.process_time()  # CPU time: other work on a shared machine does not count
    for conn, frame in frames:
        server.receive(conn, frame)
    await _settled([conn for conn, _ in frames])
    return (time.process_time() - started) / len(frames) * 1e6


async def bench_subscribe(app: AppConfig, n: int) -> dict[str, float]:
    """µs per public and per private subscribe, best of 3 rounds of ``n``."""
    out: dict[str, float] = {}
    for kind, prefix in (("public", ""), ("private", "private-")):
        best = float("inf")
        for _ in range(3):
            server = PusherServer(Settings(apps=(app,)))
            conns = [_connection(server, app) for _ in range(n)]
            frames = [(c, subscribe_frame(c, f"{prefix}room-{i % 100}")) for i, c in enumerate(conns)]
            best = min(best, await _timed_subscribes(server, frames))
        out[f"{kind}_subscribe_us"] = round(best, 2)
    out["signature_check_us"] = round(out["private_subscribe_us"] - out["public_subscribe_us"], 2)
    return out


async def bench_presence(app: AppConfig, members: int, batch: int) -> dict[str, Any]:
    """Join one presence channel up to ``members`` users; cost per join batch by batch."""
    server = PusherServer(Settings(apps=(app,)))
    conns = [_connection(server, app) for _ in range(members)]
    frames = [(c, subscribe_frame(c, CHANNEL, user_id=str(i))) for i, c in enumerate(conns)]
    steps = []
    for start in range(0, members, batch):
        part = frames[start:start + batch]
        writes = server.hub.frames_out
        us = await _timed_subscribes(server, part)
        steps.append({
            "members_after": start + len(part),
            "us_per_join": round(us, 1),
            "frames_per_join": round((server.hub.frames_out - writes) / len(part), 1),
        })
    return {
        "members": members,
        "steps": steps,
        "subscription_succeeded_bytes": _member_list_bytes(server, app),
    }


def _member_list_bytes(server: PusherServer, app: AppConfig) -> int:
    """Size of the ``subscription_succeeded`` a member joining now would get (the member list)."""
    members = server.backend.state.members(app.app_id, CHANNEL)  # type: ignore[attr-defined]  # MemoryState
    presence = {"ids": list(members), "hash": members, "count": len(members)}
    return len(PusherSession.subscription_succeeded(CHANNEL, presence))


async def bench_memory(app: AppConfig, n: int) -> dict[str, float]:
    """KB per connection subscribed to a public channel and per presence member (Python
    heap, tracemalloc: RSS in one process reuses what earlier rounds freed)."""
    out: dict[str, float] = {}
    for kind, channel, user in (("public", "room", False), ("presence", CHANNEL, True)):
        server = PusherServer(Settings(apps=(app,)))
        conns = [_connection(server, app) for _ in range(n)]
        frames = [(c, subscribe_frame(c, channel, user_id=str(i) if user else None)) for i, c in enumerate(conns)]
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for start in range(0, n, 500):
            part = frames[start:start + 500]
            for conn, frame in part:
                server.receive(conn, frame)
            await _settled([conn for conn, _ in part])
        gc.collect()
        out[f"{kind}_kb_per_subscription"] = round((tracemalloc.get_traced_memory()[0] - before) / n / 1024, 3)
        tracemalloc.stop()
        del conns, frames, server
    out["presence_extra_kb_per_member"] = round(
        out["presence_kb_per_subscription"] - out["public_kb_per_subscription"], 3)
    return out


async def _main(members: int, batch: int, subscribes: int) -> dict[str, Any]:
    app = AppConfig(app_id=APP.app_id, key=APP.key, secret=APP.secret, max_presence_members=members)
    return {
        "subscribe": await bench_subscribe(app, subscribes),
        "memory": await bench_memory(app, members),
        "presence": await bench_presence(app, members, batch),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.presence", description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500, help="joins timed together")
    parser.add_argument("--subscribes", type=int, default=5_000, help="connections per subscribe round")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_main(args.members, args.batch, args.subscribes))))


if __name__ == "__main__":
    main()
