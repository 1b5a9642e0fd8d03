"""How chatapp serves its pages and browser files: headers, CSP, the vendored npm libraries."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from chatapp import pages as web
from tests.browser.conftest import Stack

pytestmark = pytest.mark.browser


def test_admin_pages_carry_a_strict_content_security_policy(stack: Stack) -> None:
    for path in ("/admin/login", "/admin/chat", "/admin/chat/12345"):
        response = httpx.get(stack.url + path)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        csp = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
        assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'" and csp["object-src"] == "'none'"
        assert csp["connect-src"] == f"'self' ws://127.0.0.1:{stack.reverb.port} wss://127.0.0.1:{stack.reverb.port}"
        assert csp["frame-ancestors"] == "'none'"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(stack.url + "/admin").headers["location"] == "/admin/chat"
    assert httpx.get(stack.url + "/admin/chat/not-a-number").status_code == 404


def test_widget_files_load_from_any_site_and_the_libraries_are_npms(stack: Stack) -> None:
    loader = httpx.get(stack.url + "/widget.js")
    assert loader.status_code == 200 and loader.headers["content-type"].startswith("text/javascript")
    module = httpx.get(stack.url + "/static/widget/widget.js", headers={"Origin": "https://shop.example"})
    assert module.status_code == 200 and module.headers["access-control-allow-origin"] == "*"
    assert module.headers["cross-origin-resource-policy"] == "cross-origin"
    node_modules = web.WEB_DIR / "node_modules"
    sources = {
        "pusher.min.js": node_modules / "pusher-js" / "dist" / "web" / "pusher.min.js",
        "echo.js": node_modules / "laravel-echo" / "dist" / "echo.js",
    }
    for name, source in sources.items():
        served = httpx.get(f"{stack.url}/static/vendor/{name}")
        assert served.status_code == 200 and served.headers["access-control-allow-origin"] == "*"
        assert served.content == source.read_bytes(), f"{name} is not the file npm installed"
    assert httpx.get(stack.url + "/static/vendor/LICENSE.pusher-js.txt").status_code == 404


async def test_missing_vendor_files_answer_with_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web, "VENDOR", tmp_path)
    transport = httpx.ASGITransport(app=Starlette(routes=web.page_routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://chat.test") as client:
        response = await client.get("/static/vendor/echo.js")
    assert response.status_code == 503
    assert response.json()["error"] == "assets_missing" and "make web" in response.json()["message"]


def test_files_are_compressed_cached_by_content_and_revalidated_with_304(stack: Stack) -> None:
    loader = httpx.get(stack.url + "/widget.js", headers={"Accept-Encoding": "br, gzip"})
    assert loader.headers["content-encoding"] == "br" and "Accept-Encoding" in loader.headers["vary"]
    assert loader.headers["cache-control"] == "no-cache" and loader.headers["access-control-allow-origin"] == "*"
    again = httpx.get(stack.url + "/widget.js", headers={"Accept-Encoding": "br, gzip",
                                                         "If-None-Match": loader.headers["etag"]})
    assert again.status_code == 304 and again.content == b""

    bundle_path = re.search(r"/static/build/widget-[A-Za-z0-9_-]+\.js", httpx.get(stack.url + "/widget.js").text)
    assert bundle_path, "the loader names the content-hashed bundle"
    bundle = httpx.get(stack.url + bundle_path.group(0), headers={"Accept-Encoding": "gzip"})
    assert bundle.status_code == 200 and bundle.headers["content-encoding"] == "gzip"
    assert bundle.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert int(bundle.headers["content-length"]) < len(bundle.content) / 2  # on the wire vs. decoded

    # pusher-js for the panel, the panel's own modules and the demo page: 304 once seen.
    for path in ("/static/vendor/pusher.min.js", "/static/admin/panel.js", "/static/admin/admin.css", "/"):
        first = httpx.get(stack.url + path)
        assert first.headers["content-encoding"] == "gzip", path
        assert first.headers["cache-control"] == "no-cache", path
        revalidated = httpx.get(stack.url + path, headers={"If-None-Match": first.headers["etag"]})
        assert revalidated.status_code == 304, path

    # API answers are gzipped on the fly when large enough.
    assert httpx.get(stack.url + "/api/openapi.json").headers["content-encoding"] == "gzip"
    for escape in ("/static/build/..%2fpages%2findex.html", "/static/build/manifest.json.br",
                   "/static/..%2fpages%2fpanel.html", "/static/build/nothing.js"):
        assert httpx.get(stack.url + escape).status_code == 404, escape
