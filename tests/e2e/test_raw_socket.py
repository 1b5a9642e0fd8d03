"""Protocol edges over a raw WebSocket (the Python websockets client)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.helpers.procs import ReverbProcess


def url(node: ReverbProcess, key: str | None = None) -> str:
    return f"ws://127.0.0.1:{node.port}/app/{key or node.key}?protocol=7&client=js&version=8.4.0"


async def recv_json(ws: Any) -> dict[str, Any]:
    doc = json.loads(await asyncio.wait_for(ws.recv(), 5))
    if isinstance(doc.get("data"), str):
        doc["data"] = json.loads(doc["data"])
    return doc


async def expect_close(ws: Any) -> int:
    with pytest.raises(ConnectionClosed) as info:
        await asyncio.wait_for(ws.recv(), 5)
    assert info.value.rcvd is not None, "server must send a close frame, not drop TCP"
    return info.value.rcvd.code


async def test_unknown_app_key_gets_4001_error_and_close(shared_reverb: ReverbProcess) -> None:
    async with websockets.connect(url(shared_reverb, "nope")) as ws:
        doc = await recv_json(ws)
        assert doc["event"] == "pusher:error" and doc["data"]["code"] == 4001
        assert await expect_close(ws) == 4001


async def test_unsupported_protocol_version_is_4007(shared_reverb: ReverbProcess) -> None:
    async with websockets.connect(f"ws://127.0.0.1:{shared_reverb.port}/app/{shared_reverb.key}?protocol=3") as ws:
        assert (await recv_json(ws))["data"]["code"] == 4007
        assert await expect_close(ws) == 4007


async def test_wrong_path_is_an_http_404(shared_reverb: ReverbProcess) -> None:
    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        async with websockets.connect(f"ws://127.0.0.1:{shared_reverb.port}/elsewhere"):
            pass
    assert info.value.response.status_code == 404


async def test_bad_frames_get_errors_and_the_connection_survives(shared_reverb: ReverbProcess) -> None:
    async with websockets.connect(url(shared_reverb)) as ws:
        assert (await recv_json(ws))["event"] == "pusher:connection_established"
        for bad in ["{oops", "[]", '{"event": 5}', '{"event":"pusher:unknown"}', '{"event":"pusher:subscribe","data":"x"}']:
            await ws.send(bad)
            doc = await recv_json(ws)
            assert doc["event"] == "pusher:error" and doc["data"]["code"] == 4200, bad
        await ws.send(b"\x00\x01binary")
        assert (await recv_json(ws))["event"] == "pusher:error"
        await ws.send('{"event":"pusher:ping","data":{}}')
        assert (await recv_json(ws))["event"] == "pusher:pong"


async def test_message_over_max_size_closes_with_1009(shared_reverb: ReverbProcess) -> None:
    async with websockets.connect(url(shared_reverb)) as ws:
        await recv_json(ws)
        await ws.send(json.dumps({"event": "pusher:ping", "data": {"pad": "x" * 2100}}))
        assert await expect_close(ws) == 1009


async def test_websocket_ping_frames_are_answered(shared_reverb: ReverbProcess) -> None:
    async with websockets.connect(url(shared_reverb)) as ws:
        await recv_json(ws)
        latency = await asyncio.wait_for(await ws.ping(), 5)
        assert latency >= 0


async def test_limits_and_origins_and_keepalive() -> None:
    node = ReverbProcess(
        env={
            "REVERB_APP_MAX_CONNECTIONS": "2",
            "REVERB_APP_ALLOWED_ORIGINS": "chat.example.com,*.example.org",
            "REVERB_APP_PING_INTERVAL": "0.6",
            "PYREVERB_APP_PONG_TIMEOUT": "0.6",
        }
    ).start()
    try:
        ok = {"origin": "https://chat.example.com"}
        async with websockets.connect(url(node), origin="https://evil.test") as ws:  # type: ignore[arg-type]
            assert (await recv_json(ws))["data"]["code"] == 4009
            assert await expect_close(ws) == 4009
        async with websockets.connect(url(node), origin=ok["origin"]) as a, websockets.connect(url(node), origin="https://x.example.org") as b:  # type: ignore[arg-type]
            await recv_json(a)
            await recv_json(b)
            async with websockets.connect(url(node), origin=ok["origin"]) as c:  # type: ignore[arg-type]
                assert (await recv_json(c))["data"]["code"] == 4004
                assert await expect_close(c) == 4004
            # a silent client is pinged at the protocol level, then closed with 4201
            assert (await recv_json(a))["event"] == "pusher:ping"
            await b.send('{"event":"pusher:pong","data":{}}')
            err = await recv_json(a)
            assert err["event"] == "pusher:error" and err["data"]["code"] == 4201
            assert await expect_close(a) == 4201
    finally:
        node.stop()
