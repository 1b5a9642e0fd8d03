"""bench.chat_http's keep-alive pool against a real socket server: connections are reused and
capped, a server that closes them is followed, and gzip answers are read back."""

from __future__ import annotations

import asyncio
import gzip

import pytest

from bench.chat_http import KeepAlivePool, ServerDisconnectedError


class TinyServer:
    """HTTP/1.1 on a real port: answers each request with its path, counts connections."""

    def __init__(self, *, close_after: int = 0, gzipped: bool = False, delay: float = 0.0) -> None:
        self.close_after, self.gzipped, self.delay = close_after, gzipped, delay
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> TinyServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length")), 0)
                body = await reader.readexactly(length)
                await asyncio.sleep(self.delay)
                served += 1
                answer = head.split(b" ")[1] + b" " + body
                last = bool(self.close_after) and served >= self.close_after
                extra = b"Connection: close\r\n" if last else b""
                if self.gzipped:
                    answer = gzip.compress(answer)
                    extra += b"Content-Encoding: gzip\r\n"
                writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n%s\r\n%s" % (len(answer), extra, answer))
                await writer.drain()
                if last:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_now -= 1
            writer.close()


async def test_requests_reuse_one_keep_alive_connection() -> None:
    async with TinyServer() as server:
        pool = KeepAlivePool("127.0.0.1", server.port, limit=4)
        for n in range(5):
            assert await pool.request("POST", f"/m/{n}", b"hi") == (201, f"/m/{n} hi".encode())
        await pool.close()
    assert server.connections == 1


async def test_a_connection_the_server_closes_is_replaced() -> None:
    async with TinyServer(close_after=1) as server:
        pool = KeepAlivePool("127.0.0.1", server.port, limit=4)
        for n in range(3):
            assert (await pool.request("GET", f"/{n}"))[0] == 201
        await pool.close()
    assert server.connections == 3


async def test_the_limit_caps_connections_and_every_request_is_answered() -> None:
    async with TinyServer(delay=0.02) as server:
        pool = KeepAlivePool("127.0.0.1", server.port, limit=2)
        answers = await asyncio.gather(*(pool.request("POST", f"/{n}", b"x") for n in range(9)))
        await pool.close()
    assert sorted(body for _, body in answers) == sorted(f"/{n} x".encode() for n in range(9))
    assert server.most_open == 2


async def test_gzip_answers_are_decompressed_when_the_body_is_wanted() -> None:
    async with TinyServer(gzipped=True) as server:
        pool = KeepAlivePool.for_url(f"http://127.0.0.1:{server.port}", limit=1)
        assert await pool.request("POST", "/z", b"body") == (201, b"/z body")
        assert await pool.request("POST", "/z", b"body", want_body=False) == (201, b"")
        await pool.close()


async def test_a_server_that_hangs_up_mid_request_raises_a_connection_error() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    pool = KeepAlivePool("127.0.0.1", server.sockets[0].getsockname()[1], limit=1)
    with pytest.raises(ServerDisconnectedError):
        await pool.request("GET", "/")
    await pool.close()
    server.close()
    await server.wait_closed()
