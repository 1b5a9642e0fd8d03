"""A small HTTP/1.1 client for pyreverb's HTTP API, with kept-alive connections.

Every durable event leaves chatapp as a ``POST /apps/{id}/batch_events``: the outbox
relay makes one or more per message. Through httpx one such request cost about 0.7 ms
of CPU, the largest single share of a message's cost; written straight to an asyncio
stream it costs a few dozen microseconds. The API is small (JSON in, JSON out, one
server), so this speaks just enough HTTP/1.1 for it: a request with a body of known
length; a response with ``Content-Length``, chunked, or read to the close. The chat
benchmark's clients use it too (bench/chat_clients.py), with more connections kept.

Failures raise httpx's exception types (``httpx.ConnectError``, ``httpx.ReadTimeout``,
...), so callers keep one ``except httpx.HTTPError``. A request that finds its kept-alive
connection closed by the server before any answer byte is sent again once on a new
connection (pyreverb, like most servers, closes idle connections).
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson

__all__ = ["ReverbHTTP", "Response"]

MAX_IDLE = 8  # kept-alive connections at most, unless the caller says otherwise
MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Response:
    status_code: int
    content: bytes
    headers: dict[bytes, bytes] = field(default_factory=dict)  # names lower-cased

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return orjson.loads(self.content)  # orjson.JSONDecodeError is a ValueError


class _ClosedError(Exception):
    """The server closed a kept-alive connection before answering."""


class ReverbHTTP:
    def __init__(self, base_url: str, timeout: float, max_idle: int = MAX_IDLE) -> None:
        parts = urlsplit(base_url)
        self.scheme = parts.scheme or "http"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.scheme == "https" else 80)
        self.base_path = parts.path.rstrip("/")
        self.timeout = timeout
        self.max_idle = max_idle
        self._ssl = ssl.create_default_context() if self.scheme == "https" else None
        default_port = (self.scheme == "https" and self.port == 443) or (self.scheme == "http" and self.port == 80)
        self._host_header = (self.host if default_port else f"{self.host}:{self.port}").encode()
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._closed = False

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()

    async def request(
        self, method: str, path: str, params: dict[str, str] | None = None, content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """``path`` below the base URL's path; ``params`` as the query string."""
        target = self.base_path + path + ("?" + urlencode(params) if params else "")
        lines = [f"{method} {target} HTTP/1.1".encode(), b"Host: " + self._host_header]
        lines += [f"{k}: {v}".encode() for k, v in (headers or {}).items()]
        if content or method in ("POST", "PUT", "PATCH"):
            lines.append(b"Content-Length: %d" % len(content or b""))
        raw = b"\r\n".join(lines) + b"\r\n\r\n" + (content or b"")
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    reused = bool(self._idle)
                    reader, writer = self._idle.pop() if reused else await self._connect()
                    try:
                        response, keep = await self._exchange(reader, writer, raw)
                    except _ClosedError:
                        writer.close()
                        if reused:
                            continue  # a stale kept-alive connection: once more on a fresh one
                        raise httpx.RemoteProtocolError("pyreverb closed the connection without answering") from None
                    except BaseException:
                        writer.close()
                        raise
                    if keep and not self._closed and len(self._idle) < self.max_idle:
                        self._idle.append((reader, writer))
                    else:
                        writer.close()
                    return response
        except TimeoutError:
            raise httpx.ReadTimeout(f"no answer from pyreverb within {self.timeout:g} s") from None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}") from None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await asyncio.open_connection(
                self.host, self.port, ssl=self._ssl, server_hostname=self.host if self._ssl else None,
                limit=MAX_HEADER_BYTES,
            )
        except OSError as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from None

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
    ) -> tuple[Response, bool]:
        writer.write(raw)
        try:
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
        except (ConnectionResetError, BrokenPipeError) as exc:
            raise _ClosedError() from exc
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _ClosedError() from None
            raise
        status_line, *header_lines = head[:-4].split(b"\r\n")
        version, _, rest = status_line.partition(b" ")
        status = int(rest[:3])
        fields: dict[bytes, bytes] = {}
        for line in header_lines:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        connection = fields.get(b"connection", b"").lower()
        keep = (version == b"HTTP/1.1" and connection != b"close") or connection == b"keep-alive"
        if b"chunked" in fields.get(b"transfer-encoding", b"").lower():
            body = await _read_chunked(reader)
        elif b"content-length" in fields:
            body = await reader.readexactly(int(fields[b"content-length"]))
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            body, keep = await reader.read(), False
        return Response(status, body, fields), keep


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";", 1)[0], 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
