"""deploy/nginx/chatapp.conf in front of a real chatapp and pyreverb: every path chatapp
serves is routed, text is compressed, the WebSocket goes through, and with
CHATAPP_TRUSTED_PROXIES set to nginx's address each client is counted under its own
address, whatever X-Forwarded-For it sends."""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.routing import Mount, Route
from websockets.sync.client import connect

from chatapp.pages import page_routes
from chatapp.routes import ENDPOINTS
from tests.chatapp.procs import ChatappProcess, chatapp_stack
from tests.helpers.procs import ROOT, TIME_FACTOR
from tests.helpers.tools import debian_tool, make_tls_pair

pytestmark = pytest.mark.slow  # starts whole stacks; runs in make test

SITE = ROOT / "deploy" / "nginx" / "chatapp.conf"
PROXY_ADDRESS = "127.0.0.2"  # nginx listens here; clients come from other loopback addresses
AUTH_LIMIT = 3


def free_port_on(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


class Nginx:
    """nginx in the foreground with the example site, rewritten to local ports."""

    def __init__(self, app: ChatappProcess, workdir: Path) -> None:
        cert, key = make_tls_pair(workdir)
        self.port = free_port_on(PROXY_ADDRESS)
        site = SITE.read_text()
        site = re.sub(r"/etc/letsencrypt/live/[^/]+/fullchain\.pem", str(cert), site)
        site = re.sub(r"/etc/letsencrypt/live/[^/]+/privkey\.pem", str(key), site)
        site = re.sub(r"^\s*listen \[::\]:\d+.*\n", "", site, flags=re.MULTILINE)
        site = site.replace("listen 443 ssl;", f"listen {PROXY_ADDRESS}:{self.port} ssl;")
        site = site.replace("listen 80;", f"listen {PROXY_ADDRESS}:{free_port_on(PROXY_ADDRESS)};")
        site = site.replace("127.0.0.1:8000", f"127.0.0.1:{app.port}").replace("127.0.0.1:8080", f"127.0.0.1:{app.reverb_port}")
        (workdir / "site.conf").write_text(site)
        temp_paths = "".join(f"    {kind}_temp_path {workdir}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (workdir / "nginx.conf").write_text(
            f"daemon off;\nmaster_process off;\npid {workdir}/nginx.pid;\nerror_log {workdir}/error.log;\n"
            f"events {{}}\nhttp {{\n    access_log off;\n{temp_paths}    include {workdir}/site.conf;\n}}\n"
        )
        self.error_log = workdir / "error.log"
        self.proc = subprocess.Popen([debian_tool("nginx", "nginx-light"), "-p", f"{workdir}/", "-e", str(self.error_log),
                                      "-c", f"{workdir}/nginx.conf"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"https://{PROXY_ADDRESS}:{self.port}"
        with self.client() as client:
            for _ in range(int(100 * TIME_FACTOR)):
                try:
                    client.get("/up")
                    return
                except httpx.TransportError:
                    assert self.proc.poll() is None, self.error_log.read_text()
                    time.sleep(0.05)
        raise TimeoutError(self.error_log.read_text())

    def client(self, source: str = "127.0.0.1") -> httpx.Client:
        """A client connecting from ``source`` (any 127/8 address is this machine)."""
        return httpx.Client(base_url=self.url, verify=False, timeout=10,
                            transport=httpx.HTTPTransport(local_address=source, verify=False))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Nginx, ChatappProcess]]:
    workdir = tmp_path_factory.mktemp("proxied")
    env = {"CHATAPP_TRUSTED_PROXIES": "127.0.0.1", "CHATAPP_RATE_AUTH": f"{AUTH_LIMIT}/60"}
    with chatapp_stack(f"sqlite:///{workdir / 'chat.sqlite3'}", workdir, env) as app:
        nginx = Nginx(app, workdir)
        try:
            yield nginx, app
        finally:
            nginx.stop()


def served_paths() -> list[tuple[str, str]]:
    """(method, a concrete path) for every route chatapp serves: its API table and its pages."""
    routes = [(e.method, e.path) for e in ENDPOINTS] + [("GET", "/api/openapi.json")]
    for route in page_routes():
        if isinstance(route, Mount):
            routes.append(("GET", f"{route.path}/icon.svg"))
        elif isinstance(route, Route):
            routes.append(("GET" if "GET" in (route.methods or ()) else min(route.methods or ()), route.path))
    return [(method, re.sub(r"\{[^}]+\}", "1", path)) for method, path in routes]


def test_no_route_of_chatapp_is_stopped_at_the_proxy(proxied: tuple[Nginx, ChatappProcess]) -> None:
    """Whatever chatapp answers (401, 404 of its own, ...), nginx's own 404 never does."""
    nginx, _ = proxied
    paths = served_paths()
    assert ("POST", "/broadcasting/auth") in paths and ("GET", "/widget.js") in paths
    with nginx.client() as client:
        for method, path in paths:
            response = client.request(method, path)
            assert "<center>nginx" not in response.text, f"{method} {path} stops at nginx: {response.status_code}"


def test_every_chatapp_path_is_routed_and_text_is_compressed(proxied: tuple[Nginx, ChatappProcess]) -> None:
    nginx, _ = proxied
    with nginx.client() as client:
        for path in ("/", "/widget.js", "/static/admin/admin.css", "/admin/login", "/admin/chat", "/api/config", "/up"):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        assert client.get("/admin").status_code == 302
        assert client.post("/broadcasting/auth", data={"socket_id": "1.1", "channel_name": "private-admin.chat"}).status_code in (401, 403)
        for path in ("/widget.js", "/static/admin/admin.css", "/static/admin/panel.js"):  # over gzip_min_length
            assert client.get(path, headers={"Accept-Encoding": "gzip"}).headers.get("content-encoding") == "gzip", path
        for path in ("/metrics", "/apps/100/events", "/nothing-here"):
            assert client.get(path).status_code == 404, path


def test_the_websocket_goes_through_to_pyreverb(proxied: tuple[Nginx, ChatappProcess]) -> None:
    nginx, _ = proxied
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with connect(f"wss://{PROXY_ADDRESS}:{nginx.port}/app/test-key?protocol=7", ssl=context) as ws:
        assert json.loads(ws.recv(timeout=5))["event"] == "pusher:connection_established"


def test_each_client_is_limited_under_its_own_address_whatever_it_claims(proxied: tuple[Nginx, ChatappProcess]) -> None:
    nginx, _ = proxied
    with nginx.client(source="127.0.0.3") as rotating, nginx.client(source="127.0.0.4") as bystander:
        answers = [rotating.post("/api/auth/guest", json={"name": "Rotating Rick"},
                                 headers={"X-Forwarded-For": f"198.51.100.{i}", "X-Real-IP": f"198.51.100.{i}"}).status_code
                   for i in range(AUTH_LIMIT + 1)]
        assert answers == [201] * AUTH_LIMIT + [429] or answers == [200] * AUTH_LIMIT + [429], answers
        # another client behind the same proxy has its own allowance
        assert bystander.post("/api/auth/guest", json={"name": "Bystander Bea"}).status_code in (200, 201)
