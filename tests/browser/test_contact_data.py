"""The contact's own data in the browser: the panel's "Export contact" and "Erase contact", and
the widget's "Delete my data" (Chromium)."""

from __future__ import annotations

import io
import json
import secrets
import zipfile

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, Stack, send
from tests.chatapp.procs import Api

pytestmark = pytest.mark.browser

PNG = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(120)


def word() -> str:
    return "".join(secrets.choice("bcdfghjklmnpqrstvwxz") for _ in range(10))


def found(admin: Api, q: str) -> list[int]:
    return [r["id"] for r in admin.ok("GET", "/api/admin/chat/rooms", params={"q": q, "per_page": 100})["data"]]


def test_the_panel_exports_a_contact_then_erases_them_from_every_inbox(pages: Pages, stack: Stack) -> None:
    secret = word()
    visitor = Api.guest(stack.url, f"Erin {secret}")
    room = visitor.send(f"Please forget me {secret}")["room"]["id"]
    uploaded = visitor.request("POST", "/api/chat/upload", files={"file": ("scan.png", PNG, "image/png")},
                               data={"room_id": str(room)})
    assert uploaded.status_code == 201, uploaded.text
    stack.admin.post(f"/api/admin/chat/rooms/{room}/messages", {"body": "Of course"})
    stack.admin.post(f"/api/admin/chat/rooms/{room}/notes", {"body": f"staff only {secret}"})

    _, bob = stack.new_admin("Bob Agent")
    other = pages.admin("/admin/chat?filter=all", api=bob)  # another agent's inbox, live
    expect(other.locator(f".room-item[data-id='{room}']")).to_have_count(1)

    page = pages.admin(f"/admin/chat/{room}")
    expect(page.locator("#room .msg.theirs .body").first).to_have_text(f"Please forget me {secret}")
    with page.expect_download() as info:
        page.get_by_role("button", name="Export contact").click()
    download = info.value
    assert download.suggested_filename == f"contact-{visitor.id}.zip"
    with open(download.path(), "rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    doc = json.loads(archive.read("contact.json"))
    assert [m["body"] for m in doc["messages"]] == [f"Please forget me {secret}", "Of course"]
    assert archive.read(doc["attachments"][0]["file"]) == PNG

    page.get_by_role("button", name="Erase contact").click()
    dialog = page.locator("#erase-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Erin {secret}")
    page.locator("#erase-cancel").click()
    expect(dialog).to_be_hidden()
    assert found(stack.admin, secret) == [room], "cancel keeps everything"

    page.get_by_role("button", name="Erase contact").click()
    page.locator("#erase-confirm").click()
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(f"{stack.url}/admin/chat")
    expect(page.locator(f".room-item[data-id='{room}']")).to_have_count(0)
    expect(other.locator(f".room-item[data-id='{room}']")).to_have_count(0)  # room.removed on the feed
    assert found(stack.admin, secret) == []
    assert stack.admin.request("GET", f"/api/admin/chat/rooms/{room}").status_code == 404
    assert visitor.get("/api/auth/me").status_code == 401


def test_the_widget_deletes_the_visitors_data_and_is_left_empty(pages: Pages, stack: Stack) -> None:
    secret = word()
    page = pages.page("/")
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    page.locator("chatapp-widget .launcher").click()
    send(page, f"Hello {secret}")
    expect(page.locator("chatapp-widget .msg.ours .status")).to_have_text(" · Sent")
    [room] = found(stack.admin, secret)
    stack.admin.post(f"/api/admin/chat/rooms/{room}/messages", {"body": "Hi, how can I help?"})
    expect(page.locator("chatapp-widget .msg.theirs .body")).to_have_text("Hi, how can I help?")

    footer = page.locator("chatapp-widget .foot").get_by_role("button", name="Delete my data")
    footer.click()
    box = page.locator("chatapp-widget .forget")
    expect(box).to_contain_text("Delete this chat and all your data? This cannot be undone.")
    box.get_by_role("button", name="Cancel").click()
    expect(box).to_have_count(0)
    assert found(stack.admin, secret) == [room]

    footer.click()
    box.get_by_role("button", name="Delete my data").click()
    expect(box).to_contain_text("Your data was deleted.")
    expect(page.locator("chatapp-widget .msg")).to_have_count(0)
    expect(footer).to_be_hidden()
    assert found(stack.admin, secret) == []
    assert stack.admin.request("GET", f"/api/admin/chat/rooms/{room}").status_code == 404
    stored = page.evaluate("() => Object.keys(localStorage).filter((k) => k.startsWith('chatapp.widget:'))")
    assert stored == [], "the widget forgot the visitor's session"

    page.reload()  # the widget stays open across page loads: empty, nobody signed in
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    expect(page.locator("chatapp-widget .panel")).to_be_visible()
    expect(page.locator("chatapp-widget .msg")).to_have_count(0)


def test_an_agent_has_no_export_or_erase(pages: Pages, stack: Stack) -> None:
    """Exporting and erasing a contact is for the owner and admins: an agent sees neither action
    and the routes answer 403 manager_only."""
    visitor = Api.guest(stack.url, f"Ann {word()}")
    room = visitor.send("Hello")["room"]["id"]
    email = f"plain-agent-{word()}@support.test"
    stack.chat.cli("create-admin", "--email", email, "--name", "Plain Agent", "--password", "agent-password-1",
                   "--role", "agent")
    doc = Api(stack.url).ok("POST", "/api/auth/login", {"email": email, "password": "agent-password-1"})
    agent = Api(stack.url, doc["token"], doc["user"])
    page = pages.admin(f"/admin/chat/{room}", api=agent)
    expect(page.locator("#room .msg.theirs .body").first).to_have_text("Hello")
    expect(page.get_by_role("button", name="Export contact")).to_have_count(0)
    expect(page.get_by_role("button", name="Erase contact")).to_have_count(0)
    for method, path in (("GET", f"/api/admin/contacts/{visitor.id}/export"),
                         ("DELETE", f"/api/admin/contacts/{visitor.id}")):
        response = agent.request(method, path)
        assert response.status_code == 403 and response.json()["error"] == "manager_only", response.text
    manager = pages.admin(f"/admin/chat/{room}")
    expect(manager.get_by_role("button", name="Erase contact")).to_be_visible()
