"""Where the visitor is: page views reported by the widget, the trail, the browser, the site's attributes.

Over the API on SQLite and PostgreSQL (the ``chat`` fixture): only a room's own visitor reports
its pages, bad input is 422 naming the field, the trail is newest first, bounded and without a
reload's duplicate, the browser comes from the User-Agent header whatever the body says, and
the identity token's custom attributes reach the details and the contact export.
"""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from typing import Any

import orjson

from chatapp.api.context import PAGE_VIEW_RATE
from chatapp.db import connect, utcnow
from chatapp.identity import sign_identity_token
from chatapp.page_context import TRAIL_LENGTH, add_view
from tests.chatapp.procs import IDENTITY_SECRET, Api, ChatappProcess, guest_api

FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/126.0.0.0 Mobile Safari/537.36")


def view(visitor: Api, room_id: int, doc: dict[str, Any], **headers: str) -> Any:
    return visitor.request("POST", f"/api/chat/rooms/{room_id}/pages", json=doc, headers=headers)


def context(admin: Api, room_id: int) -> dict[str, Any]:
    return admin.ok("GET", f"/api/admin/chat/rooms/{room_id}")["context"]  # type: ignore[no-any-return]


def test_the_visitor_reports_pages_and_agents_see_where_they_are(chat: ChatappProcess, admin: Api) -> None:
    visitor = guest_api(chat, "Paula Pages")
    room_id = visitor.send("Where is my order?")["room"]["id"]
    assert context(admin, room_id)["pages"] == [] and context(admin, room_id)["browser"] is None

    first = view(visitor, room_id, {"url": "https://shop.example/cart", "title": "  Your\n cart ",
                                    "referrer": "https://search.example/?q=shoes", "tz": "Europe/Kyiv",
                                    "browser": "Netscape"},  # a name the client sends is ignored
                 **{"User-Agent": FIREFOX_MAC, "Accept-Language": "uk-UA,uk;q=0.9,en;q=0.5"})
    assert first.status_code == 201, first.text
    assert first.json()["page"]["title"] == "Your cart" and first.json()["page"]["viewed_at"]
    assert view(visitor, room_id, {"url": "https://shop.example/orders/42", "title": "Order 42", "tz": "Europe/Kyiv",
                                   "language": "uk"}, **{"User-Agent": CHROME_ANDROID}).status_code == 201
    # A reload of the page already newest moves its time; it adds no second entry.
    again = view(visitor, room_id, {"url": "https://shop.example/orders/42", "title": "Order 42 (paid)"},
                 **{"User-Agent": CHROME_ANDROID})
    assert again.status_code == 201

    seen = context(admin, room_id)
    assert [(p["url"], p["title"]) for p in seen["pages"]] == [
        ("https://shop.example/orders/42", "Order 42 (paid)"), ("https://shop.example/cart", "Your cart")]
    assert seen["first_page"] == {"url": "https://shop.example/cart", "title": "Your cart"}
    assert seen["referrer"] == "https://search.example/?q=shoes", "the referrer the chat started with"
    assert (seen["browser"], seen["browser_version"], seen["os"], seen["os_version"]) == ("Chrome", "126", "Android",
                                                                                          "14")
    assert seen["language"] == "uk" and seen["time_zone"] == "Europe/Kyiv"
    assert seen["attributes"] == {}


def test_only_the_rooms_visitor_reports_its_pages_and_bad_input_is_named(chat: ChatappProcess, admin: Api) -> None:
    visitor = guest_api(chat, "Owner")
    room_id = visitor.send("Hello")["room"]["id"]
    page = {"url": "https://shop.example/"}
    assert view(guest_api(chat, "Someone else"), room_id, page).status_code == 404
    assert view(admin, room_id, page).status_code == 403
    assert Api(chat.base_url).request("POST", f"/api/chat/rooms/{room_id}/pages", json=page).status_code == 401

    for doc, field in (
        ({}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "/relative/path"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "https://shop.example/" + "a" * 2048}, "url"),
        ({"url": "https://shop.example/ünicode"}, "url"),
        ({"url": 42}, "url"),
        ({"url": "https://shop.example/", "title": "t" * 301}, "title"),
        ({"url": "https://shop.example/", "referrer": "ftp://files.example/"}, "referrer"),
        ({"url": "https://shop.example/", "tz": "Mars/Olympus_Mons"}, "tz"),
        ({"url": "https://shop.example/", "language": "not a language"}, "language"),
    ):
        refused = view(visitor, room_id, doc)
        assert refused.status_code == 422, (doc, refused.text)
        assert refused.json()["field"] == field and refused.json()["message"], (doc, refused.text)
    assert context(admin, room_id)["pages"] == [], "nothing refused was stored"

    admin.ok("POST", f"/api/admin/chat/rooms/{room_id}/close")
    closed = view(visitor, room_id, page)
    assert closed.status_code == 409 and closed.json()["error"] == "invalid_state", closed.text


def test_the_trail_keeps_the_last_views(chat: ChatappProcess, admin: Api) -> None:
    visitor = guest_api(chat, "Busy Browser")
    room_id = visitor.send("Just looking")["room"]["id"]

    async def browse() -> None:  # the route's own store, past its rate limit (a person never gets that far)
        db = await connect(chat.database_url)
        try:
            for n in range(TRAIL_LENGTH + 5):
                async with db.transaction() as conn:
                    await add_view(conn, room_id, f"https://shop.example/p/{n}", f"Product {n}", utcnow())
        finally:
            await db.close()

    asyncio.run(browse())
    visitor.ok("POST", f"/api/chat/rooms/{room_id}/pages", {"url": "https://shop.example/p/54", "title": "Again"})
    pages = context(admin, room_id)["pages"]
    assert [p["url"] for p in pages] == [f"https://shop.example/p/{n}" for n in range(54, 4, -1)]
    assert pages[0]["title"] == "Again" and len(pages) == TRAIL_LENGTH


def test_page_views_are_rate_limited(chat: ChatappProcess) -> None:
    visitor = guest_api(chat, "Script")
    room_id = visitor.send("Hi")["room"]["id"]
    statuses = [view(visitor, room_id, {"url": f"https://shop.example/{n}"}).status_code
                for n in range(PAGE_VIEW_RATE.count + 1)]
    assert statuses[:-1] == [201] * PAGE_VIEW_RATE.count and statuses[-1] == 429


def test_the_identity_tokens_attributes_are_kept_on_the_contact(chat: ChatappProcess, admin: Api) -> None:
    def sign_in(attributes: object) -> Api:
        claims = {"sub": "shop-77", "name": "Ada Buyer", "exp": int(time.time()) + 600, "attributes": attributes}
        if attributes is None:
            del claims["attributes"]
        doc = Api(chat.base_url).ok("POST", "/api/auth/identity", {"identity": sign_identity_token(IDENTITY_SECRET,
                                                                                                   claims)})
        return Api(chat.base_url, doc["token"], doc["user"])

    visitor = sign_in({"plan": "Pro", "orders": 12, "vip": True, "ltv": 1234.5, "nested": {"no": 1},
                       "list": [1, 2], "long": "x" * 201, "": "empty name", "n" * 51: "long name"})
    room_id = visitor.send("Upgrade question")["room"]["id"]
    assert context(admin, room_id)["attributes"] == {"plan": "Pro", "orders": 12, "vip": True, "ltv": 1234.5}, \
        "flat scalars kept, the rest dropped (and logged), the sign-in still works"

    sign_in(None)  # a token without the claim leaves them as they are
    assert context(admin, room_id)["attributes"]["plan"] == "Pro"
    sign_in({"plan": "Enterprise", "orders": 13})  # the next sign-in replaces them
    assert context(admin, room_id)["attributes"] == {"plan": "Enterprise", "orders": 13}
    sign_in("not an object")
    assert context(admin, room_id)["attributes"] == {"plan": "Enterprise", "orders": 13}

    visitor.ok("POST", f"/api/chat/rooms/{room_id}/pages", {"url": "https://shop.example/billing"})
    archive = zipfile.ZipFile(io.BytesIO(admin.get(f"/api/admin/contacts/{visitor.id}/export").content))
    doc = orjson.loads(archive.read("contact.json"))
    assert doc["user"]["site_attributes"] == {"plan": "Enterprise", "orders": 13}
    assert [p["url"] for p in doc["page_views"]] == ["https://shop.example/billing"]
    sign_in({})  # an empty object clears them
    assert context(admin, room_id)["attributes"] == {}
