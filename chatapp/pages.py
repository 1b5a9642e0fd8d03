"""HTML pages and browser assets: the demo host page, the admin panel, the widget loader.

Everything a browser runs comes from chatapp itself (no CDN): the widget's bundle, which
``make web`` builds into ``web/build`` (chatapp/web/build.mjs), the panel's modules under
``web/static``, and pusher-js / laravel-echo from npm, copied into ``web/static/vendor``.
Admin pages carry a strict Content-Security-Policy; the widget's files are public and
readable cross-origin, since any site may embed the widget. Every file is served compressed
with an ETag (chatapp/assets.py); content-hashed build files are cached for good.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatapp.api.common import json_response, state
from chatapp.assets import REVALIDATE, asset_response
from chatapp.config import Settings

__all__ = ["page_routes", "content_security_policy", "WEB_DIR", "BUILD", "VENDOR_FILES"]

WEB_DIR = Path(__file__).resolve().parent / "web"
PAGES = WEB_DIR / "pages"
STATIC = WEB_DIR / "static"
VENDOR = STATIC / "vendor"
BUILD = WEB_DIR / "build"
# What `make web` copies out of node_modules (see chatapp/web/package.json).
VENDOR_FILES = ("pusher.min.js", "echo.js")


def reverb_origins(settings: Settings) -> str:
    """The WebSocket origin browsers use to reach pyreverb (what Echo is told in /api/config)."""
    host = settings.public_reverb_host or settings.reverb_host
    port = settings.public_reverb_port or settings.reverb_port
    secure = (settings.public_reverb_scheme or settings.reverb_scheme) == "https"
    if secure:
        return f"wss://{host}:{port}"
    # pusher-js falls back to wss:// after failed ws:// attempts (e.g. while pyreverb
    # restarts); allowing it keeps that fallback from showing up as a CSP violation.
    return f"ws://{host}:{port} wss://{host}:{port}"


def content_security_policy(settings: Settings) -> str:
    """Only our own scripts and styles; sockets to pyreverb; images from blobs (attachments)."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' blob: data:",
            "media-src 'self' blob:",
            f"connect-src 'self' {reverb_origins(settings)}",
            "worker-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _page(name: str, *, admin: bool) -> Callable[[Request], Awaitable[Response]]:
    """A static HTML shell; its scripts fetch everything else from the API."""
    path = PAGES / name

    async def handler(request: Request) -> Response:
        headers = {
            "Content-Security-Policy": content_security_policy(state(request).settings),
            "Cache-Control": "no-cache",
        }
        if admin:
            headers["X-Frame-Options"] = "DENY"
            headers["Cache-Control"] = "no-store"
        cache_control = headers.pop("Cache-Control")
        return asset_response(request, path, cache_control=cache_control, headers=headers)

    handler.__name__ = f"page_{path.stem}"
    return handler


class PublicAssets:
    """Static files any site may load (the widget runs on other origins), revalidated by ETag."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"access-control-allow-origin", b"*"),
                    (b"cross-origin-resource-policy", b"cross-origin"),
                    # Host pages may read the sizes of these files in Resource Timing.
                    (b"timing-allow-origin", b"*"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


NOT_FOUND = {"error": "not_found", "message": "No such file"}


def assets_missing() -> Response:
    return json_response(
        {
            "error": "assets_missing",
            "message": "The browser files are not built: run `make web` (npm ci in chatapp/web, "
            "copy pusher-js and laravel-echo to static/vendor, build the widget with build.mjs)",
        },
        503,
    )


def file_under(root: Path, relative: str) -> Path | None:
    """``root/relative`` if that is a file inside ``root`` (no ``..`` or absolute escapes)."""
    if not relative or relative.startswith("/") or "\\" in relative:
        return None
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    return path


async def vendor_file(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in VENDOR_FILES:
        return json_response(NOT_FOUND, 404)
    path = VENDOR / name
    if not path.is_file():
        return assets_missing()
    return asset_response(request, path)


async def build_file(request: Request) -> Response:
    """The widget's bundle: content-hashed names, so cached for good (chatapp.assets)."""
    name = request.path_params["name"]
    path = file_under(BUILD, name)
    if path is None or path.suffix in (".gz", ".br", ".tmp"):
        return json_response(NOT_FOUND, 404)
    return asset_response(request, path)


async def static_file(request: Request) -> Response:
    path = file_under(STATIC, request.path_params["path"])
    if path is None or path.is_relative_to(VENDOR.resolve()):
        return json_response(NOT_FOUND, 404)
    return asset_response(request, path)


async def widget_loader(request: Request) -> Response:
    """The small loader at a fixed URL: revalidated on every page view (a 304 when unchanged)."""
    path = BUILD / "loader.js"
    if not path.is_file():
        return assets_missing()
    return asset_response(
        request, path, cache_control=REVALIDATE,
        headers={"Access-Control-Allow-Origin": "*", "Timing-Allow-Origin": "*"},
    )


async def service_worker(request: Request) -> Response:
    """Served from /admin/ so it may control the admin pages (Web Push while the tab is closed)."""
    return asset_response(request, STATIC / "admin" / "sw.js", headers={"Service-Worker-Allowed": "/admin/"})


async def widget_service_worker(request: Request) -> Response:
    """The widget's push handlers, for a host site's own worker to ``importScripts()`` (docs/widget.md):
    a classic script any origin may load, revalidated so the site's worker sees a new version."""
    return asset_response(
        request, STATIC / "widget" / "sw.js", cache_control=REVALIDATE,
        headers={"Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin",
                 "X-Content-Type-Options": "nosniff"},
    )


async def admin_home(request: Request) -> Response:
    return RedirectResponse("/admin/chat", status_code=302)


def page_routes() -> list[Route | Mount]:
    panel = _page("panel.html", admin=True)
    assets = Router(
        [
            Route("/vendor/{name}", vendor_file, methods=["GET", "HEAD"]),
            Route("/build/{name}", build_file, methods=["GET", "HEAD"]),
            Route("/{path:path}", static_file, methods=["GET", "HEAD"]),
        ]
    )
    return [
        Route("/", _page("index.html", admin=False), methods=["GET", "HEAD"]),
        Route("/widget.js", widget_loader, methods=["GET", "HEAD"]),
        Route("/widget-sw.js", widget_service_worker, methods=["GET", "HEAD"]),
        Route("/admin", admin_home, methods=["GET"]),
        Route("/admin/login", _page("login.html", admin=True), methods=["GET", "HEAD"]),
        Route("/admin/invite", _page("invite.html", admin=True), methods=["GET", "HEAD"]),
        Route("/admin/chat", panel, methods=["GET", "HEAD"]),
        Route("/admin/chat/{room_id:int}", panel, methods=["GET", "HEAD"]),
        Route("/admin/sw.js", service_worker, methods=["GET"]),
        Mount("/static", app=PublicAssets(assets), name="static"),
    ]
