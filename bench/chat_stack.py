"""pyreverb and one ``chatapp serve`` process for the chat benchmark, pinned like bench.run.

chatapp gets the server core alone (its CPU is what is measured); pyreverb and the
clients share the load core(s). Rate limits that would cap the measurement are
raised through the environment (:data:`UNLIMITED`), and the report says so.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.pinning import LOAD_CPUS, SERVER_CPUS, pinned
from bench.servers import LOG_DIR, ROOT, free_port
from bench.stats import ProcessMeter, SharesMeter

__all__ = ["ChatStack", "UNLIMITED", "AGENT_PASSWORD"]

APP_ID, APP_KEY, APP_SECRET = "bench", "bench-key", "bench-secret"
AGENT_PASSWORD = "bench-agent-password-0123"
# Many visitors behind one address, each sending far more than a person would: the
# benchmark measures the process, not the abuse limits (defaults: docs/configuration.md).
UNLIMITED = {
    "CHATAPP_RATE_MESSAGES": "1000000/1",
    "CHATAPP_RATE_AUTH": "1000000/1",
    "CHATAPP_RATE_TYPING": "1000000/1",
}


def _wait_up(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early; see {log}:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s; see {log}")


@dataclass
class ChatStack:
    database_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    reverb_port: int = 0
    port: int = 0
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    meter: ProcessMeter | None = None
    chatapp_pid: int = 0
    shares: SharesMeter | None = None  # chatapp, pyreverb, the database server and the load, together

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.reverb_port}/app/{APP_KEY}?protocol=7&client=bench&version=1"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": self.database_url,
            "REVERB_APP_ID": APP_ID, "REVERB_APP_KEY": APP_KEY, "REVERB_APP_SECRET": APP_SECRET,
            "REVERB_HOST": "127.0.0.1", "REVERB_PORT": str(self.reverb_port), "REVERB_SCHEME": "http",
            "CHATAPP_UPLOAD_DIR": str(ROOT / "var" / "bench-chat" / "uploads"),
            "PYTHONUNBUFFERED": "1",
            **UNLIMITED,
        })
        env.update(self.extra_env)
        return env

    def _launch(
        self, name: str, cmd: list[str], env: dict[str, str], cpus: list[int]
    ) -> tuple[subprocess.Popen[bytes], Path]:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = LOG_DIR / f"chat-{name}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(pinned(cmd, cpus), env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc, log

    def start(self) -> ChatStack:
        self.reverb_port, self.port = free_port(), free_port()
        reverb_env = {**os.environ, "REVERB_APP_ID": APP_ID, "REVERB_APP_KEY": APP_KEY,
                      "REVERB_APP_SECRET": APP_SECRET, "REVERB_APP_ACCEPT_CLIENT_EVENTS_FROM": "none"}
        reverb, log = self._launch("pyreverb", [sys.executable, "-m", "pyreverb", "start", "--host", "127.0.0.1",
                                                "--port", str(self.reverb_port)], reverb_env, LOAD_CPUS)
        _wait_up(f"http://127.0.0.1:{self.reverb_port}/up", reverb, log)
        chatapp, log = self._launch("chatapp", [sys.executable, "-m", "chatapp", "serve", "--host", "127.0.0.1",
                                                "--port", str(self.port)], self.env(), SERVER_CPUS)
        _wait_up(f"{self.base_url}/up", chatapp, log)
        self.chatapp_pid = chatapp.pid
        self.meter = ProcessMeter(chatapp.pid)
        server = {"postgres": "postgres"} if self.database_url.startswith("postgres") else {}
        self.shares = SharesMeter({"chatapp": chatapp.pid, "pyreverb": reverb.pid}, server)
        return self

    def create_admin(self) -> str:
        """A support admin made with ``chatapp create-admin``; returns the e-mail."""
        email = f"agent-{secrets.token_hex(4)}@bench.test"
        done = subprocess.run([sys.executable, "-m", "chatapp", "create-admin", "--email", email, "--name",
                               "Bench Agent", "--password", AGENT_PASSWORD], env=self.env(), cwd=ROOT,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"chatapp create-admin failed: {done.stderr.strip().splitlines()[-1:]}")
        return email

    def log(self) -> str:
        path = LOG_DIR / "chat-chatapp.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs.clear()
