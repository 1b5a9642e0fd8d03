"""chatapp on PostgreSQL's Unix socket (docs/chatapp.md suggests it for a database on the same
host): the pool, the relay's own connection and the migrations all go through it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import quote

import asyncpg
import pytest

from tests.chatapp.procs import ChatappProcess, chatapp_reverb, guest_api
from tests.helpers.procs import TIME_FACTOR

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


async def _socket_url(tcp_url: str) -> str:
    """``tcp_url``'s database by the server's first Unix socket directory (host percent-encoded)."""
    conn = await asyncpg.connect(tcp_url)
    try:
        directories = str(await conn.fetchval("SHOW unix_socket_directories"))
        port = int(await conn.fetchval("SHOW port"))
    finally:
        await conn.close()
    directory = directories.split(",")[0].strip()
    assert directory, "this PostgreSQL listens on no Unix socket"
    user_and_host, name = tcp_url.split("://", 1)[1].rsplit("/", 1)
    user = user_and_host.split("@", 1)[0]
    return f"postgresql://{user}@{quote(directory, safe='')}:{port}/{name}"


async def _clients(tcp_url: str) -> tuple[int, int, int]:
    """chatapp's connections to the database by Unix socket and by TCP, and the outbox's rows."""
    conn = await asyncpg.connect(tcp_url)
    try:
        row = await conn.fetchrow(
            "SELECT COUNT(*) FILTER (WHERE client_addr IS NULL) AS local, "
            "COUNT(*) FILTER (WHERE client_addr IS NOT NULL) AS tcp FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        waiting = await conn.fetchval("SELECT COUNT(*) FROM outbox")
        return int(row["local"]), int(row["tcp"]), int(waiting)
    finally:
        await conn.close()


def test_chatapp_runs_on_the_unix_socket(pg_url: str, tmp_path: Path) -> None:
    socket_url = asyncio.run(_socket_url(pg_url))
    reverb = chatapp_reverb()
    app = ChatappProcess(socket_url, reverb.port, tmp_path / "app")
    try:
        app.start()  # chatapp migrate, then serve
        visitor = guest_api(app)
        sent = visitor.send("Bonjour, ma commande ?")
        history = visitor.ok("GET", f"/api/chat/rooms/{sent['room']['id']}/messages")["data"]
        assert [m["body"] for m in history] == ["Bonjour, ma commande ?"]
        deadline = time.monotonic() + 10 * TIME_FACTOR
        local, tcp, waiting = asyncio.run(_clients(pg_url))
        while waiting and time.monotonic() < deadline:  # the relay hands the events to pyreverb
            time.sleep(0.05)
            local, tcp, waiting = asyncio.run(_clients(pg_url))
        assert waiting == 0, "the relay sent every event"
        assert local >= 3 and tcp == 0, (local, tcp)  # the pool's two and the relay's, none by TCP
    finally:
        app.stop()
        reverb.stop()
