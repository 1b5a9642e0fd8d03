"""`make run` (bin/run-demo) is safe to start on a machine with a network: both servers
bind the loopback only, the app secret and admin password are random, kept under the
var directory and reused, and every start-up line prints the address really bound.
Its pyreverb app refuses client events, as chatapp's documented set-up does."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pusher
import pusher.errors
import pytest

from tests.chatapp.procs import Api, ChatappProcess
from tests.helpers.node_client import NodeClient
from tests.helpers.procs import ROOT, TIME_FACTOR, ChildServer, free_port

pytestmark = pytest.mark.slow  # starts whole stacks; runs in make test

DEMO = ROOT / "bin" / "run-demo"
READY = "Ctrl-C stops everything."
# Settings the caller's environment could carry into the demo and mask what it does itself.
INHERITED = ("DEMO_HOST", "DEMO_ADMIN_PASSWORD", "DATABASE_URL", "CHATAPP_UPLOAD_DIR", "REVERB_APP_ACCEPT_CLIENT_EVENTS_FROM")


class Demo:
    """One ``bin/run-demo`` process with its own var directory and free ports."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.reverb_port = free_port()
        self.chat_port = free_port()
        self.lines: list[str] = []
        env = {k: v for k, v in os.environ.items() if k not in INHERITED and not k.startswith("REVERB_")}
        env.update({"DEMO_VAR_DIR": str(var_dir), "REVERB_SERVER_PORT": str(self.reverb_port), "CHATAPP_PORT": str(self.chat_port)})
        self.proc = subprocess.Popen([sys.executable, str(DEMO)], env=env, cwd=ROOT, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + 60 * TIME_FACTOR
        while READY not in self.output:
            assert self.proc.poll() is None, f"run-demo exited {self.proc.returncode}:\n{self.output}"
            assert time.monotonic() < deadline, f"run-demo did not start:\n{self.output}"
            time.sleep(0.05)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def printed(self, pattern: str) -> tuple[str, ...]:
        found = re.search(pattern, self.output)
        assert found, f"{pattern!r} not in:\n{self.output}"
        return found.groups()

    @property
    def app_secret(self) -> str:
        return self.printed(r"app id/key/secret: \S+ / \S+ / (\S+)")[0]

    @property
    def admin_login(self) -> tuple[str, str]:
        email, password = self.printed(r"admin login\s+(\S+) / (\S+)")
        return email, password

    @property
    def chat_url(self) -> str:
        return f"http://127.0.0.1:{self.chat_port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                for child in psutil.Process(self.proc.pid).children(recursive=True):
                    child.kill()
                self.proc.kill()
                self.proc.wait()
        # The reader ends at end of file; only then is the pipe ours to close.
        self.reader.join(10)
        if self.proc.stdout is not None and not self.reader.is_alive():
            self.proc.stdout.close()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path / "var")
    try:
        yield running
    finally:
        running.stop()


def listening_sockets(demo: Demo) -> set[tuple[str, int]]:
    servers = psutil.Process(demo.proc.pid).children(recursive=True)
    return {(c.laddr.ip, c.laddr.port) for p in servers for c in p.net_connections("inet") if c.status == psutil.CONN_LISTEN}


def other_local_addresses() -> list[str]:
    """This machine's IPv4 addresses off the loopback (those another machine could reach)."""
    return [a.address for addrs in psutil.net_if_addrs().values() for a in addrs
            if a.family == socket.AF_INET and not a.address.startswith("127.")]


def test_demo_listens_on_loopback_only_with_generated_secrets(demo: Demo, tmp_path: Path) -> None:
    assert listening_sockets(demo) == {("127.0.0.1", demo.reverb_port), ("127.0.0.1", demo.chat_port)}
    for address in other_local_addresses():
        for port in (demo.reverb_port, demo.chat_port):
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((address, port), timeout=2).close()
    # every start line shows the address really bound
    demo.printed(rf"pyreverb listening on http://127\.0\.0\.1:{demo.reverb_port} ")
    demo.printed(rf"chatapp listening on http://127\.0\.0\.1:{demo.chat_port} ")
    demo.printed(rf"ws://127\.0\.0\.1:{demo.reverb_port}/app/demo-key")
    demo.printed(rf"demo page\s+http://127\.0\.0\.1:{demo.chat_port}/")

    stored_file = demo.var_dir / "demo-secrets.json"
    assert stat.S_IMODE(stored_file.stat().st_mode) == 0o600
    stored = json.loads(stored_file.read_text())
    secret, (email, password) = demo.app_secret, demo.admin_login
    assert stored == {"reverb_app_secret": secret, "admin_password": password}
    assert len(secret) >= 32 and len(password) >= 12 and secret not in ("demo-secret",) and password != "admin-demo-password"

    # the printed credentials are the ones in force
    Api(demo.chat_url).ok("POST", "/api/auth/login", {"email": email, "password": password})
    assert sdk_client(demo, secret).trigger("demo-check", "e", {"ok": True}) == {}
    with pytest.raises(pusher.errors.PusherBadAuth):
        sdk_client(demo, "demo-secret").trigger("demo-check", "e", {"ok": True})

    # a second run reuses them; a demo elsewhere gets its own
    demo.stop()
    again = Demo(demo.var_dir)
    try:
        assert (again.app_secret, again.admin_login) == (secret, (email, password))
        Api(again.chat_url).ok("POST", "/api/auth/login", {"email": email, "password": password})
    finally:
        again.stop()
    elsewhere = Demo(tmp_path / "other-var")
    try:
        assert elsewhere.app_secret != secret and elsewhere.admin_login[1] != password
    finally:
        elsewhere.stop()


def sdk_client(demo: Demo, secret: str) -> pusher.Pusher:
    return pusher.Pusher(app_id="1", key="demo-key", secret=secret, host="127.0.0.1", port=demo.reverb_port, ssl=False)


def test_start_lines_print_the_bound_wildcard_address_and_port(tmp_path: Path) -> None:
    """Asked for every interface and any port, each server says so: 0.0.0.0 and the real port."""
    app = ChatappProcess(f"sqlite:///{tmp_path / 'chat.sqlite3'}", reverb_port=1, workdir=tmp_path)
    app.cli("migrate")
    servers = {
        "pyreverb": [sys.executable, "-m", "pyreverb", "start", "--host", "0.0.0.0", "--port", "0"],
        "chatapp": [sys.executable, "-m", "chatapp", "serve", "--host", "0.0.0.0", "--port", "0"],
    }
    for name, argv in servers.items():
        server = ChildServer()
        server.port = free_port()  # names the log file only
        server.launch(name, argv, {**app.full_env(), "REVERB_APP_ID": "1", "REVERB_APP_KEY": "k", "REVERB_APP_SECRET": "s"}, tmp_path)
        try:
            deadline = time.monotonic() + 30 * TIME_FACTOR
            while not (found := re.search(rf"{name} listening on http://([\d.]+):(\d+)", server.log())):
                assert time.monotonic() < deadline and server.proc and server.proc.poll() is None, server.log()
                time.sleep(0.05)
            host, port = found.group(1), int(found.group(2))
            assert host == "0.0.0.0" and port != 0
            assert httpx.get(f"http://127.0.0.1:{port}/up", timeout=5).status_code == 200
        finally:
            server.stop()


async def test_demo_refuses_client_events_on_chat_channels(demo: Demo) -> None:
    guest = Api(demo.chat_url).ok("POST", "/api/auth/guest", {"name": "Whispering Wendy"})
    visitor = Api(demo.chat_url, guest["token"], guest["user"])
    room_id = visitor.send("hello")["room"]["id"]
    email, password = demo.admin_login
    admin_token = Api(demo.chat_url).ok("POST", "/api/auth/login", {"email": email, "password": password})["token"]

    def through_chatapp(token: str) -> Any:
        def answer(request: dict[str, Any]) -> dict[str, Any]:
            response = httpx.post(f"{demo.chat_url}/broadcasting/auth", headers={"Authorization": f"Bearer {token}"},
                                  data={"socket_id": request["socket_id"], "channel_name": request["channel"]}, timeout=10)
            response.raise_for_status()
            return dict(response.json())
        return answer

    sender = await NodeClient.start(auth=through_chatapp(guest["token"]))
    agent = await NodeClient.start(auth=through_chatapp(admin_token))
    try:
        for client in (sender, agent):
            client.send(cmd="echo", key="demo-key", port=demo.reverb_port)
            await client.connected()
        agent.send(cmd="echo_listen_whisper", kind="private", name=f"chat.{room_id}", event="typing")
        sender.send(cmd="echo_listen", kind="private", name=f"chat.{room_id}", event=".message.sent")
        for client in (sender, agent):
            await client.wait_for(lambda e: e["type"] == "echo_subscribed")
        # a forged typing event with the agent's id, as a visitor could send it
        sender.send(cmd="echo_whisper", kind="private", name=f"chat.{room_id}", event="typing",
                    data={"user_id": 1, "name": "Support", "is_typing": True})
        refused = await sender.wait_for(lambda e: e["type"] == "connection_error")
        assert refused["error"]["code"] == 4301 and "disabled" in refused["error"]["message"], refused
        await agent.expect_none(lambda e: e["type"] == "whisper" or e.get("event") == "client-typing", within=1.0)
    finally:
        await sender.close()
        await agent.close()
