"""deploy/nginx/chatapp-cluster.conf started for real in front of local chatapp and pyreverb processes."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.chatapp.procs import CHATAPP_REVERB_ENV, ChatappProcess
from tests.helpers.procs import ROOT, ReverbProcess, free_port, wait_http
from tests.helpers.tools import debian_tool
from tests.scaling.cluster import cluster_nodes

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


@dataclass
class RunningCluster:
    """pyreverb nodes on Redis, one chatapp instance per node (publishing to it), nginx in front."""

    nodes: list[ReverbProcess]
    apps: list[ChatappProcess]
    nginx: ClusterNginx | None

    @property
    def base_url(self) -> str:
        return self.nginx.base_url if self.nginx else self.apps[0].base_url

    @property
    def ws_port(self) -> int:
        return self.nginx.port if self.nginx else self.nodes[0].port


@contextmanager
def running_cluster(database_url: str, redis_url: str, prefix: str, workdir: Path, count: int = 3,
                    env: dict[str, str] | None = None, behind_nginx: bool = True) -> Iterator[RunningCluster]:
    """Start ``count`` nodes and instances on ``database_url`` (``prefix``: the Redis keys of this run)."""
    nodes = cluster_nodes(redis_url, prefix, count)
    apps: list[ChatappProcess] = []
    nginx: ClusterNginx | None = None
    try:
        for node in nodes:
            node.env.update(CHATAPP_REVERB_ENV)
            node.start()
        shared = {"CHATAPP_REDIS_URL": redis_url, "CHATAPP_REDIS_PREFIX": prefix,
                  "CHATAPP_TRUSTED_PROXIES": "127.0.0.1", **(env or {})}
        for i, node in enumerate(nodes):
            apps.append(ChatappProcess(database_url, node.port, workdir / f"app{i}", env=shared).start(migrate=i == 0))
        if behind_nginx:
            (workdir / "nginx").mkdir(exist_ok=True)
            nginx = ClusterNginx(workdir / "nginx", [a.port for a in apps], [n.port for n in nodes])
        yield RunningCluster(nodes, apps, nginx)
    finally:
        if nginx is not None:
            nginx.stop()
        for app in apps:
            app.stop()
        for node in nodes:
            node.stop()
