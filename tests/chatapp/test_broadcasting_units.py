"""Socket-free pieces of the Broadcaster: the short-lived answer about who is on a presence channel."""

from __future__ import annotations

import asyncio

from chatapp.broadcasting import Broadcaster
from chatapp.config import Settings


class Counting(Broadcaster):
    """Answers presence questions from a list instead of pyreverb, counting the questions."""

    def __init__(self, answers: list[set[str] | None], delay: float = 0.0) -> None:
        super().__init__(Settings.from_env({}))
        self.answers = answers
        self.delay = delay
        self.asked = 0

    async def _ask_presence(self, channel: str) -> set[str] | None:
        self.asked += 1
        answer = self.answers.pop(0)
        await asyncio.sleep(self.delay)
        return answer


def test_concurrent_callers_share_one_question_and_its_answer_is_reused_briefly() -> None:
    async def run() -> None:
        b = Counting([{"1", "2"}, {"2"}], delay=0.05)
        answers = await asyncio.gather(*(b.presence_user_ids("presence-admins", max_age=0.3) for _ in range(20)))
        assert b.asked == 1 and all(a == {"1", "2"} for a in answers)
        answers[0].discard("1")  # a caller's copy is its own
        assert await b.presence_user_ids("presence-admins", max_age=0.3) == {"1", "2"}
        assert b.asked == 1, "reused within max_age"
        await asyncio.sleep(0.4)
        assert await b.presence_user_ids("presence-admins", max_age=0.3) == {"2"}
        assert b.asked == 2, "asked again once max_age has passed"

    asyncio.run(run())


def test_without_max_age_every_call_asks_and_unknown_is_not_kept() -> None:
    async def run() -> None:
        b = Counting([{"1"}, {"3"}, None, {"4"}])
        assert await b.presence_user_ids("presence-admins") == {"1"}
        assert await b.presence_user_ids("presence-admins") == {"3"}
        assert await b.presence_user_ids("presence-admins", max_age=5) is None
        assert await b.presence_user_ids("presence-admins", max_age=5) == {"4"}, "an unknown answer is not kept"
        assert b.asked == 4

    asyncio.run(run())


def test_a_cancelled_question_leaves_the_others_with_unknown() -> None:
    async def run() -> None:
        b = Counting([{"1"}, {"2"}], delay=0.2)
        first = asyncio.create_task(b.presence_user_ids("presence-admins", max_age=1))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(b.presence_user_ids("presence-admins", max_age=1))
        await asyncio.sleep(0.01)
        first.cancel()
        assert await second is None, "the shared question was cancelled: nobody is known to be online"
        assert await b.presence_user_ids("presence-admins", max_age=1) == {"2"}

    asyncio.run(run())


# ------------------------------------------------------------------ the HTTP client for pyreverb


class Server:
    """Answers each request with the next canned answer; counts connections and requests."""

    def __init__(self, answers: list[bytes], close_after: bool = False) -> None:
        self.answers = answers
        self.close_after = close_after
        self.connections = 0
        self.requests: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/prefix"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        for writer in self.writers:
            writer.close()
        await asyncio.sleep(0.01)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(v) for k, _, v in (line.partition(b":") for line in head.split(b"\r\n"))
                               if k.lower() == b"content-length"), 0)
                self.requests.append(head + await reader.readexactly(length))
                answer = self.answers.pop(0)
                if answer == b"hang":
                    await asyncio.sleep(10)
                writer.write(answer)
                await writer.drain()
                if self.close_after or answer.startswith(b"HTTP/1.0"):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def test_reverb_http_reads_every_body_kind_and_keeps_the_connection() -> None:
    from chatapp.reverb_http import ReverbHTTP

    async def run() -> None:
        server = Server([
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"a\": true}",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"b\"\r\n5;x=1\r\n: 12}\r\n0\r\n\r\n",
            b"HTTP/1.1 413 Too Large\r\nContent-Length: 3\r\n\r\nbig",
            b"HTTP/1.0 200 OK\r\n\r\n{}",
        ])
        async with server as url:
            client = ReverbHTTP(url, timeout=2)
            first = await client.request("POST", "/apps/1/batch_events", {"q": "a b"}, b"{}", {"X-T": "1"})
            assert (first.status_code, first.json()) == (200, {"a": True})
            assert first.headers == {b"content-length": b"11"}
            assert server.requests[0].startswith(b"POST /prefix/apps/1/batch_events?q=a+b HTTP/1.1\r\n")
            assert b"Content-Length: 2\r\n" in server.requests[0] and server.requests[0].endswith(b"\r\n\r\n{}")
            assert (await client.request("GET", "/x")).json() == {"b": 12}
            refused = await client.request("GET", "/x")
            assert (refused.status_code, refused.text) == (413, "big")
            assert server.connections == 1, "one kept-alive connection"
            assert (await client.request("GET", "/x")).json() == {}, "a body read to the close"
            await client.aclose()

    asyncio.run(run())


def test_reverb_http_retries_a_stale_connection_once_and_reports_failures_as_httpx_errors() -> None:
    import httpx

    from chatapp.reverb_http import ReverbHTTP

    async def run() -> None:
        ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
        server = Server([ok, ok, b"hang"], close_after=True)  # closes after each answer, not saying so
        async with server as url:
            client = ReverbHTTP(url, timeout=0.5)
            assert (await client.request("GET", "/a")).status_code == 200
            await asyncio.sleep(0.05)
            assert (await client.request("GET", "/b")).status_code == 200, "sent again on a new connection"
            assert server.connections == 2 and len(server.requests) == 2
            try:
                await client.request("GET", "/c")
            except httpx.ReadTimeout:
                pass
            else:
                raise AssertionError("no timeout")
            await client.aclose()
        unreachable = ReverbHTTP(url, timeout=0.5)
        try:
            await unreachable.request("GET", "/d")
        except httpx.ConnectError:
            pass
        else:
            raise AssertionError("no connect error")

    asyncio.run(run())
