"""A contact's own data: export as one zip, erase everywhere, both in the audit log.

Every test runs on SQLite and PostgreSQL (the ``chat`` fixture) with attachments on local
disk; one more keeps attachments in S3 (moto's real S3 server). After an erase, every table,
the search index (SQLite's FTS5 tables directly; the inbox search on both databases) and the
storage are searched for anything of the contact's: nothing may be left, and another
visitor's data must be untouched.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest

from chatapp import repository as repo
from chatapp.broadcasting import Broadcaster
from chatapp.config import Settings
from chatapp.contact_data import ContactData
from chatapp.db import connect
from chatapp.events import Events
from chatapp.file_storage import LocalFiles
from chatapp.outbox import Outbox
from chatapp.policy import ADMIN_CHANNEL
from chatapp.schema import migrate
from chatapp.uploads import UploadStore
from tests.chatapp.conftest import POSTGRES
from tests.chatapp.procs import (
    Api,
    ChatappProcess,
    PushReceiver,
    admin_api,
    chatapp_stack,
    throwaway_database,
)
from tests.cluster import conftest as cluster
from tests.cluster.s3_server import S3Server


def unique_word() -> str:
    """Letters no other test writes, so a search or a scan finds only this test's rows."""
    return "".join(secrets.choice("бвгдклмнпрстфхцчшщ") for _ in range(10))


def png() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(300)


def upload(visitor: Api, data: bytes, room_id: int, name: str = "receipt.png") -> dict[str, Any]:
    response = visitor.request("POST", "/api/chat/upload", files={"file": (name, data, "image/png")},
                               data={"room_id": str(room_id)})
    assert response.status_code == 201, response.text
    return response.json()["attachment"]  # type: ignore[no-any-return]


def stored_name(attachment: dict[str, Any]) -> str:
    return str(attachment["url"]).rsplit("/", 1)[1]


@dataclass
class Contact:
    api: Api
    word: str
    room_id: int
    file: bytes
    stored: str
    note_id: int
    endpoint: str


def make_contact(base_url: str, admin: Api, push_receiver: PushReceiver | None) -> Contact:
    """A visitor with a conversation: messages, a reply, a private note, a file, a push subscription."""
    word = unique_word()
    visitor = guest_api_at(base_url, f"Visitor {word}")
    room_id = visitor.send(f"Hello {word}, my parcel is late")["room"]["id"]
    page = {"url": f"https://shop.example/{quote(word)}", "title": word}
    visitor.ok("POST", f"/api/chat/rooms/{room_id}/pages", page)
    data = png()
    attachment = upload(visitor, data, room_id)
    visitor.send("here is the receipt", attachment_id=attachment["id"])
    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": f"Looking into {word} now"})
    note = admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/notes", {"body": f"staff only {word} secret"})
    endpoint = ""
    if push_receiver is not None:
        sub = push_receiver.new_subscription()
        visitor.ok("POST", "/api/push/subscriptions", sub.to_json(), status=201)
        endpoint = sub.endpoint
    return Contact(visitor, word, room_id, data, stored_name(attachment), note["message"]["id"], endpoint)


def guest_api_at(base_url: str, name: str) -> Api:
    doc = Api(base_url).ok("POST", "/api/auth/guest", {"name": name})
    return Api(base_url, doc["token"], doc["user"])


def export_zip(admin: Api, user_id: int) -> zipfile.ZipFile:
    response = admin.get(f"/api/admin/contacts/{user_id}/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert f"contact-{user_id}.zip" in response.headers["content-disposition"]
    return zipfile.ZipFile(io.BytesIO(response.content))


def search(admin: Api, q: str) -> list[int]:
    doc = admin.ok("GET", "/api/admin/chat/rooms", params={"q": q, "per_page": 100})
    return [r["id"] for r in doc["data"]]


async def _leftovers(url: str, contact: Contact) -> dict[str, int]:
    """Rows anywhere that belong to or mention the contact (their id, room, file or word)."""
    db = await connect(url)
    user_id, room_id, like = contact.api.id, contact.room_id, f"%{contact.word}%"
    checks: dict[str, tuple[str, tuple[Any, ...]]] = {
        "users": ("SELECT COUNT(*) FROM users WHERE id = ? OR name LIKE ?", (user_id, like)),
        "rooms": ("SELECT COUNT(*) FROM support_chat_rooms WHERE user_id = ? OR id = ? OR subject LIKE ?",
                  (user_id, room_id, like)),
        "messages": ("SELECT COUNT(*) FROM support_chat_messages WHERE room_id = ? OR sender_id = ? OR body LIKE ?",
                     (room_id, user_id, like)),
        "attachments": ("SELECT COUNT(*) FROM chat_attachments WHERE room_id = ? OR uploader_id = ? "
                        "OR stored_name = ?", (room_id, user_id, contact.stored)),
        "typing": ("SELECT COUNT(*) FROM chat_typing_indicators WHERE room_id = ? OR user_id = ?",
                   (room_id, user_id)),
        "push_subscriptions": ("SELECT COUNT(*) FROM push_subscriptions WHERE user_id = ? OR endpoint = ?",
                               (user_id, contact.endpoint or "-")),
        "sessions": ("SELECT COUNT(*) FROM auth_sessions WHERE user_id = ?", (user_id,)),
        "page_views": ("SELECT COUNT(*) FROM chat_page_views WHERE room_id = ? OR title LIKE ?", (room_id, like)),
        "page_context": ("SELECT COUNT(*) FROM chat_room_context WHERE room_id = ? OR first_url LIKE ?",
                         (room_id, like)),
        "outbox": ("SELECT COUNT(*) FROM outbox WHERE channel IN (?, ?) OR data LIKE ?",
                   (f"private-chat.{room_id}", f"private-user.{user_id}", like)),
        "audit_details": ("SELECT COUNT(*) FROM audit_log WHERE details LIKE ?", (like,)),
        "mails": ("SELECT COUNT(*) FROM mail_outbox WHERE room_id = ? OR recipient_id = ? OR body_text LIKE ?",
                  (room_id, user_id, like)),
        "mail_rooms": ("SELECT COUNT(*) FROM mail_rooms WHERE room_id = ?", (room_id,)),
    }
    if db.dialect == "sqlite":
        match = f'"{contact.word}"'
        checks["fts_messages"] = (
            "SELECT COUNT(*) FROM support_chat_messages_search WHERE support_chat_messages_search MATCH ?", (match,))
        checks["fts_rooms"] = (
            "SELECT COUNT(*) FROM support_chat_rooms_search WHERE rowid = ? OR support_chat_rooms_search MATCH ?",
            (room_id, match))
    try:
        return {name: int(await db.fetch_val(sql, *args) or 0) for name, (sql, args) in checks.items()}
    finally:
        await db.close()


def leftovers(url: str, contact: Contact) -> dict[str, int]:
    return asyncio.run(_leftovers(url, contact))


def audit_entries(admin: Api, **params: Any) -> list[dict[str, Any]]:
    return admin.ok("GET", "/api/admin/audit", params={"limit": 200, **params})["data"]  # type: ignore[no-any-return]


# ---------------------------------------------------------------------- export


def test_export_holds_the_contact_and_their_files_but_no_private_notes(
    chat: ChatappProcess, admin: Api, push_receiver: PushReceiver
) -> None:
    contact = make_contact(chat.base_url, admin, push_receiver)
    admin.ok("POST", f"/api/admin/chat/rooms/{contact.room_id}/resolve")
    archive = export_zip(admin, contact.api.id)
    doc = orjson.loads(archive.read("contact.json"))
    [system] = [m for m in doc["messages"] if m["sender_role"] == "system"]
    assert system["system"] == {"code": "chat.resolved", "params": {"agent": admin.user["name"]}}
    assert doc["user"]["id"] == contact.api.id and doc["user"]["name"] == f"Visitor {contact.word}"
    assert [r["id"] for r in doc["rooms"]] == [contact.room_id]
    bodies = [m["body"] for m in doc["messages"]]
    assert f"Hello {contact.word}, my parcel is late" in bodies and f"Looking into {contact.word} now" in bodies
    assert all("staff only" not in b for b in bodies), "private notes are support's, never exported"
    assert contact.note_id not in [m["id"] for m in doc["messages"]]
    assert [p["endpoint"] for p in doc["push_subscriptions"]] == [contact.endpoint]
    assert doc["sessions"] and "ip" in doc["sessions"][0] and "id" not in doc["sessions"][0]
    assert doc["mails"] == []  # no e-mail is set up here
    [page] = doc["page_views"]
    assert page["room_id"] == contact.room_id and page["title"] == contact.word and page["viewed_at"]
    [context] = doc["page_context"]
    assert context["first_url"] == f"https://shop.example/{quote(contact.word)}" and context["browser"] is None  # httpx
    assert doc["user"]["site_attributes"] == {}
    [attachment] = doc["attachments"]
    assert "stored_name" not in attachment and attachment["original_name"] == "receipt.png"
    assert archive.read(attachment["file"]) == contact.file
    assert archive.testzip() is None

    entry = audit_entries(admin)[0]
    assert entry["action"] == "contact.export" and entry["target"] == {"type": "user", "id": contact.api.id}
    assert entry["actor"]["id"] == admin.id and entry["actor"]["role"] == admin.user["staff_role"]
    assert entry["details"]["messages"] == len(doc["messages"])


def test_export_and_erase_refuse_admins_and_unknown_ids(chat: ChatappProcess, admin: Api) -> None:
    for method, path in (("GET", "/api/admin/contacts/{}/export"), ("DELETE", "/api/admin/contacts/{}")):
        refused = admin.request(method, path.format(admin.id))
        assert refused.status_code == 409 and refused.json()["error"] == "contact_is_admin", refused.text
        missing = admin.request(method, path.format(999_999_999))
        assert missing.status_code == 404 and missing.json()["error"] == "contact_not_found", missing.text
    assert admin.get("/api/auth/me").status_code == 200


# ----------------------------------------------------------------------- erase


def test_erase_leaves_nothing_of_the_contact_and_keeps_everyone_else(
    chat: ChatappProcess, admin: Api, push_receiver: PushReceiver
) -> None:
    contact = make_contact(chat.base_url, admin, push_receiver)
    other = make_contact(chat.base_url, admin, push_receiver)
    uploads = chat.workdir / "uploads"
    assert (uploads / contact.stored).exists()
    assert search(admin, contact.word) == [contact.room_id]
    before = leftovers(chat.database_url, contact)
    assert before["users"] and before["messages"] >= 4 and before["push_subscriptions"] == 1
    assert before["page_views"] == 1 and before["page_context"] == 1

    erased = admin.ok("DELETE", f"/api/admin/contacts/{contact.api.id}")["erased"]
    assert erased["user_id"] == contact.api.id and erased["rooms"] == 1 and erased["attachments"] == 1
    assert erased["messages"] >= 4 and erased["push_subscriptions"] == 1 and erased["sessions"] >= 1
    assert erased["files_not_deleted"] == 0

    assert leftovers(chat.database_url, contact) == dict.fromkeys(before, 0)
    assert not (uploads / contact.stored).exists()
    assert search(admin, contact.word) == []
    assert admin.request("GET", f"/api/admin/chat/rooms/{contact.room_id}").status_code == 404
    gone = contact.api.get("/api/auth/me")
    assert gone.status_code == 401, "the erased contact's token no longer works"

    # The other visitor is untouched: rows, file, search, token.
    assert (uploads / other.stored).exists()
    assert search(admin, other.word) == [other.room_id]
    kept = leftovers(chat.database_url, other)
    assert kept["users"] == 1 and kept["messages"] >= 4 and kept["attachments"] == 1 and kept["push_subscriptions"] == 1
    history = other.api.ok("GET", f"/api/chat/rooms/{other.room_id}/messages")["data"]
    assert any(other.word in m["body"] for m in history)
    assert other.api.get(f"/api/chat/files/{other.stored}").content == other.file

    erase = next(e for e in audit_entries(admin) if e["action"] == "contact.erase"
                 and e["target"]["id"] == contact.api.id)
    assert erase["actor"]["id"] == admin.id and erase["details"]["room_ids"] == [contact.room_id]
    assert erase["details"]["self"] is False

    again = admin.request("DELETE", f"/api/admin/contacts/{contact.api.id}")
    assert again.status_code == 404


def test_a_visitor_deletes_their_own_data(chat: ChatappProcess, admin: Api, push_receiver: PushReceiver) -> None:
    contact = make_contact(chat.base_url, admin, push_receiver)
    erased = contact.api.ok("DELETE", "/api/chat/me")["erased"]
    assert erased["rooms"] == 1 and erased["attachments"] == 1
    assert not any(leftovers(chat.database_url, contact).values())
    assert not (chat.workdir / "uploads" / contact.stored).exists()
    assert contact.api.get("/api/chat/room").status_code == 401
    entry = next(e for e in audit_entries(admin) if e["target"]["id"] == contact.api.id)
    assert entry["action"] == "contact.erase" and entry["actor"] == {"id": contact.api.id, "role": "visitor",
                                                                      "name": None}
    assert entry["details"]["self"] is True
    assert admin.request("DELETE", "/api/chat/me").status_code == 403, "support accounts are not erased this way"


def test_assignments_by_hand_are_in_the_audit_log(chat: ChatappProcess, admin: Api) -> None:
    contact = make_contact(chat.base_url, admin, None)
    """The reply that took the chat, then an unassign and an assign by hand: three entries, in order."""
    admin.ok("POST", f"/api/admin/chat/rooms/{contact.room_id}/unassign")
    admin.ok("POST", f"/api/admin/chat/rooms/{contact.room_id}/assign", {})
    found = [e for e in audit_entries(admin) if e["target"] == {"type": "room", "id": contact.room_id}]
    assert [(e["action"], e["details"]) for e in reversed(found)] == [
        ("room.assign", {"from": None, "to": admin.id}),  # the reply in make_contact
        ("room.unassign", {"from": admin.id, "to": None}),
        ("room.assign", {"from": None, "to": admin.id}),
    ]
    assert {(e["actor"]["id"], e["actor"]["role"]) for e in found} == {(admin.id, admin.user["staff_role"])}


def test_the_audit_log_pages_newest_first(chat: ChatappProcess, admin: Api) -> None:
    contact = make_contact(chat.base_url, admin, None)
    for _ in range(3):
        export_zip(admin, contact.api.id)
    whole = audit_entries(admin)
    ids = [e["id"] for e in whole]
    assert ids == sorted(ids, reverse=True)
    paged: list[int] = []
    before: int | None = None
    while len(paged) < 5:
        page = admin.ok("GET", "/api/admin/audit", params={"limit": 2, **({"before": before} if before else {})})
        paged += [e["id"] for e in page["data"]]
        before = page["meta"]["next_before"]
        if before is None:
            break
    assert paged == ids[: len(paged)] and len(paged) >= 3
    assert admin.request("GET", "/api/admin/audit", params={"limit": 0}).status_code == 422
    assert contact.api.request("GET", "/api/admin/audit").status_code == 403


# ------------------------------------------------------------------------- S3

s3_server, bucket = cluster.s3_server, cluster.bucket  # the cluster suite's fixtures: moto's S3 server, a bucket


def test_export_and_erase_with_attachments_in_s3(s3_server: S3Server, bucket: str, tmp_path: Path) -> None:
    with throwaway_database("sqlite", tmp_path) as url, chatapp_stack(url, tmp_path / "app",
                                                                       s3_server.chatapp_env(bucket)) as app:
        admin = admin_api(app, "s3-admin-password")
        contact = make_contact(app.base_url, admin, None)
        other = make_contact(app.base_url, admin, None)
        assert s3_server.keys(bucket) == sorted([contact.stored, other.stored])
        archive = export_zip(admin, contact.api.id)
        [attachment] = orjson.loads(archive.read("contact.json"))["attachments"]
        assert archive.read(attachment["file"]) == contact.file

        erased = admin.ok("DELETE", f"/api/admin/contacts/{contact.api.id}")["erased"]
        assert erased["files_not_deleted"] == 0
        assert s3_server.keys(bucket) == [other.stored], "the contact's object is gone, the other's stays"
        assert not any(leftovers(url, contact).values())
        assert other.api.get(f"/api/chat/files/{other.stored}").content == other.file


# ------------------------------------------------------------ pending events


@pytest.mark.parametrize("kind", ["sqlite", POSTGRES])
def test_erase_drops_the_pending_events_that_name_the_contact(kind: str, tmp_path: Path) -> None:
    """Rows the relay has not sent yet (here: no relay at all) about the contact go with them; others stay."""
    with throwaway_database(kind, tmp_path) as url:
        asyncio.run(_pending_events(url, tmp_path / "uploads"))


async def _pending_events(url: str, uploads: Path) -> None:
    settings = Settings(database_url=url, upload_dir=str(uploads), reverb_app_id="1", reverb_key="key",
                        reverb_secret="secret")
    db = await connect(url)
    try:
        await migrate(db)
        outbox = Outbox(settings)
        async with db.transaction() as conn:
            contact = await repo.create_user(conn, role="guest", name="Gone Soon")
            other = await repo.create_user(conn, role="guest", name="Staying")
            admin = await repo.create_user(conn, role="admin", name="Agent")
            room = await repo.create_room(conn, contact.id, "mine")
            kept_room = await repo.create_room(conn, other.id, "theirs")
            assert room and kept_room
            await outbox.add(conn, [f"private-chat.{room}"], "message.sent", {"id": 1, "body": "secret"})
            await outbox.add(conn, [f"private-user.{contact.id}"], "unread.updated",
                             {"room_id": room, "unread_count": 1})
            await outbox.add(conn, [ADMIN_CHANNEL], "chat.message", {"room": {"id": room}, "message": {"id": 1}})
            await outbox.add(conn, [ADMIN_CHANNEL], "room.updated", {"room": {"id": room}})
            await outbox.add(conn, [f"private-chat.{kept_room}"], "message.sent", {"id": 2, "body": "hello"})
            await outbox.add(conn, [ADMIN_CHANNEL], "chat.message", {"room": {"id": kept_room}, "message": {"id": 2}})
        actor = await repo.get_user(db, admin.id)
        assert actor is not None
        data = ContactData(db, UploadStore(LocalFiles(uploads), 10**6),
                           Events(Broadcaster(settings), outbox, ""))
        erased = await data.erase(actor, contact.id)
        assert erased["outbox_rows"] == 4 and erased["rooms"] == 1
        left = [(r["channel"], r["name"], orjson.loads(r["data"])) for r in
                await db.fetch_all("SELECT channel, name, data FROM outbox ORDER BY id")]
        assert left == [
            (f"private-chat.{kept_room}", "message.sent", {"id": 2, "body": "hello"}),
            (ADMIN_CHANNEL, "chat.message", {"room": {"id": kept_room}, "message": {"id": 2}}),
            (ADMIN_CHANNEL, "room.removed", {"room_id": room, "reason": "erased"}),
        ]
        assert await db.fetch_val("SELECT COUNT(*) FROM users WHERE id = ?", other.id) == 1
    finally:
        await db.close()
