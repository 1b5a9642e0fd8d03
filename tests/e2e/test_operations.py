"""Operator features: webhooks, metrics, restart/status, TLS, path prefix."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pusher
import pytest
import websockets
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_http_api import signed_url
from tests.helpers.node_client import NodeClient, sdk_auth
from tests.helpers.procs import ROOT, ReverbProcess, free_port


class WebhookReceiver:
    """A real HTTP endpoint collecting webhook POSTs; can fail the first N."""

    def __init__(self, fail_first: int = 0) -> None:
        self.posts: list[dict[str, Any]] = []
        self.fail_first = fail_first
        self.attempts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts += 1
                if receiver.attempts <= receiver.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.posts.append({"body": body, "key": self.headers["X-Pusher-Key"], "signature": self.headers["X-Pusher-Signature"]})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, sdk: pusher.Pusher) -> list[dict[str, Any]]:
        found = []
        for post in self.posts:
            doc = sdk.validate_webhook(key=post["key"], signature=post["signature"], body=post["body"].decode())
            assert doc is not None, "signature must verify with the SDK"
            found.extend(doc["events"])
        return found

    async def wait_for(self, sdk: pusher.Pusher, predicate: Any, timeout: float = 8) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events(sdk):
                if predicate(event):
                    return event
            await asyncio.sleep(0.05)
        raise TimeoutError(f"no webhook matched; got {self.events(sdk)}")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(fail_first=1)
    yield r
    r.server.shutdown()
    r.server.server_close()


async def test_webhooks_signed_batched_retried(receiver: WebhookReceiver, node_clients: list[NodeClient]) -> None:
    node = ReverbProcess(env={"PYREVERB_APP_WEBHOOK_URL": receiver.url, "PYREVERB_APP_WEBHOOK_BATCH_MS": "100"}).start()
    try:
        sdk = node.pusher_client()
        a = await NodeClient.start(auth=sdk_auth(sdk, user_id="ann"))
        b = await NodeClient.start(auth=sdk_auth(sdk, user_id="bob"))
        node_clients += [a, b]
        for c in (a, b):
            c.send(cmd="pusher", key=node.key, port=node.port)
            await c.connected()
            c.send(cmd="subscribe", channel="presence-desk")
            await c.wait_for(lambda e: e["type"] == "subscribed")
        b_socket = await b.connected()
        b.send(cmd="trigger", channel="presence-desk", event="client-typing", data={"on": True})
        sent = await b.wait_for(lambda e: e["type"] == "triggered")
        assert sent["ok"], b.events
        await a.wait_for(lambda e: e["type"] == "event" and e["event"] == "client-typing")
        a.send(cmd="subscribe", channel="cache-prices")
        await a.wait_for(lambda e: e["type"] == "subscribed" and e["channel"] == "cache-prices")
        b.send(cmd="disconnect")
        a.send(cmd="disconnect")
        want = [
            ("channel_occupied", "presence-desk", {}),
            ("member_added", "presence-desk", {"user_id": "bob"}),
            ("client_event", "presence-desk", {"event": "client-typing", "user_id": "bob", "socket_id": b_socket}),
            ("cache_miss", "cache-prices", {}),
            ("channel_occupied", "cache-prices", {}),
            ("member_removed", "presence-desk", {"user_id": "bob"}),
            ("channel_vacated", "presence-desk", {}),
            ("channel_vacated", "cache-prices", {}),
        ]
        for name, channel, extra in want:
            await receiver.wait_for(sdk, lambda e: e["name"] == name and e["channel"] == channel and all(e.get(k) == v for k, v in extra.items()))
        events = receiver.events(sdk)
        client_event = next(e for e in events if e["name"] == "client_event")
        assert json.loads(client_event["data"]) == {"on": True}
        assert sum(1 for e in events if e["name"] == "channel_occupied" and e["channel"] == "presence-desk") == 1
        assert receiver.attempts > len(receiver.posts), "the first delivery failed and was retried"
        assert len(receiver.posts) < len(events), "events were batched"
    finally:
        node.stop()


async def test_metrics_counts_match_traffic(node_clients: list[NodeClient]) -> None:
    node = ReverbProcess(env={"PYREVERB_METRICS_ENABLED": "true", "PYREVERB_METRICS_TOKEN": "s3cret"}).start()
    try:
        sdk = node.pusher_client()
        clients = []
        for _ in range(3):
            c = await NodeClient.start(auth=sdk_auth(sdk, user_id="u"))
            node_clients.append(c)
            c.send(cmd="pusher", key=node.key, port=node.port)
            await c.connected()
            c.send(cmd="subscribe", channel="ticker")
            await c.wait_for(lambda e: e["type"] == "subscribed")
            clients.append(c)
        for i in range(5):
            await asyncio.to_thread(sdk.trigger, "ticker", "tick", {"i": i})
        await clients[0].wait_for(lambda e: e["type"] == "event" and e["data"] == {"i": 4})
        httpx.post(f"{node.base_url}/apps/{node.app_id}/events?auth_key=nope", content=b"{}")  # a 401
        assert httpx.get(f"{node.base_url}/metrics").status_code == 401
        text = httpx.get(f"{node.base_url}/metrics", headers={"Authorization": "Bearer s3cret"}).text
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for fam in text_string_to_metric_families(text) for s in fam.samples}
        assert samples[("pyreverb_connections", (("app_id", node.app_id),))] == 3
        assert samples[("pyreverb_api_messages_total", ())] == 5
        assert samples[("pyreverb_messages_sent_total", ())] == 15
        assert samples[("pyreverb_subscriptions", (("app_id", node.app_id),))] == 3
        assert samples[("pyreverb_http_requests_total", (("status", "401"),))] >= 1
        assert samples[("pyreverb_http_requests_total", (("status", "200"),))] >= 5
        assert samples[("pyreverb_webhook_queue_depth", ())] == 0
    finally:
        node.stop()


def test_metrics_negotiate_openmetrics_with_the_scraper() -> None:
    node = ReverbProcess(env={"PYREVERB_METRICS_ENABLED": "true"}).start()
    try:
        plain = httpx.get(f"{node.base_url}/metrics")
        assert plain.status_code == 200 and plain.headers["content-type"].startswith("text/plain; version=0.0.4")
        scraped = httpx.get(f"{node.base_url}/metrics", headers={"Accept": "application/openmetrics-text;version=1.0.0"})
        assert scraped.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
        families = {f.name for f in openmetrics_families(scraped.text)}
        assert {"pyreverb_connections_opened", "pyreverb_uptime_seconds", "process_resident_memory_bytes"} <= families
    finally:
        node.stop()


@pytest.mark.slow
async def test_restart_drains_and_a_supervisor_brings_the_node_back(tmp_path: Path, node_clients: list[NodeClient]) -> None:
    env = {"PYREVERB_RESTART_FILE": str(tmp_path / "restart")}
    node = ReverbProcess(env=env).start()
    try:
        client = await NodeClient.start(auth=sdk_auth(node.pusher_client(), user_id="u"))
        node_clients.append(client)
        client.send(cmd="pusher", key=node.key, port=node.port)
        await client.connected()
        client.send(cmd="subscribe", channel="private-jobs")
        await client.wait_for(lambda e: e["type"] == "subscribed")

        status = subprocess.run(
            [sys.executable, "-m", "pyreverb", "status", "--port", str(node.port), "--interval", "0.2"],
            env=node.full_env(), capture_output=True, text=True, timeout=20, cwd=ROOT,
        )
        assert status.returncode == 0, status.stderr
        assert "connections        1" in status.stdout and "channels           1" in status.stdout

        out = subprocess.run([sys.executable, "-m", "pyreverb", "restart"], env=node.full_env(), capture_output=True, text=True, timeout=20, cwd=ROOT)
        assert out.returncode == 0 and "restart requested" in out.stdout
        assert await asyncio.to_thread(node.proc.wait, 10) == 0  # type: ignore[union-attr]
        err = await client.wait_for(lambda e: e["type"] == "connection_error")
        assert err["error"]["code"] == 4200
        client.clear()
        node.start()  # the supervisor's part
        await client.connected(timeout=20)
        await client.wait_for(lambda e: e["type"] == "subscribed" and e["channel"] == "private-jobs", timeout=10)
        await asyncio.sleep(1.5)
        assert node.proc.poll() is None, "an old restart request must not stop the new node"  # type: ignore[union-attr]
    finally:
        node.stop()


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


async def test_tls_serves_wss_and_https(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    node = ReverbProcess(args=[f"--tls-cert={cert}", f"--tls-key={key}"])
    port = node.port
    node.proc = subprocess.Popen(
        [sys.executable, "-m", "pyreverb", "start", "--host", "127.0.0.1", "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)],
        env=node.full_env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        ctx = ssl.create_default_context(cafile=str(cert))
        deadline = time.monotonic() + 15
        while True:
            try:
                assert httpx.get(f"https://127.0.0.1:{port}/up", verify=ctx).json() == {"health": "OK"}
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        async with websockets.connect(f"wss://127.0.0.1:{port}/app/{node.key}?protocol=7", ssl=ctx) as ws:
            assert json.loads(await ws.recv())["event"] == "pusher:connection_established"
    finally:
        node.stop()


async def test_path_prefix_for_websocket_and_api(node_clients: list[NodeClient]) -> None:
    node = ReverbProcess(args=["--path=/realtime"]).start()
    try:
        c = await NodeClient.start()
        node_clients.append(c)
        c.send(cmd="pusher", key=node.key, port=node.port, wsPath="/realtime")
        await c.connected()
        c.send(cmd="subscribe", channel="news")
        await c.wait_for(lambda e: e["type"] == "subscribed")
        body = json.dumps({"name": "e", "data": "{}", "channel": "news"}).encode()
        # signed with the prefix (SDK configured with the full path) ...
        r1 = httpx.post(signed_url(node, "POST", f"/realtime/apps/{node.app_id}/events", body), content=body)
        # ... and signed without it (a proxy forwards /realtime/... unchanged)
        url = signed_url(node, "POST", f"/apps/{node.app_id}/events", body).replace(node.base_url, node.base_url + "/realtime")
        r2 = httpx.post(url, content=body)
        assert (r1.status_code, r2.status_code) == (200, 200), (r1.text, r2.text)
        assert httpx.get(f"{node.base_url}/up").status_code == 404
        await c.wait_for(lambda e: e["type"] == "event" and e["event"] == "e")
    finally:
        node.stop()
