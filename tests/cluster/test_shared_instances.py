"""Two chatapp instances on one PostgreSQL, one Redis and one S3 bucket act as one chatapp."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatapp.config import Settings
from chatapp.file_storage import S3Files
from chatapp.uploads import UploadStore
from tests.chatapp.procs import Api, ChatappProcess, admin_api, chatapp_reverb, guest_api, throwaway_database
from tests.cluster.s3_server import S3Server

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PNG = b"\x89PNG\r\n\x1a\n"
LIMITS = {
    "CHATAPP_RATE_MESSAGES": "4/60",
    "CHATAPP_RATE_LOGIN_FAILURES": "3/600",
    "CHATAPP_MAX_UPLOAD_BYTES": str(12 * 1024 * 1024),
}


def start_pair(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[ChatappProcess, ChatappProcess]]:
    reverb = chatapp_reverb()
    apps: list[ChatappProcess] = []
    try:
        with throwaway_database("postgres", tmp_path) as url:
            for i in range(2):
                apps.append(ChatappProcess(url, reverb.port, tmp_path / f"app{i}", env={**LIMITS, **env}))
                apps[-1].start(migrate=i == 0)
            yield apps[0], apps[1]
            for app in apps:
                app.stop()
    finally:
        for app in apps:
            app.stop()
        reverb.stop()


@pytest.fixture
def shared(tmp_path: Path, redis_url: str, scaling_channel: str, s3_server: S3Server,
           bucket: str) -> Iterator[tuple[ChatappProcess, ChatappProcess]]:
    env = {"CHATAPP_REDIS_URL": redis_url, "CHATAPP_REDIS_PREFIX": scaling_channel, **s3_server.chatapp_env(bucket)}
    yield from start_pair(tmp_path, env)


@pytest.fixture
def unshared(tmp_path: Path) -> Iterator[tuple[ChatappProcess, ChatappProcess]]:
    yield from start_pair(tmp_path, {})


def as_guest_of(app: ChatappProcess, guest: Api) -> Api:
    """The same visitor (same token) talking to another instance."""
    return Api(app.base_url, guest.token, guest.user)


def test_a_file_uploaded_through_one_instance_downloads_through_another(
    shared: tuple[ChatappProcess, ChatappProcess], s3_server: S3Server, bucket: str
) -> None:
    first, second = shared
    visitor = guest_api(first, "Vera")
    content = PNG + os.urandom(9 * 1024 * 1024)  # past boto3's 8 MB multipart threshold
    doc = visitor.ok("POST", "/api/chat/upload", files={"file": ("shot.png", content, "image/png")})
    name = doc["attachment"]["url"].rsplit("/", 1)[1]
    assert s3_server.keys(bucket) == [name]
    for app in shared:
        assert not any((app.workdir / "uploads").glob("*")), "nothing is written to the instance's disk"
    response = as_guest_of(second, visitor).get(f"/api/chat/files/{name}")
    assert response.status_code == 200, response.text
    assert response.content == content
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == 'inline; filename="shot.png"'
    stranger = guest_api(second, "Stan")
    assert stranger.get(f"/api/chat/files/{name}").status_code == 404, "downloads stay authorised by chatapp"
    assert Api(second.base_url).get(f"/api/chat/files/{name}").status_code == 401


def test_a_refused_upload_leaves_no_object(
    shared: tuple[ChatappProcess, ChatappProcess], s3_server: S3Server, bucket: str
) -> None:
    visitor = guest_api(shared[0], "Vera")
    response = visitor.post("/api/chat/upload", files={"file": ("page.png", b"<html><script>", "image/png")})
    assert response.status_code == 415 and response.json()["error"] == "unsupported_media_type"
    assert s3_server.keys(bucket) == []


def test_deleting_an_attachment_removes_its_object(s3_server: S3Server, bucket: str) -> None:
    settings = Settings.from_env(s3_server.chatapp_env(bucket))
    store = UploadStore(S3Files(settings), 1000)

    async def round_trip() -> None:
        await store.ensure()
        saved = await store.save(io.BytesIO(PNG + b"x" * 100), "a.png")
        assert s3_server.keys(bucket) == [saved.stored_name]
        body = await store.open(saved.stored_name)
        assert body is not None and body.size == 108
        assert b"".join([chunk async for chunk in body.chunks]) == PNG + b"x" * 100
        await store.delete(saved.stored_name)
        assert s3_server.keys(bucket) == []
        assert await store.open(saved.stored_name) is None

    asyncio.run(round_trip())


def test_limits_hold_across_instances(shared: tuple[ChatappProcess, ChatappProcess]) -> None:
    first, second = shared
    visitor = guest_api(first, "Vera")
    for app in (first, second, first, second):
        as_guest_of(app, visitor).send(f"hello via {app.port}")
    refused = as_guest_of(first, visitor).post("/api/chat/messages", {"body": "one too many"})
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60

    admin = admin_api(first, "correct-horse-battery")
    wrong = {"email": admin.user["email"], "password": "wrong-password-guess"}
    for app in (first, second, first):
        assert Api(app.base_url).post("/api/auth/login", wrong).status_code == 401
    locked = Api(second.base_url).post("/api/auth/login", wrong)
    assert locked.status_code == 429, "the sign-in limit counts failures on every instance"
    assert "from your address" in locked.json()["message"]


def test_without_redis_each_instance_counts_alone(unshared: tuple[ChatappProcess, ChatappProcess]) -> None:
    """The per-process default (and what the shared limit above would fail as)."""
    first, second = unshared
    visitor = guest_api(first, "Vera")
    for app in (first, second) * 4:
        as_guest_of(app, visitor).send(f"hello via {app.port}")  # eight messages, four on each
    assert as_guest_of(first, visitor).post("/api/chat/messages", {"body": "fifth here"}).status_code == 429
