"""Where attachment bytes live: a local directory (the default) or an S3-compatible bucket.

Both backends take a file object (the upload, already spooled to disk by the multipart
parser) and stream it, so no upload is ever held in memory whole; reads come back as chunks
for chatapp to pass on. Downloads always go through chatapp (docs/chatapp.md, "Attachments"
explains why), so the bucket stays private and needs no public or presigned access.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from chatapp.config import ConfigError, Settings

__all__ = ["FileStorage", "StoredBody", "LocalFiles", "S3Files", "file_storage"]

CHUNK = 64 * 1024


@dataclass(frozen=True)
class StoredBody:
    """A stored file on its way out: its length and its bytes in chunks."""

    size: int
    chunks: AsyncIterator[bytes]


class FileStorage(Protocol):
    """One contract for every place attachments can live."""

    async def ensure(self) -> None:
        """Fail at start-up, with a clear message, when the storage cannot be used."""

    async def put(self, name: str, source: BinaryIO, content_type: str) -> None:
        """Store ``source`` (read from its current position) under ``name``."""

    async def open(self, name: str) -> StoredBody | None:
        """The file's bytes, or None when there is no such file."""

    async def delete(self, name: str) -> None:
        """Remove the file; a missing one is not an error."""


class LocalFiles:
    """Files in a directory of this machine: one instance, or a directory all instances share."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    async def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    async def put(self, name: str, source: BinaryIO, content_type: str) -> None:
        await asyncio.to_thread(self._write, name, source)

    def _write(self, name: str, source: BinaryIO) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{name}.part"
        with tmp.open("wb") as out:
            shutil.copyfileobj(source, out, CHUNK)
        os.replace(tmp, self.root / name)

    async def open(self, name: str) -> StoredBody | None:
        path = self.root / name
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, IsADirectoryError):
            return None
        size = os.fstat(handle.fileno()).st_size
        return StoredBody(size, _chunks(handle))

    async def delete(self, name: str) -> None:
        await asyncio.to_thread((self.root / name).unlink, True)


class S3Files:
    """Objects in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, ...) through boto3.

    boto3 is blocking, so every call runs in a worker thread; ``upload_fileobj`` sends large
    files as a multipart upload, reading the spooled upload a part at a time.
    """

    def __init__(self, settings: Settings) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = settings.s3_bucket
        self._client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint or None,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id or None,
            aws_secret_access_key=settings.s3_secret_access_key or None,
            config=Config(
                s3={"addressing_style": "path" if settings.s3_path_style else "auto"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        )

    async def ensure(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            await asyncio.to_thread(self._client.head_bucket, Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise ConfigError(f"the S3 bucket {self.bucket!r} cannot be used: {exc}") from exc

    async def put(self, name: str, source: BinaryIO, content_type: str) -> None:
        await asyncio.to_thread(
            self._client.upload_fileobj, source, self.bucket, name, ExtraArgs={"ContentType": content_type}
        )

    async def open(self, name: str) -> StoredBody | None:
        from botocore.exceptions import ClientError

        try:
            found = await asyncio.to_thread(self._client.get_object, Bucket=self.bucket, Key=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return StoredBody(int(found["ContentLength"]), _chunks(found["Body"]))

    async def delete(self, name: str) -> None:
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=name)


async def _chunks(handle: Any) -> AsyncIterator[bytes]:
    """Read a blocking file-like object in a worker thread, a chunk at a time, then close it."""
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)


def file_storage(settings: Settings) -> FileStorage:
    """The backend ``CHATAPP_STORAGE`` names."""
    if settings.storage == "s3":
        return S3Files(settings)
    return LocalFiles(settings.upload_dir)
