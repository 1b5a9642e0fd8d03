"""Languages over the API: catalogues served per preference, an agent's language kept on the
account, and system messages stored as codes that each reader renders in their own language."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from chatapp.db import connect, utcnow
from chatapp.i18n import LOCALES_DIR
from tests.chatapp.procs import Api, ChatappProcess, chatapp_stack


def test_the_catalogue_follows_the_preference_list(anon: Api) -> None:
    french = anon.ok("GET", "/api/i18n", params={"prefer": "fr-CA,uk"})
    assert french["locale"] == "fr"
    assert french["messages"]["widget.placeholder"] == "Écrivez votre message…"
    assert {"code": "uk", "name": "Українська"} in french["available"]
    assert anon.ok("GET", "/api/i18n", params={"prefer": "de,uk-UA"})["locale"] == "uk"
    assert anon.ok("GET", "/api/i18n", params={"prefer": "de"})["locale"] == "en"
    assert anon.ok("GET", "/api/i18n")["locale"] == "en"
    too_long = anon.get("/api/i18n", params={"prefer": "x" * 201})
    assert too_long.status_code == 422 and too_long.json()["error"] == "invalid_input"


def test_the_widget_is_sent_only_its_own_strings(anon: Api) -> None:
    whole = anon.ok("GET", "/api/i18n", params={"prefer": "uk"})
    widget = anon.ok("GET", "/api/i18n", params={"prefer": "uk", "scope": "widget"})
    assert widget["locale"] == "uk" and widget["available"] == whole["available"]
    assert widget["messages"]["widget.placeholder"] == whole["messages"]["widget.placeholder"]
    assert widget["messages"]["chat.resolved"] == whole["messages"]["chat.resolved"]
    assert "panel.title" in whole["messages"] and "panel.title" not in widget["messages"]
    assert set(widget["messages"]) < set(whole["messages"])
    unknown = anon.get("/api/i18n", params={"scope": "everything"})
    assert unknown.status_code == 422 and unknown.json()["error"] == "invalid_input"


def test_an_agent_keeps_the_language_they_chose(admin: Api) -> None:
    refused = admin.post("/api/auth/locale", {"locale": "tlh"})
    assert refused.status_code == 422
    assert refused.json()["error"] == "unsupported_locale" and "uk" in refused.json()["message"]
    assert admin.ok("POST", "/api/auth/locale", {"locale": "uk"})["user"]["locale"] == "uk"
    assert admin.ok("GET", "/api/auth/me")["user"]["locale"] == "uk"
    assert admin.ok("POST", "/api/auth/locale", {"locale": "en"})["user"]["locale"] == "en"


def test_system_messages_carry_their_code_and_parameters(admin: Api, new_guest: Callable[..., Api]) -> None:
    visitor = new_guest("Émile")
    room = visitor.send("Bonjour")["room"]["id"]
    admin.ok("POST", f"/api/admin/chat/rooms/{room}/assign", {})
    admin.ok("POST", f"/api/admin/chat/rooms/{room}/resolve")
    visitor.ok("POST", f"/api/chat/rooms/{room}/close")
    system = [m for m in visitor.ok("GET", f"/api/chat/rooms/{room}/messages")["data"] if m["sender_role"] == "system"]
    name = admin.user["name"]
    assert [(m["system"], m["body"]) for m in system] == [
        ({"code": "chat.joined", "params": {"agent": name}}, f"{name} joined the chat"),
        ({"code": "chat.resolved", "params": {"agent": name}}, f"{name} resolved the chat"),
        ({"code": "chat.closed", "params": {"name": "Émile"}}, "Émile closed the chat"),
    ]
    people = [m for m in admin.ok("GET", f"/api/admin/chat/rooms/{room}/messages")["data"] if m["sender_role"] != "system"]
    assert [m["system"] for m in people] == [None]


def test_a_catalogue_added_to_the_directory_is_offered_without_code(
    database_url: str, tmp_path: Path
) -> None:
    directory = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, directory)
    english = json.loads((directory / "en.json").read_text(encoding="utf-8"))
    polish = {**english, "locale.name": "Polski", "widget.placeholder": "Napisz wiadomość…"}
    (directory / "pl.json").write_text(json.dumps(polish, ensure_ascii=False), encoding="utf-8")
    stack: ChatappProcess
    with chatapp_stack(database_url, tmp_path / "work", {"CHATAPP_LOCALES_DIR": str(directory)}) as stack:
        doc = Api(stack.base_url).ok("GET", "/api/i18n", params={"prefer": "pl-PL"})
        assert doc["locale"] == "pl"
        assert doc["messages"]["widget.placeholder"] == "Napisz wiadomość…"
        assert {"code": "pl", "name": "Polski"} in doc["available"]


def insert_legacy_system_message(database_url: str, room_id: int, body: str) -> None:
    """A system message as chatapp stored them before catalogues: English text, no code."""

    async def run() -> None:
        db = await connect(database_url)
        try:
            await db.execute(
                "INSERT INTO support_chat_messages (room_id, sender_id, sender_role, body, created_at) "
                "VALUES (?, NULL, 'system', ?, ?)", room_id, body, utcnow(),
            )
        finally:
            await db.close()

    # Its own thread: a caller may already run an event loop (Playwright's sync API does).
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(run())).result()


def test_system_messages_stored_before_catalogues_stay_readable(
    chat: ChatappProcess, admin: Api, new_guest: Callable[..., Api]
) -> None:
    visitor = new_guest("Old Timer")
    room = visitor.send("Hello from last year")["room"]["id"]
    insert_legacy_system_message(chat.database_url, room, "Alice Admin resolved the chat")
    last = admin.ok("GET", f"/api/admin/chat/rooms/{room}/messages")["data"][-1]
    assert (last["sender_role"], last["system"], last["body"]) == ("system", None, "Alice Admin resolved the chat")
