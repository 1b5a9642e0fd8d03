"""How chatapp serves its pages and browser files: headers, CSP, the vendored npm libraries."""

from __future__ import annotations

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
