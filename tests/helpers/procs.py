"""Start real pyreverb processes on free ports and wait until they answer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
TIME_FACTOR = float(os.environ.get("TEST_TIME_FACTOR", "1"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 15.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout * TIME_FACTOR
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last}")


class ChildServer:
    """Launching, stopping and reading the log of one server subprocess; the
    dataclasses below (and the chatapp harness) add what each server needs."""

    port: int
    proc: subprocess.Popen[bytes] | None
    log_path: Path | None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        """Start ``argv`` with stdout and stderr in ``test-output/logs/{name}-{port}.log``."""
        out_dir = ROOT / "test-output" / "logs"
        out_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = out_dir / f"{name}-{self.port}.log"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""


@dataclass
class ReverbProcess(ChildServer):
    """A real ``pyreverb start`` in a subprocess."""

    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    app_id: str = "100"
    key: str = "test-key"
    secret: str = "test-secret"

    def full_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "REVERB_APP_ID": self.app_id,
                "REVERB_APP_KEY": self.key,
                "REVERB_APP_SECRET": self.secret,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.env)
        return env

    def start(self) -> "ReverbProcess":
        argv = [sys.executable, "-m", "pyreverb", "start", "--host", "127.0.0.1", "--port", str(self.port), *self.args]
        self.launch("pyreverb", argv, self.full_env(), ROOT)
        prefix = next((a.split("=", 1)[1] for a in self.args if a.startswith("--path=")), "")
        try:
            wait_http(f"{self.base_url}{prefix}/up", proc=self.proc)
        except BaseException:
            self.kill()  # a node that never answered is not left running behind the failed test
            raise
        return self

    def pusher_client(self):  # type: ignore[no-untyped-def]
        import pusher

        return pusher.Pusher(
            app_id=self.app_id, key=self.key, secret=self.secret, host="127.0.0.1", port=self.port, ssl=False
        )
