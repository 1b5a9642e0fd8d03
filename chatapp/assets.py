"""Browser files served compressed, with strong ETags, 304s and the right cache lifetime.

A file's bytes, its ETag and its compressed forms are worked out once per (path, mtime, size)
and kept in memory: the widget runs on every page of a host site, so each answer must cost
next to nothing. The build (chatapp/web/build.mjs) leaves ``.br`` and ``.gz`` beside its files;
other files are gzipped here, once, the first time a client accepts gzip.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["AssetFile", "asset_response", "IMMUTABLE", "REVALIDATE", "is_content_hashed"]

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Smaller than this, compression saves less than its own headers cost.
MIN_COMPRESS_BYTES = 512
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
# The build's output names: widget-QDOTOP3Q.js, chunk-E2R3FC5D.js, pusher-kWQMYICApV.min.js
HASHED_NAME = re.compile(r"-[A-Za-z0-9_-]{8,}\.(?:min\.)?(?:js|css)$")


def is_content_hashed(path: Path) -> bool:
    """A new version of such a file gets a new name, so clients may keep it for good."""
    return bool(HASHED_NAME.search(path.name))


def media_type(path: Path) -> str:
    if path.suffix in (".js", ".mjs"):
        return "text/javascript; charset=utf-8"
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


@dataclass
class AssetFile:
    """One file's identity and encodings: identity bytes, plus br/gzip when they pay off."""

    path: Path
    body: bytes
    etag: str
    media_type: str
    encoded: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> AssetFile:
        body = path.read_bytes()
        asset = cls(path, body, hashlib.sha256(body).hexdigest()[:20], media_type(path))
        for encoding, suffix in (("br", ".br"), ("gzip", ".gz")):
            sibling = path.with_name(path.name + suffix)
            if sibling.is_file():
                asset.encoded[encoding] = sibling.read_bytes()
        return asset

    @property
    def compressible(self) -> bool:
        return len(self.body) >= MIN_COMPRESS_BYTES and self.media_type.startswith(COMPRESSIBLE)

    def variant(self, accept_encoding: str) -> tuple[str | None, bytes]:
        """The smallest encoding the client accepts: pre-built br or gzip, else gzip made now."""
        if not self.compressible:
            return None, self.body
        accepted = {part.split(";")[0].strip().lower() for part in accept_encoding.split(",")}
        for encoding in ("br", "gzip"):
            if encoding in accepted and encoding in self.encoded:
                return encoding, self.encoded[encoding]
        if "gzip" in accepted:
            self.encoded["gzip"] = gzip.compress(self.body, compresslevel=9, mtime=0)
            return "gzip", self.encoded["gzip"]
        return None, self.body


_cache: dict[Path, tuple[tuple[int, int], AssetFile]] = {}


def load_asset(path: Path) -> AssetFile:
    stat = path.stat()
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(path)
    if cached is None or cached[0] != key:
        cached = (key, AssetFile.load(path))
        _cache[path] = cached
    return cached[1]


def _matches(if_none_match: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def asset_response(
    request: Request, path: Path, *, cache_control: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    """``path`` (an existing file) for this request: 304 when the client's copy is current."""
    asset = load_asset(path)
    encoding, body = asset.variant(request.headers.get("accept-encoding", ""))
    etag = f'"{asset.etag}-{encoding}"' if encoding else f'"{asset.etag}"'
    answer = {
        **(headers or {}),
        "ETag": etag,
        "Cache-Control": cache_control or (IMMUTABLE if is_content_hashed(path) else REVALIDATE),
        "Vary": "Accept-Encoding",
    }
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=answer)
    if encoding:
        answer["Content-Encoding"] = encoding
    content = b"" if request.method == "HEAD" else body
    response = Response(content, media_type=asset.media_type, headers=answer)
    if request.method == "HEAD":
        response.headers["content-length"] = str(len(body))
    return response
