"""Lingering close: after refusing a request, read and drop what the client still sends.

A socket closed with unread bytes in its receive buffer sends a TCP reset. A client
still writing a request body that was refused early (413 on a declared size, 400 on
a malformed request) then fails in the middle of its write and never reads the
answer that is already waiting for it. nginx avoids this with ``lingering_close``:
half-close the write side after the answer, keep reading and discarding for a
while, then close. This does the same, bounded in bytes and in time so a client
that keeps sending cannot hold the connection open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["LINGER_IDLE_SECONDS", "LINGER_MAX_BYTES", "LINGER_MAX_SECONDS", "LingeringClose"]

LINGER_MAX_BYTES = 8 * 1024 * 1024
"""At most this much of a refused body is read and discarded, then the socket is cut."""
LINGER_MAX_SECONDS = 5.0
"""The whole linger lasts at most this long (nginx's ``lingering_time``)."""
LINGER_IDLE_SECONDS = 2.0
"""The linger ends after this long without data (nginx's ``lingering_timeout``)."""


class LingeringClose(asyncio.Protocol):
    """Takes over a transport whose answer is written: discards input until the
    client closes, goes quiet, or passes a bound, then closes the socket."""

    def __init__(
        self,
        transport: asyncio.Transport,
        on_closed: Callable[[], None],
        *,
        max_bytes: int = LINGER_MAX_BYTES,
        max_seconds: float = LINGER_MAX_SECONDS,
        idle_seconds: float = LINGER_IDLE_SECONDS,
    ) -> None:
        self.transport = transport
        self._on_closed = on_closed
        self._loop = asyncio.get_running_loop()
        self._bytes_left = max_bytes
        self._deadline = self._loop.time() + max_seconds
        self._idle_seconds = idle_seconds
        self._last_data = self._loop.time()
        self._timer: asyncio.TimerHandle | None = None

    @classmethod
    def take_over(cls, transport: asyncio.Transport, on_closed: Callable[[], None]) -> LingeringClose:
        """Route the transport's further input here; ``on_closed`` runs once the
        socket is gone (the previous protocol never hears of it otherwise)."""
        linger = cls(transport, on_closed)
        transport.set_protocol(linger)
        if transport.can_write_eof():  # TLS cannot half-close; it just keeps reading
            transport.write_eof()  # the answer, then FIN: the client sees the end of it
        transport.resume_reading()  # flow control may have paused it for a slow app
        linger._arm()
        return linger

    def _arm(self) -> None:
        when = min(self._deadline, self._last_data + self._idle_seconds)
        self._timer = self._loop.call_at(when, self._check)

    def _check(self) -> None:
        self._timer = None
        now = self._loop.time()
        if now >= self._deadline or now >= self._last_data + self._idle_seconds:
            self.transport.abort()  # a client that neither reads nor stops sending
        else:
            self._arm()

    def data_received(self, data: bytes) -> None:
        self._bytes_left -= len(data)
        self._last_data = self._loop.time()
        if self._bytes_left < 0:
            self.transport.abort()

    def eof_received(self) -> bool:
        self.transport.close()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._on_closed()
