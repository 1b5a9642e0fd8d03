"""The commands an operator runs: migrate, create-admin, serve (which refuses an old schema)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from chatapp import repository as repo
from chatapp.db import connect
from chatapp.identity import verify_identity_token
from tests.chatapp.procs import IDENTITY_SECRET, ChatappProcess


@pytest.mark.slow
def test_migrate_is_idempotent_and_serve_needs_it(tmp_path: Path) -> None:
    app = ChatappProcess(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", reverb_port=1, workdir=tmp_path)
    refused = subprocess.run(
        [sys.executable, "-m", "chatapp", "serve", "--port", "0"], env=app.full_env(), cwd=tmp_path,
        capture_output=True, text=True, timeout=30,
    )
    assert refused.returncode != 0 and "run `chatapp migrate`" in refused.stderr
    assert "applied: 001_initial" in app.cli("migrate").stdout
    assert "nothing to migrate" in app.cli("migrate").stdout

    created = app.cli("create-admin", "--email", "Root@Example.com", "--password", "first-password")
    assert "created admin root@example.com" in created.stdout
    again = app.cli("create-admin", "--email", "root@example.com", "--password", "second-password")
    assert "updated" in again.stdout
    short = app.cli("create-admin", "--email", "x@example.com", "--password", "short", check=False)
    assert short.returncode != 0 and "8 to 256" in short.stderr

    async def seed() -> None:
        db = await connect(app.database_url)
        try:
            idle = await repo.create_user(db, role="guest", name="idle")
            chatty = await repo.create_user(db, role="guest", name="chatty")
            await repo.create_room(db, chatty.id, "hello")
            assert idle.id != chatty.id
        finally:
            await db.close()

    asyncio.run(seed())
    assert "deleted 0 idle guests" in app.cli("prune-guests").stdout
    assert "deleted 1 idle guests" in app.cli("prune-guests", "--days", "0").stdout

    bad_env = subprocess.run(
        [sys.executable, "-m", "chatapp", "migrate"], env={**app.full_env(), "CHATAPP_RATE_MESSAGES": "many"},
        cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )
    assert bad_env.returncode != 0 and "CHATAPP_RATE_MESSAGES" in bad_env.stderr


def test_identity_token_command(chat: ChatappProcess) -> None:
    token = chat.cli("identity-token", "--sub", "99", "--name", "Cli User").stdout.strip()
    assert verify_identity_token(token, IDENTITY_SECRET, 3600).subject == "99"
