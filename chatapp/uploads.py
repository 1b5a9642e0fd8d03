"""File uploads: the type is decided by the bytes, never by the name.

An upload is accepted only when its content is one of a few safe kinds (PNG,
JPEG, GIF, WebP, PDF, plain UTF-8 text) and its extension, if any, names that
same kind. Files are stored under random names and served with ``nosniff`` and
a sandboxing CSP, so a disguised file cannot run as a page.
"""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from chatapp.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from chatapp.file_storage import FileStorage, LocalFiles, StoredBody

__all__ = ["sniff", "StoredFile", "UploadStore", "ALLOWED", "clean_filename", "content_disposition", "valid_name"]

# content type -> (file extensions that may carry it, stored extension, shown inline)
ALLOWED: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "image/png": (("png",), "png", True),
    "image/jpeg": (("jpg", "jpeg", "jpe", "jfif"), "jpg", True),
    "image/gif": (("gif",), "gif", True),
    "image/webp": (("webp",), "webp", True),
    "application/pdf": (("pdf",), "pdf", False),
    "text/plain": (("txt", "log", "csv", "md", "text"), "txt", False),
}
SNIFF_BYTES = 8192  # what :func:`sniff` looks at
_STORED_NAME = re.compile(r"^[A-Za-z0-9_-]{20,64}\.[a-z]{3,4}$")


def sniff(head: bytes) -> str | None:
    """The content type the bytes really are, or None when not an allowed kind."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if _is_plain_text(head):
        return "text/plain"
    return None


def _is_plain_text(data: bytes) -> bool:
    if not data or b"\x00" in data:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # The sniffed head may end inside a multi-byte character.
        try:
            text = data[:-3].decode("utf-8") if len(data) > 3 else ""
        except UnicodeDecodeError:
            return False
        if not text:
            return False
    if text.lstrip("\ufeff \t\r\n").startswith("<"):
        return False  # markup (HTML, SVG, XML) is never accepted as text
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f")
    return controls == 0


def clean_filename(name: str | None) -> str:
    """A display name: no directories, no control characters, at most 200 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return base[:200] or "file"


def content_disposition(kind: str, filename: str) -> str:
    """The ``Content-Disposition`` header Starlette's FileResponse would send (RFC 6266 for non-ASCII)."""
    quoted = quote(filename)
    return f"{kind}; filename*=utf-8''{quoted}" if quoted != filename else f'{kind}; filename="{filename}"'


def valid_name(stored_name: str) -> bool:
    """Whether ``stored_name`` could be one of ours (random, no path parts)."""
    return bool(_STORED_NAME.fullmatch(stored_name))


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    original_name: str
    content_type: str
    size: int


class UploadStore:
    """Checks uploads by their first bytes and keeps them, under random names, in ``files``.

    ``files`` is a :class:`~chatapp.file_storage.FileStorage` (a directory path stands for
    :class:`~chatapp.file_storage.LocalFiles` there).
    """

    def __init__(self, files: FileStorage | str | Path, max_bytes: int) -> None:
        self.files: FileStorage = LocalFiles(files) if isinstance(files, (str, Path)) else files
        self.max_bytes = max_bytes

    async def ensure(self) -> None:
        await self.files.ensure()

    def check(self, head: bytes, size: int, filename: str | None) -> tuple[str, str]:
        """Return (content type, clean original name) or raise a clear error.

        ``head`` is the file's first bytes (up to :data:`SNIFF_BYTES`), ``size`` its length.
        """
        if not size:
            raise BadRequest("The file is empty", field="file")
        if size > self.max_bytes:
            raise PayloadTooLarge(
                f"The file is {size} bytes; the limit is {self.max_bytes} bytes", limit=self.max_bytes
            )
        original = clean_filename(filename)
        content_type = sniff(head[:SNIFF_BYTES])
        if content_type is None:
            raise UnsupportedMediaType(
                "File content is not an allowed type (PNG, JPEG, GIF, WebP, PDF or plain text)",
                allowed=sorted(ALLOWED),
            )
        extension = original.rsplit(".", 1)[1].lower() if "." in original else ""
        extensions, _, _ = ALLOWED[content_type]
        if extension and extension not in extensions:
            raise UnsupportedMediaType(
                f"The file is named .{extension} but its content is {content_type}; rename or convert it",
                code="content_mismatch",
                detected=content_type,
            )
        return content_type, original

    def check_file(self, source: BinaryIO, filename: str | None) -> tuple[str, str, int]:
        """:meth:`check` on a seekable file, left at its start; also returns its size."""
        size = source.seek(0, os.SEEK_END)
        source.seek(0)
        head = source.read(SNIFF_BYTES)
        source.seek(0)
        content_type, original = self.check(head, size, filename)
        return content_type, original, size

    async def save(self, source: BinaryIO, filename: str | None) -> StoredFile:
        """Check ``source`` and stream it to storage; nothing is read into memory whole."""
        content_type, original, size = self.check_file(source, filename)
        stored = f"{secrets.token_urlsafe(24)}.{ALLOWED[content_type][1]}"
        await self.files.put(stored, source, content_type)
        return StoredFile(stored, original, content_type, size)

    async def open(self, stored_name: str) -> StoredBody | None:
        return await self.files.open(stored_name) if valid_name(stored_name) else None

    async def delete(self, stored_name: str) -> None:
        if valid_name(stored_name):
            await self.files.delete(stored_name)

    @staticmethod
    def inline(content_type: str) -> bool:
        return ALLOWED.get(content_type, ((), "", False))[2]
