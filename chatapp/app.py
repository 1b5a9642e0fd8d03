"""``create_app(settings)``: the Starlette application and its start-up/shutdown.

Start-up opens the database, refuses to run on a schema that ``chatapp migrate``
has not brought up to date, loads (or generates on first run) the token secret
and the VAPID key pair, and starts the broadcast worker. Shutdown drains queued
events before closing.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from chatapp import repository as repo
from chatapp.api.common import json_response
from chatapp.auth import Passwords, Tokens
from chatapp.broadcasting import Broadcaster
from chatapp.config import Settings
from chatapp.db import DatabaseUnavailable, SqliteDatabase, connect
from chatapp.errors import ChatError, TooManyRequests
from chatapp.events import Events
from chatapp.file_storage import file_storage
from chatapp.heap import settle_for_serving
from chatapp.i18n import Catalogues
from chatapp.login_throttle import LoginThrottle
from chatapp.mail import Mailer
from chatapp.openapi import build_openapi
from chatapp.outbox import Outbox, Relay
from chatapp.pages import page_routes
from chatapp.push import PushNotifier, load_vapid
from chatapp.ratelimit import RateLimiter, limit_storage
from chatapp.retention import RetentionSweeper
from chatapp.route_index import IndexedRouter
from chatapp.routes import starlette_routes
from chatapp.schema import pending
from chatapp.search_merge import SearchIndexMerger
from chatapp.services import ChatService
from chatapp.sessions import Sessions
from chatapp.site_hours import SiteHours
from chatapp.state import ChatState
from chatapp.uploads import UploadStore
from chatapp.wal_checkpoint import WalCheckpointer

__all__ = ["create_app", "create_served_app", "SchemaOutdated"]

log = logging.getLogger("chatapp")


class SchemaOutdated(RuntimeError):  # noqa: N818 (a state, as the operator reads it in the log)
    """The database lacks migrations; run ``chatapp migrate`` first."""


async def build_state(settings: Settings) -> ChatState:
    db = await connect(settings.database_url, settings.db_timeout)
    checkpointer = WalCheckpointer(db) if WalCheckpointer.wanted(db) else None
    try:
        missing = await pending(db)
        if missing:
            names = ", ".join(f"{m.version:03d}_{m.name}" for m in missing)
            raise SchemaOutdated(f"database schema is behind ({names} not applied): run `chatapp migrate`")
        if checkpointer is not None:  # before the relay opens its connection: it follows the requests'
            await checkpointer.open()
            checkpointer.start()  # SQLite's log copied off the request path (chatapp.wal_checkpoint)
        secret = settings.secret_key or await repo.get_or_create_secret(db, "secret_key", secrets.token_urlsafe(48))
        broadcaster = Broadcaster(settings)
        await broadcaster.start()
        uploads = UploadStore(file_storage(settings), settings.max_upload_bytes)
        await uploads.ensure()
        vapid = await load_vapid(settings, db) if settings.push_enabled else None
        catalogues = Catalogues.configured(settings.locales_dir)
        push = PushNotifier(settings, db, broadcaster, vapid, catalogues) if vapid is not None else None
        limit_store = limit_storage(settings.redis_url, settings.redis_prefix)
        limiter = RateLimiter(limit_store)
        outbox = Outbox(settings)
        relay = Relay(settings, db, broadcaster)
        outbox.relay = relay
        events = Events(broadcaster, outbox, settings.public_url)
        relay.render_stored = events.render_stored
        service = ChatService(settings, db, events, uploads, limiter, push, catalogues)
        if settings.reverb_configured:
            await relay.start()  # rows left by a previous run (even one killed -9) go out now
        service.stats_feed.start()
        service.auto_closer.start()
        service.status_totals.start()
        service.router.start()  # the periodic drain of the queue (chatapp.routing)
        service.snoozer.start()  # wakes snoozed chats at their time (chatapp.snooze)
        merger = SearchIndexMerger(db) if isinstance(db, SqliteDatabase) else None
        if merger is not None:
            merger.start()  # SQLite's search indexes merged in small steps (chatapp.search_merge)
        return ChatState(
            settings=settings,
            db=db,
            sessions=Sessions(
                settings, db, Tokens(secret, max(settings.token_ttl, settings.guest_token_ttl)), broadcaster
            ),
            passwords=Passwords(),
            limiter=limiter,
            login_throttle=LoginThrottle(
                settings.rate_login_failures, settings.login_backoff_after, settings.login_backoff_max,
                limiter.window,
            ),
            broadcaster=broadcaster,
            uploads=uploads,
            service=service,
            relay=relay,
            push=push,
            hours=SiteHours(db, service.router, catalogues),
            search_merger=merger,
            wal_checkpointer=checkpointer,
        )
    except BaseException:
        if checkpointer is not None:
            await checkpointer.stop()
        await db.close()
        raise


async def close_state(chat: ChatState) -> None:
    if chat.search_merger is not None:
        await chat.search_merger.stop()
    await chat.service.snoozer.stop()
    await chat.service.router.stop()
    await chat.service.auto_closer.stop()
    await chat.service.status_totals.stop()
    await chat.service.stats_feed.stop()
    await chat.relay.stop()
    await chat.broadcaster.stop()
    if chat.push:
        await chat.push.stop()
    await chat.limiter.window.close()
    if chat.wal_checkpointer is not None:
        await chat.wal_checkpointer.stop()
    await chat.db.close()


async def chat_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ChatError)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    return json_response(exc.to_json(), exc.status, headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {400: "malformed_request", 404: "not_found", 405: "method_not_allowed"}
    detail = "No such endpoint" if exc.status_code == 404 else exc.detail
    return json_response({"error": codes.get(exc.status_code, "http_error"), "message": detail}, exc.status_code,
                         dict(exc.headers or {}))


async def database_unavailable(request: Request, exc: Exception) -> Response:
    """A locked or restarting database is a retryable 503; the interrupted transaction was rolled back."""
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    doc = {"error": "database_unavailable", "message": "The database is not answering; retry shortly", "retry_after": 1}
    return json_response(doc, 503, {"Retry-After": "1"})


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return json_response({"error": "server_error", "message": "Something went wrong on our side"}, 500)


class SecurityHeaders:
    """``nosniff`` and no referrer leaks on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if b"referrer-policy" not in names:
                    headers.append((b"referrer-policy", b"same-origin"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def client_address_middleware(settings: Settings) -> list[Middleware]:
    """Believe ``X-Forwarded-For`` only from ``CHATAPP_TRUSTED_PROXIES``, the same under any ASGI server.

    The client is the right-most entry that is not itself a trusted proxy (uvicorn's
    own rule): entries to its left were written by the client and prove nothing.
    Without trusted proxies the header is ignored and the peer address counts.
    """
    if not settings.trusted_proxies:
        return []
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))]


def create_app(settings: Settings | None = None, *, serving: bool = False) -> Starlette:
    """The application; ``serving``: it is the process's only one (``chatapp serve``), so its
    start-up also sets the garbage collector for a long run (chatapp.heap)."""
    settings = settings or Settings.from_env()
    openapi = build_openapi()

    async def openapi_json(request: Request) -> Response:
        return json_response(openapi)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        chat = await build_state(settings)
        app.state.chat = chat
        retention = RetentionSweeper(settings, chat.db, chat.uploads, chat.service.events, chat.service.stats_feed)
        retention.start()  # only when CHATAPP_RETENTION_DAYS is set
        chat.mail = await Mailer.open(settings, chat.db, chat.service.catalogues)
        chat.mail.start()  # only with CHATAPP_SMTP_URL and CHATAPP_MAIL_FROM
        if serving:
            settle_for_serving()
        try:
            yield
        finally:
            await chat.mail.stop()
            await retention.stop()
            await close_state(chat)

    routes: list[Route | Mount] = [*starlette_routes(), Route("/api/openapi.json", openapi_json, methods=["GET"])]
    routes.extend(page_routes())  # the widget, the admin panel and the demo page
    middleware = [
        *client_address_middleware(settings),
        Middleware(SecurityHeaders),
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Socket-ID", "Idempotency-Key", "X-Requested-With"],
            max_age=600,
        ),
        # API answers (JSON) compressed on the fly; browser files come pre-compressed (chatapp.assets).
        Middleware(GZipMiddleware, minimum_size=1024),
    ]
    app = Starlette(
        debug=False,
        middleware=middleware,
        exception_handlers={
            ChatError: chat_error,
            HTTPException: http_error,
            DatabaseUnavailable: database_unavailable,
            Exception: server_error,
        },
    )
    app.router = IndexedRouter(routes, lifespan=lifespan)  # about 200 routes: looked up, not scanned
    return app


def create_served_app() -> Starlette:
    """``chatapp serve``'s factory (in each worker too): :func:`create_app` from the environment."""
    return create_app(serving=True)
