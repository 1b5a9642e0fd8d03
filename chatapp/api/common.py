"""Request helpers shared by every handler: JSON in and out, who is calling."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response

from chatapp.errors import ChatError, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType
from chatapp.models import AuthSession, User
from chatapp.shapes import Body
from chatapp.state import ChatState
from chatapp.validation import MAX_ID, decode, int_param, socket_id

__all__ = [
    "state",
    "json_response",
    "body_of",
    "current_user",
    "current_session",
    "optional_session",
    "path_id",
    "socket_of",
    "client_ip",
    "paging",
    "MAX_JSON_BYTES",
]

MAX_JSON_BYTES = 64 * 1024
B = TypeVar("B", bound=Body)


def state(request: Request) -> ChatState:
    chat: ChatState = request.app.state.chat
    return chat


def json_response(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type="application/json", headers=headers)


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes", limit=limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes", limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def body_of(request: Request, shape: type[B]) -> B:
    """The request's JSON body decoded into ``shape`` (:mod:`chatapp.shapes`); clear 400/413/415/422 errors
    otherwise. An empty body stands for ``{}`` when the shape says so (``empty_ok``)."""
    raw = await read_limited(request, MAX_JSON_BYTES)
    if not raw.strip():
        if not shape.empty_ok:
            raise ChatError("Request body is empty; send a JSON object", code="malformed_json")
        raw = b"{}"
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType(f"Send JSON (Content-Type: application/json), not {content_type}")
    return decode(raw, shape)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def optional_session(request: Request) -> AuthSession | None:
    """The session the bearer token names (checked once per request); None without a token."""
    token = bearer_token(request)
    if token is None:
        return None
    cached = getattr(request.state, "auth_session", None)
    if isinstance(cached, AuthSession):
        return cached
    session = await state(request).sessions.check(token)
    request.state.auth_session = session
    return session


async def optional_user(request: Request) -> User | None:
    session = await optional_session(request)
    return None if session is None else session.user


async def current_session(request: Request) -> AuthSession:
    """The caller's session; 401 without a valid ``Authorization: Bearer`` token."""
    session = await optional_session(request)
    if session is None:
        raise Unauthorized("Sign in first: send 'Authorization: Bearer <token>'")
    return session


async def current_user(request: Request) -> User:
    """The caller; 401 without a valid ``Authorization: Bearer`` token."""
    return (await current_session(request)).user


def path_id(request: Request, name: str = "room_id") -> int:
    value = request.path_params[name]
    if not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise NotFound(f"No such {name.removesuffix('_id')}: {value}")
    return value


def socket_of(request: Request) -> str | None:
    return socket_id(request.headers.get("x-socket-id"))


def client_ip(request: Request) -> str:
    """The caller's address: the peer, or what a trusted proxy reported (see ``app.client_address_middleware``)."""
    return request.client.host if request.client else "unknown"


def paging(request: Request, default_per_page: int = 20, max_per_page: int = 100) -> tuple[int, int]:
    q = request.query_params
    page = int_param(q.get("page"), "page", default=1, minimum=1, maximum=1_000_000)
    per_page = int_param(q.get("per_page"), "per_page", default=default_per_page, minimum=1, maximum=max_per_page)
    assert page is not None and per_page is not None
    return page, per_page


def page_meta(page: int, per_page: int, total: int) -> dict[str, int]:
    return {"page": page, "per_page": per_page, "total": total, "pages": (total + per_page - 1) // per_page}
