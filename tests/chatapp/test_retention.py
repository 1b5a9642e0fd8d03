"""Retention: chats closed longer ago than CHATAPP_RETENTION_DAYS are deleted with their files, once.

Three sweeps at once on one database (in this process, each with a connection of its own), on
SQLite and on PostgreSQL; three chatapp instances sweeping one PostgreSQL database by
themselves; and a sweep with the attachments in S3 (moto's real S3 server). Each room is
deleted exactly once: one audit entry and one ``room.removed`` event per room, its files gone;
chats still open, or closed more recently, are untouched.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from chatapp import repository as repo
from chatapp import retention
from chatapp.broadcasting import Broadcaster
from chatapp.config import Settings
from chatapp.db import Database, connect, utcnow
from chatapp.events import Events
from chatapp.file_storage import LocalFiles, file_storage
from chatapp.outbox import Outbox
from chatapp.retention import RetentionSweeper
from chatapp.schema import migrate
from chatapp.uploads import UploadStore
from tests.chatapp.conftest import POSTGRES
from tests.chatapp.procs import throwaway_database, wait_until
from tests.chatapp.test_contact_data import png, stored_name, upload
from tests.chatapp.test_outbox import Stack, admin_of, guest
from tests.cluster import conftest as cluster
from tests.cluster.s3_server import S3Server

OLD = 30  # closed long ago: deleted
KEPT = 3  # closed recently, and open: kept


def settings_for(url: str, uploads: Path) -> Settings:
    return Settings(database_url=url, retention_days=30, upload_dir=str(uploads),
                    reverb_app_id="1", reverb_key="key", reverb_secret="secret")  # events go to the outbox


async def seed_room(db: Database, uploads: Path, *, closed_days_ago: float | None) -> tuple[int, str]:
    """A visitor's room with two messages and a file; closed that long ago (None: still open)."""
    async with db.transaction() as conn:
        user = await repo.create_user(conn, role="guest", name=f"Visitor {secrets.token_hex(3)}")
        room_id = await repo.create_room(conn, user.id, "a question")
        assert room_id is not None
        name = f"{secrets.token_urlsafe(24)}.png"
        (uploads / name).write_bytes(png())
        attachment = await repo.insert_attachment(conn, room_id=room_id, uploader_id=user.id, stored_name=name,
                                                  original_name="a.png", content_type="image/png", size=100)
        await repo.insert_message(conn, room_id=room_id, sender_id=user.id, sender_role="user", body="hello there",
                                  attachment_id=attachment.id)
        await repo.insert_message(conn, room_id=room_id, sender_id=None, sender_role="system", body="closed")
        if closed_days_ago is not None:
            await conn.execute("UPDATE support_chat_rooms SET status = 'closed', closed_at = ? WHERE id = ?",
                               utcnow() - timedelta(days=closed_days_ago), room_id)
    return room_id, name


async def deleted_once(db: Database, old: list[int]) -> dict[str, Any]:
    """Per room: audit entries and room.removed events; and what is left of the old rooms."""
    audits = Counter(int(r["target_id"]) for r in await db.fetch_all(
        "SELECT target_id FROM audit_log WHERE action = 'retention.delete_room'"))
    removed = Counter(orjson.loads(r["data"])["room_id"] for r in await db.fetch_all(
        "SELECT data FROM outbox WHERE name = 'room.removed'"))
    marks = ", ".join("?" for _ in old)
    left = {
        table: int(await db.fetch_val(f"SELECT COUNT(*) FROM {table} WHERE {column} IN ({marks})", *old) or 0)
        for table, column in (("support_chat_rooms", "id"), ("support_chat_messages", "room_id"),
                              ("chat_attachments", "room_id"), ("chat_typing_indicators", "room_id"))
    }
    if db.dialect == "sqlite":
        left["fts_rooms"] = int(await db.fetch_val(
            f"SELECT COUNT(*) FROM support_chat_rooms_search WHERE rowid IN ({marks})", *old) or 0)
        left["fts_messages"] = int(await db.fetch_val(
            "SELECT COUNT(*) FROM support_chat_messages_search WHERE support_chat_messages_search MATCH 'hello' "
            "AND rowid NOT IN (SELECT id FROM support_chat_messages)") or 0)
    return {"audits": audits, "removed": removed, "left": left}


@pytest.mark.parametrize("kind", ["sqlite", POSTGRES])
def test_three_sweeps_at_once_delete_each_old_closed_chat_once(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 7)  # several batches each, interleaved among the sweeps
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    with throwaway_database(kind, tmp_path) as url:
        asyncio.run(three_sweeps(url, uploads))


async def three_sweeps(url: str, uploads: Path) -> None:
    db = await connect(url)
    instances: list[Database] = []
    try:
        await migrate(db)
        old = [await seed_room(db, uploads, closed_days_ago=40 + i / 10) for i in range(OLD)]
        kept = [await seed_room(db, uploads, closed_days_ago=2) for _ in range(KEPT)]
        kept += [await seed_room(db, uploads, closed_days_ago=None) for _ in range(KEPT)]
        settings = settings_for(url, uploads)
        instances = [await connect(url) for _ in range(3)]
        sweepers = [
            RetentionSweeper(settings, each, UploadStore(LocalFiles(uploads), 10**6),
                             Events(Broadcaster(settings), Outbox(settings), ""), None)
            for each in instances
        ]
        counts = await asyncio.gather(*(s.sweep() for s in sweepers))

        assert sum(counts) == OLD, counts
        old_ids = [room for room, _ in old]
        found = await deleted_once(db, old_ids)
        assert found["audits"] == dict.fromkeys(old_ids, 1), "one audit entry per room"
        assert found["removed"] == dict.fromkeys(old_ids, 1), "one room.removed event per room"
        assert not any(found["left"].values()), found["left"]
        assert not any((uploads / name).exists() for _, name in old)
        assert all((uploads / name).exists() for _, name in kept)
        still = {int(r["id"]) for r in await db.fetch_all("SELECT id FROM support_chat_rooms")}
        assert still == {room for room, _ in kept}
        entry = await db.fetch_one("SELECT actor_id, actor_role, details FROM audit_log WHERE target_id = ? "
                                   "AND action = 'retention.delete_room'", old_ids[0])
        assert entry is not None and entry["actor_id"] is None and entry["actor_role"] == "system"
        assert orjson.loads(entry["details"])["files"] == 1

        assert sum(await asyncio.gather(*(s.sweep() for s in sweepers))) == 0, "nothing left to delete"
    finally:
        for each in [db, *instances]:
            await each.close()


def test_retention_is_off_by_default() -> None:
    settings = Settings.from_env({})
    assert settings.retention_days == 0
    sweeper = RetentionSweeper(settings, None, None, None, None)  # type: ignore[arg-type]
    assert not sweeper.enabled
    assert Settings.from_env({"CHATAPP_RETENTION_DAYS": "30"}).retention_days == 30


@pytest.mark.postgres
@pytest.mark.slow
def test_three_instances_delete_each_old_closed_chat_once(tmp_path: Path) -> None:
    shared = tmp_path / "shared-uploads"  # one directory every instance writes to, as on a shared volume
    env = {"CHATAPP_RATE_MESSAGES": "10000/10", "CHATAPP_RETENTION_DAYS": "1", "CHATAPP_RETENTION_INTERVAL": "0.2",
           "CHATAPP_UPLOAD_DIR": str(shared)}
    with throwaway_database("postgres", tmp_path) as url:
        stack = Stack(url, tmp_path, env=env)
        try:
            asyncio.run(three_instances(stack, url, shared))
        finally:
            stack.close()


async def three_instances(stack: Stack, url: str, shared: Path) -> None:
    for i, name in enumerate("abc"):
        stack.chatapp(name, migrate=i == 0)
    apps = stack.apps
    admin = admin_of(apps[0])
    made: list[tuple[int, str]] = []
    for i in range(12):
        visitor = guest(apps[i % 3], f"Visitor {i}")
        room = visitor.send("hello")["room"]["id"]
        made.append((room, stored_name(upload(visitor, png(), room))))
        admin.ok("POST", f"/api/admin/chat/rooms/{room}/close")
    recent = guest(apps[1], "Recent")
    recent_room = recent.send("closed today")["room"]["id"]
    admin.ok("POST", f"/api/admin/chat/rooms/{recent_room}/close")
    assert all((shared / name).exists() for _, name in made)

    db = await connect(url)
    try:
        old = [room for room, _ in made]
        marks = ", ".join("?" for _ in old)
        await db.execute(f"UPDATE support_chat_rooms SET closed_at = ? WHERE id IN ({marks})",
                         utcnow() - timedelta(days=3), *old)

        async def gone() -> bool:
            return not await db.fetch_val(f"SELECT COUNT(*) FROM support_chat_rooms WHERE id IN ({marks})",
                                          *old)

        for _ in range(100):
            if await gone():
                break
            await asyncio.sleep(0.1)
        assert await gone(), "the instances' sweeps deleted the old chats"
        audits = Counter(int(r["target_id"]) for r in await db.fetch_all(
            "SELECT target_id FROM audit_log WHERE action = 'retention.delete_room'"))
        assert audits == dict.fromkeys(old, 1), "each chat deleted once, by one instance"
        wait_until(lambda: not any((shared / name).exists() for _, name in made), what="files deleted")
        assert admin.ok("GET", f"/api/admin/chat/rooms/{recent_room}")["room"]["status"] == "closed"
        entries = admin.ok("GET", "/api/admin/audit", params={"limit": 200})["data"]
        assert {e["target"]["id"] for e in entries if e["action"] == "retention.delete_room"} == set(old)
    finally:
        await db.close()


s3_server, bucket = cluster.s3_server, cluster.bucket  # the cluster suite's fixtures: moto's S3 server, a bucket


def test_retention_deletes_the_objects_in_s3(s3_server: S3Server, bucket: str, tmp_path: Path) -> None:
    with throwaway_database("sqlite", tmp_path) as url:
        asyncio.run(sweep_s3(url, tmp_path / "seeded", s3_server, bucket))


async def sweep_s3(url: str, seeded: Path, s3_server: S3Server, bucket: str) -> None:
    seeded.mkdir()
    env = {**s3_server.chatapp_env(bucket), "DATABASE_URL": url, "CHATAPP_RETENTION_DAYS": "30",
           "REVERB_APP_ID": "1", "REVERB_APP_KEY": "key", "REVERB_APP_SECRET": "secret"}
    settings = Settings.from_env(env)
    db = await connect(url)
    try:
        await migrate(db)
        old = [await seed_room(db, seeded, closed_days_ago=45) for _ in range(4)]
        kept = [await seed_room(db, seeded, closed_days_ago=3) for _ in range(2)]
        client = s3_server.client()
        for _, name in old + kept:  # the seeded files, put where chatapp keeps them
            client.put_object(Bucket=bucket, Key=name, Body=(seeded / name).read_bytes())
        assert len(s3_server.keys(bucket)) == 6
        sweeper = RetentionSweeper(settings, db, UploadStore(file_storage(settings), 10**6),
                                   Events(Broadcaster(settings), Outbox(settings), ""), None)
        assert await sweeper.sweep() == 4
        assert s3_server.keys(bucket) == sorted(name for _, name in kept), "the old chats' objects are gone"
    finally:
        await db.close()
