"""What messages carry: attachments both ways, and hostile text that must stay text."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, Stack, screenshot, send, visitor_page, wait_until

pytestmark = pytest.mark.browser
BLOB_URL = re.compile(r"^blob:")


def png(width: int = 24, height: int = 16) -> bytes:
    """A real PNG (orange), so the server's content check and the browser's decoder both accept it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x80\x20" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_attachments_round_trip_with_image_preview_and_download(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user("Pavlo Photos")
    visitor = visitor_page(pages, user)
    visitor.locator("chatapp-widget .launcher").click()
    image = png()
    visitor.locator("chatapp-widget input[type=file]").set_input_files(
        {"name": "broken-zip.png", "mimeType": "image/png", "buffer": image})
    chip = visitor.locator("chatapp-widget .file-chip")
    expect(chip).to_contain_text("broken-zip.png")
    send(visitor, "The zip on my jacket broke, see photo")
    mine = visitor.locator("chatapp-widget .msg.ours")
    expect(mine.locator(".status")).to_have_text(" · Sent")
    expect(chip).to_be_hidden()
    expect(mine.locator("img.preview")).to_have_attribute("src", BLOB_URL)
    expect(mine.get_by_role("link", name="Download broken-zip.png (")).to_be_visible()
    expect(mine).to_have_count(1)
    room_id = user.ok("GET", "/api/chat/room")["room"]["id"]
    stored = user.ok("GET", f"/api/chat/rooms/{room_id}/messages")["data"][0]
    assert stored["attachment"]["name"] == "broken-zip.png" and stored["attachment"]["size"] == len(image)
    assert stored["body"] == "The zip on my jacket broke, see photo"

    admin = pages.admin(f"/admin/chat/{room_id}")
    theirs = admin.locator("#room .msg.theirs")
    preview = theirs.locator("img.preview")
    expect(preview).to_have_attribute("src", BLOB_URL)
    wait_until(lambda: preview.evaluate("(img) => img.complete && img.naturalWidth") == 24, what="image decoded")
    with admin.expect_download() as download_info:
        theirs.get_by_role("link", name="Download broken-zip.png (").click()
    download = download_info.value
    assert download.suggested_filename == "broken-zip.png"
    assert Path(download.path()).read_bytes() == image

    # Support answers with a document (no caption needed); the visitor downloads it.
    invoice = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    admin.locator("#room input[type=file]").set_input_files(
        {"name": "return-label.pdf", "mimeType": "application/pdf", "buffer": invoice})
    admin.get_by_role("button", name="Send message").click()
    # the visitor's open widget may read it at once, turning "Sent" into "Seen"
    expect(admin.locator("#room .msg.ours .status")).to_have_text(re.compile(r"^ · (Sent|Seen)$"))
    expect(admin.locator("#room .msg.ours").get_by_role("link", name="Download return-label.pdf (")).to_be_visible()
    link = visitor.locator("chatapp-widget .msg.theirs").get_by_role("link", name="Download return-label.pdf (")
    expect(link).to_be_visible()
    screenshot(visitor, "widget-attachments")
    with visitor.expect_download() as download_info:
        link.click()
    assert Path(download_info.value.path()).read_bytes() == invoice
    assert download_info.value.suggested_filename == "return-label.pdf"

    # A file over the limit is refused before uploading, with a clear message.
    visitor.locator("chatapp-widget input[type=file]").set_input_files(
        {"name": "huge.png", "mimeType": "image/png", "buffer": image + b"\0" * 300_001})
    expect(visitor.locator("chatapp-widget .composer-error")).to_contain_text("huge.png is")
    expect(visitor.locator("chatapp-widget .file-chip")).to_be_hidden()


HOSTILE = [
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 2">',
    '"><svg onload="window.__pwned = 3"> & <b>bold?</b>',
]


def test_markup_in_messages_renders_as_text_everywhere(pages: Pages, stack: Stack) -> None:
    _, user = stack.new_user('<img src=x onerror="window.__pwned = 4">')
    visitor = visitor_page(pages, user)
    visitor.locator("chatapp-widget .launcher").click()
    for text in HOSTILE:
        send(visitor, text)
    expect(visitor.locator("chatapp-widget .msg.ours .status").last).to_have_text(" · Sent")
    room_id = user.ok("GET", "/api/chat/room")["room"]["id"]

    admin = pages.admin("/admin/chat?filter=all")
    row = admin.locator(f".room-item[data-id='{room_id}']")
    expect(row.locator(".room-name")).to_have_text('<img src=x onerror="window.__pwned = 4">')
    expect(row.locator(".room-preview")).to_have_text(HOSTILE[-1])
    row.locator("a").click()
    expect(admin.locator("#room .msg.theirs .body")).to_have_text(HOSTILE)
    send(admin, HOSTILE[1])
    expect(visitor.locator("chatapp-widget .msg.theirs .body")).to_have_text(HOSTILE[1])
    expect(visitor.locator("chatapp-widget .msg.theirs .who")).to_have_text("Alice Agent")

    for page in (visitor, admin):
        assert page.evaluate("() => window.__pwned") is None, "markup ran as code"
        assert page.locator(".msg img, .msg script, .msg b, .msg svg, .room-item img").count() == 0
