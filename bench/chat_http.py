"""A lean HTTP/1.1 keep-alive client for the chat benchmark's sends.

The load generator shares the machine's two cores with chatapp, pyreverb and PostgreSQL,
so every microsecond it spends per request is taken from the servers it measures. aiohttp's
request path (timeouts, tracing, cookie jar, URL and header objects, a response object and
stream per request) cost the clients about 0.15 ms of CPU per message; this client writes a
request as one bytes object on a pooled connection and reads the answer with httptools (the
C parser uvicorn uses), which is all the benchmark needs: the status and, when asked, the body.
It still speaks plain HTTP/1.1 over TCP, with the headers a browser's ``fetch`` sends.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import deque
from typing import cast
from urllib.parse import urlsplit

import httptools

__all__ = ["KeepAlivePool", "ServerDisconnectedError"]

_ACCEPT = b"Accept: application/json\r\nAccept-Encoding: gzip, deflate\r\n"


class ServerDisconnectedError(ConnectionError):
    """The connection closed before the whole answer came."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.open = False
        self._body: list[bytes] = []
        self._gzip = False
        self._header = b""

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass
        self.open = True

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ServerDisconnectedError(f"bad answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._fail(ServerDisconnectedError("the server closed the connection"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._body = []
        self._gzip = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"content-encoding" and value.strip().lower() in (b"gzip", b"deflate"):
            self._gzip = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            body = b"".join(self._body)
            waiter.set_result((self.parser.get_status_code(), body, self._gzip))
        if not self.parser.should_keep_alive():
            self.close()

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def send(self, request: bytes) -> asyncio.Future[tuple[int, bytes, bool]]:
        assert self.transport is not None and self.waiter is None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()


class KeepAlivePool:
    """Up to ``limit`` keep-alive connections to one server; a request waits for a free one."""

    def __init__(self, host: str, port: int, limit: int, timeout: float = 30.0) -> None:
        self.host, self.port, self.limit, self.timeout = host, port, limit, timeout
        self._host_header = f"Host: {host}:{port}\r\n".encode()
        self._idle: list[_Connection] = []
        self._waiting: deque[asyncio.Future[_Connection | None]] = deque()
        self._count = 0

    @classmethod
    def for_url(cls, base_url: str, limit: int) -> KeepAlivePool:
        """A pool to the host and port of ``http://host:port``."""
        url = urlsplit(base_url)
        assert url.scheme == "http" and url.hostname, base_url
        return cls(url.hostname, url.port or 80, limit)

    async def request(self, method: str, path: str, body: bytes | None = None,
                      headers: dict[str, str] | None = None, *, want_body: bool = True) -> tuple[int, bytes]:
        """(status, body); the body decompressed when asked for, empty otherwise."""
        lines = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        payload = body or b""
        request = b"".join((f"{method} {path} HTTP/1.1\r\n".encode(), self._host_header, _ACCEPT, lines.encode(),
                            f"Content-Length: {len(payload)}\r\n\r\n".encode(), payload))
        async with asyncio.timeout(self.timeout):
            conn = await self._take()
            try:
                status, raw, compressed = await conn.send(request)
            except BaseException:
                conn.close()
                raise
            finally:
                self._give_back(conn)
        if not want_body:
            return status, b""
        return status, zlib.decompress(raw, 47) if compressed and raw else raw  # 47: a gzip or zlib header

    async def _take(self) -> _Connection:
        while True:
            while self._idle:
                conn = self._idle.pop()
                if conn.open:
                    return conn
                self._count -= 1
            if self._count >= self.limit:
                waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
                self._waiting.append(waiter)
                try:
                    handed = await waiter  # a connection given back, or None: a place freed
                except asyncio.CancelledError:
                    if waiter.done() and not waiter.cancelled():
                        self._hand(waiter.result())  # handed over just as this request gave up
                    raise
                if handed is not None:
                    return handed
                continue
            self._count += 1
            try:
                _, conn = await asyncio.get_running_loop().create_connection(_Connection, self.host, self.port)
            except BaseException:
                self._count -= 1
                self._hand(None)
                raise
            return conn

    def _give_back(self, conn: _Connection) -> None:
        if conn.open and conn.waiter is None:
            self._hand(conn)
        else:
            self._count -= 1
            self._hand(None)

    def _hand(self, conn: _Connection | None) -> None:
        """A connection, or a freed place (None), to the next request waiting; else the connection idles."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if conn is not None:
            self._idle.append(conn)

    async def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
        self._count = 0
