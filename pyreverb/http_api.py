"""The Pusher HTTP API (events, batch events, channel queries) and ``/up``.

Every ``/apps/{id}/...`` request goes through :func:`authenticated` (one
signature check for all endpoints), then a thin handler; errors are JSON bodies
that say what is wrong.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Send

from pyreverb.config import AppConfig
from pyreverb.protocol.auth import RequestAuthError, verify_request
from pyreverb.protocol.channels import ChannelKind, channel_kind, is_server_to_user_channel, is_valid_channel_name
from pyreverb.protocol.session import SOCKET_ID_RE
from pyreverb.server import PusherServer

__all__ = ["routes", "ApiError", "json_response", "answer_trigger_inline", "body_too_large"]

MAX_EVENT_NAME_LENGTH = 200


class ApiError(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error

    def body(self) -> bytes:
        return orjson.dumps({"error": self.error})


def body_too_large(limit: int) -> ApiError:
    return ApiError(413, f"Request body exceeds {limit} bytes")


def json_response(doc: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type="application/json")


def _server(request: Request) -> PusherServer:
    server: PusherServer = request.state.pyreverb
    return server


Handler = Callable[[Request, AppConfig, bytes], Awaitable[Response]]
Scope = MutableMapping[str, Any]


class authenticated:  # noqa: N801 - used as a decorator
    """Find the app, bound the body, verify the signature, then call ``handler``.

    A raw ASGI endpoint rather than a Starlette function endpoint: the trigger
    routes are the server's hot path, so no per-request wrapper, URL or
    QueryParams objects; the query string is parsed once and the body is read
    straight from ``receive``.
    """

    __slots__ = ("handler", "__name__")

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.__name__ = handler.__name__

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server: PusherServer = scope["state"]["pyreverb"]
        params = _query_params(scope["query_string"])
        try:
            app = _find_app(scope.get("path_params", {}), params, server)
            body = await _read_body(scope, receive, server.settings.max_request_size)
            _authorise(scope, params, app, body, server)
            response = await self.handler(Request(scope, receive), app, body)
        except ApiError as exc:
            response = json_response({"error": exc.error}, exc.status)
        await response(scope, receive, send)


def _authorise(scope: Scope, params: dict[str, str] | None, app: AppConfig, body: bytes, server: PusherServer) -> None:
    _verify_signature(scope, params, app, body, server)
    if not app.enabled:
        raise ApiError(403, "Application is disabled")


def answer_trigger_inline(server: PusherServer, scope: Scope, app_id: str, body: bytes) -> tuple[int, bytes] | None:
    """All of ``POST /apps/{id}/events`` without the ASGI stack, for the HTTP
    transport's fast path: ``(status, JSON body)``, or ``None`` when the request
    asks for channel ``info`` (a backend query that must be awaited), which the
    caller then hands to the ASGI app instead.

    ``scope`` needs ``method``, ``path``, ``query_string`` and ``headers``.
    """
    try:
        app = _find_app({"app_id": app_id}, {}, server)  # by id: no query parameters needed
        if len(body) > server.settings.max_request_size:
            raise body_too_large(server.settings.max_request_size)
        _authorise(scope, None, app, body, server)
        doc = _json_body(body)
        if doc.get("info") is not None:
            return None
        event = _Trigger(doc, server, batch=False)
        server.trigger(app, event.channels, event.name, event.data, event.socket_id)
    except ApiError as exc:
        return exc.status, exc.body()
    return 200, b"{}"


def _query_params(raw: bytes) -> dict[str, str]:
    """Starlette's ``dict(request.query_params)``, with a fast path for the plain
    ``k=v`` pairs of a signed request (no ``%`` or ``+`` to unquote)."""
    query = raw.decode("latin-1")
    if "%" in query or "+" in query:
        return dict(parse_qsl(query, keep_blank_values=True))
    params: dict[str, str] = {}
    for pair in query.split("&"):
        if pair:
            key, _, value = pair.partition("=")
            params[key] = value
    return params


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            raw: bytes = value
            return raw.decode("latin-1")
    return None


def _find_app(path_params: dict[str, Any], params: dict[str, str], server: PusherServer) -> AppConfig:
    app_id = path_params.get("app_id")
    if app_id is None:
        # The Python SDK's terminate_user_connections omits /apps/{id}: find the app by key.
        app = server.apps.find_by_key(params.get("auth_key", ""))
        if app is None:
            raise ApiError(401, "Authentication failed: unknown auth_key")
        return app
    app = server.apps.find_by_id(app_id)
    if app is None:
        raise ApiError(404, f"Unknown app id '{app_id}'")
    return app


def _signed_path_candidates(scope: Scope, prefix: str) -> Iterator[str]:
    """Paths a client may have signed: as received, without our prefix (a proxy
    that did not strip it), or with the proxy's ``X-Forwarded-Prefix``. Lazy:
    a request signed for the path as received never looks further."""
    path: str = scope["path"]
    if "?" in path or "#" in path or "\\" in path:  # escaped as Starlette's request.url.path does
        path = path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    yield path
    if prefix and path.startswith(prefix + "/"):
        yield path[len(prefix):]
    forwarded = (_header(scope, b"x-forwarded-prefix") or "").rstrip("/")
    if forwarded.startswith("/"):
        yield forwarded + path


def _verify_signature(
    scope: Scope, params: dict[str, str] | None, app: AppConfig, body: bytes, server: PusherServer
) -> None:
    """Accept the request or raise a 401 that says what is wrong. The compiled
    check, when built, settles the common case (an SDK's request signed for
    the path as received); anything it does not accept gets the full check."""
    now = time.time()
    fast = server.speedups
    if fast is not None and fast.signature_ok(
        scope["method"].encode(), scope["path"], scope["query_string"], body, app.key, app.secret,
        now, server.settings.timestamp_tolerance,
    ):
        return
    if params is None:
        params = _query_params(scope["query_string"])
    error: RequestAuthError | None = None
    for path in _signed_path_candidates(scope, server.settings.prefix):
        try:
            verify_request(
                key=app.key,
                secret=app.secret,
                method=scope["method"],
                path=path,
                params=params,
                body=body,
                now=now,
                tolerance=server.settings.timestamp_tolerance,
            )
            return
        except RequestAuthError as exc:
            error = exc
    raise ApiError(401, f"Authentication failed: {error}")


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise body_too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(400, "Request body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise ApiError(400, "Request body must be a JSON object")
    return doc


def _info_fields(raw: object) -> set[str]:
    if raw is None:
        return set()
    if not isinstance(raw, str):
        raise ApiError(400, "'info' must be a comma-separated string")
    fields = {f.strip() for f in raw.split(",") if f.strip()}
    unknown = fields - {"subscription_count", "user_count"}
    if unknown:
        raise ApiError(400, f"Unknown info attribute(s): {', '.join(sorted(unknown))}")
    return fields


class _Trigger:
    """One validated event of a trigger or batch request."""

    __slots__ = ("name", "data", "channels", "socket_id", "info")

    def __init__(self, doc: object, server: PusherServer, batch: bool) -> None:
        settings = server.settings
        if not isinstance(doc, dict):
            raise ApiError(400, "Each event must be a JSON object")
        name = doc.get("name")
        if not isinstance(name, str) or not name:
            raise ApiError(400, "'name' is required and must be a string")
        if len(name) > MAX_EVENT_NAME_LENGTH:
            raise ApiError(400, f"'name' is longer than {MAX_EVENT_NAME_LENGTH} characters")
        data = doc.get("data")
        if not isinstance(data, str):
            raise ApiError(400, "'data' is required and must be a string (JSON-encode objects)")
        if len(data) * 4 > settings.event_data_limit and len(data.encode()) > settings.event_data_limit:
            raise ApiError(413, f"'data' exceeds the {settings.event_data_limit}-byte limit")
        if "channels" in doc and not batch:
            channels = doc["channels"]
            if not isinstance(channels, list) or not channels:
                raise ApiError(400, "'channels' must be a non-empty list")
        elif "channel" in doc:
            channels = [doc["channel"]]
        else:
            raise ApiError(400, "'channel' or 'channels' is required")
        if len(channels) > settings.max_channels_per_trigger:
            raise ApiError(400, f"At most {settings.max_channels_per_trigger} channels per event")
        for channel in channels:
            if not (is_valid_channel_name(channel) or is_server_to_user_channel(channel)):
                raise ApiError(400, f"Invalid channel name {str(channel)[:200]!r}")
        if len(channels) > 1 and any(channel_kind(c) is ChannelKind.ENCRYPTED for c in channels):
            raise ApiError(400, "Encrypted channels must be triggered one at a time")
        socket_id = doc.get("socket_id")
        if socket_id is not None and (not isinstance(socket_id, str) or not SOCKET_ID_RE.match(socket_id)):
            raise ApiError(400, "'socket_id' must look like '123.456'")
        self.name = name
        self.data = data
        self.channels: list[str] = channels
        self.socket_id: str | None = socket_id
        self.info = _info_fields(doc.get("info"))


async def _channel_info(server: PusherServer, app: AppConfig, channels: list[str], info: set[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for channel in channels:
        stats = await server.backend.channel_stats(app.app_id, channel)
        entry: dict[str, int] = {}
        if "subscription_count" in info:
            entry["subscription_count"] = stats.subscription_count
        if "user_count" in info and stats.user_count is not None:
            entry["user_count"] = stats.user_count
        result[channel] = entry
    return result


@authenticated
async def trigger_event(request: Request, app: AppConfig, body: bytes) -> Response:
    server = _server(request)
    event = _Trigger(_json_body(body), server, batch=False)
    server.trigger(app, event.channels, event.name, event.data, event.socket_id)
    if not event.info:
        return json_response({})
    return json_response({"channels": await _channel_info(server, app, event.channels, event.info)})


@authenticated
async def trigger_batch(request: Request, app: AppConfig, body: bytes) -> Response:
    server = _server(request)
    batch = _json_body(body).get("batch")
    if not isinstance(batch, list) or not batch:
        raise ApiError(400, "'batch' must be a non-empty list of events")
    if len(batch) > server.settings.max_batch_size:
        raise ApiError(400, f"At most {server.settings.max_batch_size} events per batch")
    events = [_Trigger(doc, server, batch=True) for doc in batch]  # validate all before sending any
    for event in events:
        server.trigger(app, event.channels, event.name, event.data, event.socket_id)
    if not any(e.info for e in events):
        return json_response({"batch": [{} for _ in events]})
    answers = []
    for event in events:
        info = await _channel_info(server, app, event.channels, event.info)
        answers.append(info[event.channels[0]] if event.info else {})
    return json_response({"batch": answers})


@authenticated
async def list_channels(request: Request, app: AppConfig, body: bytes) -> Response:
    server = _server(request)
    prefix = request.query_params.get("filter_by_prefix", "")
    info = _info_fields(request.query_params.get("info"))
    if "subscription_count" in info:
        raise ApiError(400, "info=subscription_count is not available on the channels list")
    if "user_count" in info and not prefix.startswith("presence-"):
        raise ApiError(400, "info=user_count needs filter_by_prefix=presence-")
    channels = await server.backend.channels(app.app_id)
    result: dict[str, Any] = {}
    for name, stats in sorted(channels.items()):
        if not name.startswith(prefix) or stats.subscription_count == 0:
            continue
        result[name] = {"user_count": stats.user_count or 0} if "user_count" in info else {}
    return json_response({"channels": result})


@authenticated
async def show_channel(request: Request, app: AppConfig, body: bytes) -> Response:
    server = _server(request)
    name = request.path_params["channel"]
    if not is_valid_channel_name(name):
        raise ApiError(400, "Invalid channel name")
    info = _info_fields(request.query_params.get("info"))
    is_presence = channel_kind(name) is ChannelKind.PRESENCE
    if "user_count" in info and not is_presence:
        raise ApiError(400, "info=user_count is only available for presence channels")
    stats = await server.backend.channel_stats(app.app_id, name)
    doc: dict[str, Any] = {"occupied": stats.subscription_count > 0}
    if "subscription_count" in info:
        doc["subscription_count"] = stats.subscription_count
    if "user_count" in info:
        doc["user_count"] = stats.user_count or 0
    return json_response(doc)


@authenticated
async def channel_users(request: Request, app: AppConfig, body: bytes) -> Response:
    server = _server(request)
    name = request.path_params["channel"]
    if not is_valid_channel_name(name):
        raise ApiError(400, "Invalid channel name")
    if channel_kind(name) is not ChannelKind.PRESENCE:
        raise ApiError(400, "Users are only available for presence channels")
    members = await server.backend.presence_members(app.app_id, name)
    return json_response({"users": [{"id": uid} for uid in members]})


@authenticated
async def connections(request: Request, app: AppConfig, body: bytes) -> Response:
    server = _server(request)
    return json_response({"connections": await server.backend.connection_count(app.app_id)})


@authenticated
async def terminate_user_connections(request: Request, app: AppConfig, body: bytes) -> Response:
    server = _server(request)
    await server.backend.terminate_user(app.app_id, request.path_params["user_id"])
    return json_response({})


@authenticated
async def user_event(request: Request, app: AppConfig, body: bytes) -> Response:
    """Send an event to every signed-in connection of one user."""
    server = _server(request)
    user_id = request.path_params["user_id"]
    doc = _json_body(body)
    doc.pop("channel", None)
    doc.pop("channels", None)
    event = _Trigger({**doc, "channel": f"#server-to-user-{user_id}"}, server, batch=False)
    server.send_to_user(app, user_id, event.name, event.data)
    return json_response({})


@authenticated
async def node_stats(request: Request, app: AppConfig, body: bytes) -> Response:
    """This node's counters for `pyreverb status` (a pyreverb extension)."""
    server = _server(request)
    return json_response(server.status_snapshot(app))


async def health(request: Request) -> Response:
    server = _server(request)
    if server.shutting_down:
        return json_response({"health": "SHUTTING_DOWN"}, 503)
    if not server.backend.healthy:
        return json_response({"health": "DEGRADED", "detail": "pub/sub backend unreachable"}, 200)
    return json_response({"health": "OK"})


def routes(prefix: str = "") -> list[Route]:
    """The route table; ``prefix`` is ``REVERB_SERVER_PATH``."""
    p = prefix
    return [
        Route(f"{p}/up", health, methods=["GET"]),
        Route(f"{p}/apps/{{app_id}}/events", trigger_event, methods=["POST"]),
        Route(f"{p}/apps/{{app_id}}/batch_events", trigger_batch, methods=["POST"]),
        Route(f"{p}/apps/{{app_id}}/channels", list_channels, methods=["GET"]),
        Route(f"{p}/apps/{{app_id}}/channels/{{channel}}", show_channel, methods=["GET"]),
        Route(f"{p}/apps/{{app_id}}/channels/{{channel}}/users", channel_users, methods=["GET"]),
        Route(f"{p}/apps/{{app_id}}/connections", connections, methods=["GET"]),
        Route(f"{p}/apps/{{app_id}}/users/{{user_id}}/events", user_event, methods=["POST"]),
        Route(f"{p}/apps/{{app_id}}/status", node_stats, methods=["GET"]),
        Route(
            f"{p}/apps/{{app_id}}/users/{{user_id}}/terminate_connections",
            terminate_user_connections,
            methods=["POST"],
        ),
        Route(f"{p}/users/{{user_id}}/terminate_connections", terminate_user_connections, methods=["POST"]),
    ]
