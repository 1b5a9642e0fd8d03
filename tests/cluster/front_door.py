"""deploy/nginx/chatapp-cluster.conf started for real in front of local processes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.helpers.procs import ROOT, free_port, wait_http
from tests.helpers.tools import debian_tool

SITE = ROOT / "deploy" / "nginx" / "chatapp-cluster.conf"


class ClusterNginx:
    """nginx in the foreground, plain http on loopback, upstreams rewritten to the given ports."""

    def __init__(self, workdir: Path, chatapp_ports: list[int], reverb_ports: list[int]) -> None:
        self.port = free_port()
        site = SITE.read_text()
        site = re.sub(r"^\s*(ssl_\w+|listen \[::\]:\d+).*\n", "", site, flags=re.MULTILINE)
        site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{self.port};")
        site = site.replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
        site = _servers(site, r"10\.0\.0\.1\d:8000", chatapp_ports)
        site = _servers(site, r"10\.0\.0\.2\d:8080", reverb_ports)
        (workdir / "site.conf").write_text(site)
        temp_paths = "".join(f"    {kind}_temp_path {workdir}/{kind};\n"
                             for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (workdir / "nginx.conf").write_text(
            f"daemon off;\nmaster_process off;\npid {workdir}/nginx.pid;\nerror_log {workdir}/error.log;\n"
            f"events {{}}\nhttp {{\n    access_log off;\n{temp_paths}    include {workdir}/site.conf;\n}}\n"
        )
        self.proc = subprocess.Popen(
            [debian_tool("nginx", "nginx-light"), "-p", f"{workdir}/", "-e", str(workdir / "error.log"),
             "-c", f"{workdir}/nginx.conf"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(f"{self.base_url}/up", proc=self.proc)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def _servers(site: str, pattern: str, ports: list[int]) -> str:
    """The upstream's example servers replaced by one line per local port (same options)."""
    line = re.compile(rf"^[ \t]*server {pattern}([^;]*);\n", flags=re.MULTILINE)
    first = line.search(site)
    assert first, f"no upstream servers matching {pattern}"
    block = "".join(f"    server 127.0.0.1:{port}{first.group(1)};\n" for port in ports)
    return site[: first.start()] + block + line.sub("", site[first.start():])
