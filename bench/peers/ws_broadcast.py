"""The Python ceiling: a bare ``websockets`` room broadcast, no protocol work.

``ws://HOST:PORT/?room=r`` joins room ``r``; a text message ``{"room": "r", ...}``
is sent unchanged to everyone in ``r`` (``websockets.broadcast``); ``GET /health``
answers ``ok``. Runs on uvloop, like pyreverb, so the two differ only in the server.

Run: ``python -m bench.peers.ws_broadcast --port 6004``
"""

from __future__ import annotations

import argparse
import asyncio
import http
from urllib.parse import parse_qs, urlsplit

import orjson
import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.http11 import Request, Response

rooms: dict[str, set[ServerConnection]] = {}


def health(connection: ServerConnection, request: Request) -> Response | None:
    if request.path == "/health":
        return connection.respond(http.HTTPStatus.OK, "ok\n")
    return None


async def handler(ws: ServerConnection) -> None:
    room = parse_qs(urlsplit(ws.request.path).query).get("room", ["default"])[0]
    members = rooms.setdefault(room, set())
    members.add(ws)
    try:
        async for message in ws:
            try:
                target = orjson.loads(message).get("room", room)
            except (orjson.JSONDecodeError, AttributeError):
                target = room
            broadcast(rooms.get(target, ()), message)
    finally:
        members.discard(ws)
        if not members:
            rooms.pop(room, None)


async def main(host: str, port: int) -> None:
    async with serve(handler, host, port, process_request=health, compression=None, max_queue=None):
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6004)
    args = parser.parse_args()
    uvloop.run(main(args.host, args.port))
