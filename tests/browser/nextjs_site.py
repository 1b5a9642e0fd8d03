"""The Next.js example site (examples/nextjs) as a real ``next start`` process.

``next build`` is slow enough (tens of seconds) that the build is kept between runs: a hash of
the example's sources and lock file is stamped into ``.next/``, and the site is rebuilt only
when that hash changes. The chat settings (chatapp's URL, pyreverb's host and port) are read by
the site at request time, so one build serves every test run whatever ports it picks.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers.procs import ROOT, TIME_FACTOR, ChildServer, free_port, wait_http

__all__ = ["SITE_DIR", "NextjsSite", "ensure_built", "source_hash"]

SITE_DIR = ROOT / "examples" / "nextjs"
BUILD_STAMP = SITE_DIR / ".next" / "source-hash"
BUILD_LOG = ROOT / "test-output" / "logs" / "nextjs-build.log"
_NOT_SOURCES = {"node_modules", ".next", "tsconfig.tsbuildinfo", "next-env.d.ts"}
_ENV = {"NEXT_TELEMETRY_DISABLED": "1"}


def source_hash() -> str:
    """SHA-256 over every file of the example that ``next build`` reads (paths and contents);
    the README and the git and env files do not change the build."""
    digest = hashlib.sha256()
    for path in sorted(SITE_DIR.rglob("*")):
        rel = path.relative_to(SITE_DIR)
        skipped = rel.parts[0] in _NOT_SOURCES or rel.suffix == ".md" or rel.name.startswith((".env", ".git"))
        if skipped or not path.is_file():
            continue
        digest.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def ensure_built() -> float | None:
    """Build the site unless the stamped build is of these sources; returns the build's seconds
    (None when the cached build was used). Locked, so two test runs never build at once."""
    if not (SITE_DIR / "node_modules" / ".installed").is_file():
        subprocess.run(["make", "-s", "nextjs"], cwd=ROOT, check=True, timeout=600)
    BUILD_LOG.parent.mkdir(parents=True, exist_ok=True)
    with open(SITE_DIR / "node_modules" / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wanted = source_hash()
        if BUILD_STAMP.is_file() and BUILD_STAMP.read_text() == wanted and (SITE_DIR / ".next" / "BUILD_ID").is_file():
            return None
        started = time.monotonic()
        with open(BUILD_LOG, "wb") as log:
            subprocess.run([str(SITE_DIR / "node_modules" / ".bin" / "next"), "build"], cwd=SITE_DIR,
                           env={**os.environ, **_ENV}, stdout=log, stderr=subprocess.STDOUT, check=True,
                           timeout=600 * TIME_FACTOR)
        seconds = time.monotonic() - started
        BUILD_STAMP.write_text(wanted)
        with open(BUILD_LOG, "a") as log:
            log.write(f"\nnext build took {seconds:.1f} s\n")
        return seconds


@dataclass
class NextjsSite(ChildServer):
    """``next start`` of the built example, configured through its environment."""

    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self) -> NextjsSite:
        argv = [str(SITE_DIR / "node_modules" / ".bin" / "next"), "start", "-H", "127.0.0.1", "-p", str(self.port)]
        self.launch("nextjs", argv, {**os.environ, **_ENV, **self.env}, SITE_DIR)
        wait_http(f"{self.base_url}/login", timeout=30, proc=self.proc)
        return self


if __name__ == "__main__":  # `make nextjs-build`: before the suite, so no test waits for it
    took = ensure_built()
    print("examples/nextjs: build " + ("up to date" if took is None else f"done in {took:.1f} s"))
