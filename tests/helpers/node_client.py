"""Drive a real pusher-js / laravel-echo client (tests/js/driver.mjs) from asyncio.

Channel auth requests from the client are answered here with the real Python
``pusher`` SDK (``authenticate``), or with a deliberately wrong signature.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

JS_DIR = Path(__file__).resolve().parents[1] / "js"
TIME_FACTOR = float(os.environ.get("TEST_TIME_FACTOR", "1"))

Event = dict[str, Any]
AuthAnswer = Callable[[Event], dict[str, Any] | None]


class NodeClient:
    def __init__(self, proc: asyncio.subprocess.Process, auth: AuthAnswer | None) -> None:
        self.proc = proc
        self.events: list[Event] = []
        self.auth = auth
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, auth: AuthAnswer | None = None, env: dict[str, str] | None = None) -> "NodeClient":
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(JS_DIR / "driver.mjs"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=JS_DIR,
            env={**os.environ, **(env or {})},
        )
        client = cls(proc, auth)
        await client.wait_for(lambda e: e["type"] == "ready")
        return client

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("type") == "auth_request":
                self._answer_auth(event)
                continue
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    def _answer_auth(self, request: Event) -> None:
        try:
            answer = self.auth(request) if self.auth else None
        except Exception as exc:  # noqa: BLE001 - report to the client, keep reading
            self.send(cmd="auth_response", id=request["id"], error=f"auth failed: {exc}")
            return
        if answer is None:
            self.send(cmd="auth_response", id=request["id"], error="no auth configured")
        else:
            self.send(cmd="auth_response", id=request["id"], body=answer)

    def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())

    async def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 5.0) -> Event:
        """Return the first event (past or future) matching ``predicate``."""
        deadline = asyncio.get_running_loop().time() + timeout * TIME_FACTOR
        async with self._changed:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    raise TimeoutError(f"no matching event within {timeout}s; saw: {self.events[-15:]}")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    pass

    async def expect_none(self, predicate: Callable[[Event], bool], within: float = 0.5) -> None:
        await asyncio.sleep(within * TIME_FACTOR)
        hits = [e for e in self.events if predicate(e)]
        assert not hits, f"unexpected events: {hits}"

    async def connected(self, timeout: float = 5.0) -> str:
        event = await self.wait_for(lambda e: e["type"] == "state" and e["current"] == "connected", timeout)
        return str(event["socket_id"])

    def clear(self) -> None:
        self.events.clear()

    async def close(self) -> None:
        try:
            self.send(cmd="exit")
            await asyncio.wait_for(self.proc.wait(), 3)
        except (TimeoutError, ProcessLookupError, BrokenPipeError, ConnectionResetError):
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
        self._reader.cancel()


def sdk_auth(pusher_client: Any, user_id: str | None = None, user_info: dict[str, Any] | None = None) -> AuthAnswer:
    """Answer channel/user auth like a Laravel backend, with the Python SDK."""

    def answer(request: Event) -> dict[str, Any]:
        # the SDK returns shared_secret as bytes for encrypted channels
        return {k: v.decode() if isinstance(v, bytes) else v for k, v in _answer(request).items()}

    def _answer(request: Event) -> dict[str, Any]:
        if request["kind"] == "user":
            return dict(pusher_client.authenticate_user(request["socket_id"], {"id": user_id or "anon", "user_info": user_info or {}}))
        channel = request["channel"]
        if channel.startswith("presence-"):
            custom = {"user_id": user_id, "user_info": user_info or {}}
            return dict(pusher_client.authenticate(channel=channel, socket_id=request["socket_id"], custom_data=custom))
        return dict(pusher_client.authenticate(channel=channel, socket_id=request["socket_id"]))

    return answer
