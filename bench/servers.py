"""The servers under test: pyreverb and its peers, each started fresh and pinned.

Every server is described by how the load agents talk to it (``target``): the
client protocol (``pusher``, ``socketio``, ``room``) and how a broadcast is
triggered (signed Pusher HTTP API, Socket.IO's ``POST /broadcast``, or a message
from a publisher WebSocket for the bare ceilings).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.pinning import SERVER_CPUS, pinned
from bench.stats import ProcessMeter

__all__ = ["Server", "SERVERS", "PEERS_DIR", "ensure_peers", "peer_available", "free_port"]

ROOT = Path(__file__).resolve().parents[1]
PEERS_DIR = Path(os.environ.get("BENCH_PEERS_DIR", ROOT / "var" / "peers"))
SHARED_PEERS = Path(os.environ.get("BENCH_SHARED_PEERS", "/work/shared/peers"))
LOG_DIR = ROOT / "var" / "bench-logs"
# A directory holding another copy of the ``pyreverb`` package, measured as "pyreverb-baseline".
_BASELINE = os.environ.get("BENCH_BASELINE_SRC")
BASELINE_SRC = Path(_BASELINE) if _BASELINE else None

APP_ID, APP_KEY, APP_SECRET = "bench", "bench-key", "bench-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_peers() -> bool:
    """Copy the peer kit somewhere writable and install it once; False if unavailable."""
    ready = PEERS_DIR / ".installed"
    if ready.exists():
        return True
    if not (PEERS_DIR / "setup.sh").exists():
        if not SHARED_PEERS.exists():
            return False
        shutil.copytree(SHARED_PEERS, PEERS_DIR, dirs_exist_ok=True)
        for path in PEERS_DIR.rglob("*"):
            path.chmod(path.stat().st_mode | 0o200)
    result = subprocess.run(["bash", str(PEERS_DIR / "setup.sh")], capture_output=True, text=True)
    if result.returncode != 0:
        print(f"peer setup failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}", file=sys.stderr)
        return False
    ready.touch()
    return True


@dataclass
class Server:
    name: str
    proto: str
    trigger: str
    api_trigger: str | None = None  # its server-side HTTP trigger, if any
    multi_channel_api: bool = False  # one request may name several channels
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    meter: ProcessMeter | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    profile_to: Path | None = None  # pyreverb only: record a py-spy flame graph here

    @property
    def target(self) -> dict[str, Any]:
        return self.target_with(self.trigger)

    def target_with(self, trigger: str) -> dict[str, Any]:
        return {
            "proto": self.proto,
            "trigger": trigger,
            "url": f"ws://127.0.0.1:{self.port}",
            "http": f"http://127.0.0.1:{self.port}",
            "appId": APP_ID if self.name != "soketi" else "app-id",
            "key": APP_KEY if self.name != "soketi" else "app-key",
            "secret": APP_SECRET if self.name != "soketi" else "app-secret",
        }

    def available(self) -> bool:
        return peer_available(self.name)

    def command(self) -> tuple[list[str], dict[str, str], Path | None]:
        env = dict(os.environ)
        env.update(self.extra_env)
        node = shutil.which("node") or "node"
        if self.name.startswith("pyreverb"):
            env.update({"REVERB_APP_ID": APP_ID, "REVERB_APP_KEY": APP_KEY, "REVERB_APP_SECRET": APP_SECRET})
            cmd = [sys.executable, "-m", "pyreverb", "start", "--host", "127.0.0.1", "--port", str(self.port)]
            if self.profile_to is not None:
                spy = Path(sys.executable).with_name("py-spy")
                cmd = [str(spy), "record", "--nonblocking", "--rate", "250", "--format", "raw",
                       "-o", str(self.profile_to), "--", *cmd]
            # "pyreverb-baseline" runs another copy of the source (an A/B of one change)
            return cmd, env, BASELINE_SRC if self.name == "pyreverb-baseline" else ROOT
        if self.name == "websockets":
            return [sys.executable, "-m", "bench.peers.ws_broadcast", "--port", str(self.port)], env, ROOT
        if self.name == "python-socketio":
            uvicorn = str(PEERS_DIR / "venv" / "bin" / "uvicorn")
            return [uvicorn, "server:app", "--app-dir", str(PEERS_DIR / "socketio"), "--host", "127.0.0.1",
                    "--port", str(self.port), "--log-level", "warning"], env, None
        if self.name == "node-ws":
            env.update({"HOST": "127.0.0.1", "PORT": str(self.port)})
            return [node, "server.js"], env, PEERS_DIR / "ws-broadcast"
        if self.name == "soketi":
            env.update({
                "SOKETI_DEFAULT_APP_ID": "app-id", "SOKETI_DEFAULT_APP_KEY": "app-key",
                "SOKETI_DEFAULT_APP_SECRET": "app-secret", "SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES": "true",
                "SOKETI_DEBUG": "0",
            })
            cfg = PEERS_DIR / "soketi" / "soketi.json"
            script = PEERS_DIR / "soketi" / "node_modules" / "@soketi" / "soketi" / "bin" / "server.js"
            return [node, str(script), "start", f"--config={cfg}"], env, PEERS_DIR / "soketi"
        raise ValueError(self.name)

    def health_url(self) -> str:
        path = "/up" if self.name.startswith("pyreverb") else "/ready" if self.name == "soketi" else "/health"
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self, port: int | None = None) -> Server:
        """Start on ``port`` (a restart keeps the old one), else on a free port."""
        self.port = 6001 if self.name == "soketi" else port or free_port()  # soketi.json pins its port
        cmd, env, cwd = self.command()
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{self.name}.log"
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(pinned(cmd, SERVER_CPUS), env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.health_url(), timeout=1) as r:
                    if r.status < 500:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"{self.name} did not answer {self.health_url()}")
        if self.name == "soketi" and "Falling back" in self.log_path.read_text(errors="replace"):
            self.stop()
            raise RuntimeError("soketi fell back to its NodeJS WebSocket implementation; not a fair figure")
        self.meter = ProcessMeter(self.proc.pid)
        return self

    def restart(self) -> None:
        """SIGTERM (pyreverb drains: every client gets 4200, as after `pyreverb restart`),
        then the same server again on the same port, as a supervisor would."""
        port = self.port
        self.stop()
        self.start(port)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            if self.profile_to is not None:  # stop the server, so py-spy writes its graph
                for child in psutil.Process(self.proc.pid).children():
                    child.terminate()
                self.proc.wait(30)
                self.proc = None
                return
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def peer_available(name: str) -> bool:
    if name in ("pyreverb", "pyreverb-unpaced", "websockets"):
        return True
    if name == "pyreverb-baseline":
        return BASELINE_SRC is not None and (BASELINE_SRC / "pyreverb" / "__init__.py").exists()
    if shutil.which("node") is None and name in ("node-ws", "soketi"):
        return False
    return {
        "python-socketio": PEERS_DIR / "venv" / "bin" / "uvicorn",
        "node-ws": PEERS_DIR / "ws-broadcast" / "node_modules" / "ws",
        "soketi": PEERS_DIR / "soketi" / "node_modules" / "@soketi" / "soketi",
    }[name].exists()


def SERVERS() -> dict[str, Server]:  # noqa: N802 - a factory: every run gets fresh objects
    return {
        "pyreverb": Server("pyreverb", "pusher", "pusher-http", "pusher-http", multi_channel_api=True),
        "pyreverb-baseline": Server(
            "pyreverb-baseline", "pusher", "pusher-http", "pusher-http", multi_channel_api=True
        ),
        # handshakes not paced (admission control off): the storm scenario's A/B
        "pyreverb-unpaced": Server(
            "pyreverb-unpaced", "pusher", "pusher-http", "pusher-http", multi_channel_api=True,
            extra_env={"PYREVERB_HANDSHAKES_PER_SECOND": "0"},
        ),
        "python-socketio": Server("python-socketio", "socketio", "socketio-http", "socketio-http"),
        "websockets": Server("websockets", "room", "room-ws"),
        "node-ws": Server("node-ws", "room", "room-ws", "room-http"),
        "soketi": Server("soketi", "pusher", "pusher-http", "pusher-http", multi_channel_api=True),
    }
