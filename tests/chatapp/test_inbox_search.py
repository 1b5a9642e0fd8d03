"""Inbox search in the visitors' languages: case and accents folded, word prefixes, ranked, safe input.

Every test runs on SQLite (FTS5) and PostgreSQL (unaccent + GIN) through the ``chat`` fixture.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest

from tests.chatapp.procs import Api


def unique_word() -> str:
    """Letters no other test writes, so a search matches only this test's rooms."""
    return "".join(secrets.choice("бвгдклмнпрстфхцчшщ") for _ in range(8))


def found(admin: Api, q: str, **params: object) -> list[int]:
    doc = admin.ok("GET", "/api/admin/chat/rooms", params={"q": q, "per_page": 100, **params})
    return [r["id"] for r in doc["data"]]


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Мене звати Олена, допоможіть", "олена"),
        ("Мене звати Олена, допоможіть", "ОЛЕНА"),
        ("Мене звати Олена, допоможіть", "олен"),  # a word prefix, as agents type
        ("Двері на Ґанок не відчиняються", "ґанок"),
        ("У саду живе Їжак", "їжак"),
        ("Bonjour, c'est Élodie", "elodie"),
        ("Bonjour, c'est Élodie", "élodie"),
        ("Mon fils va à l'École demain", "ecole"),
        ("Le garçon attend la commande", "garcon"),
        ("The PARCEL never arrived", "parcel arriv"),
    ],
)
def test_search_folds_case_and_accents(admin: Api, new_guest: Callable[..., Api], stored: str, typed: str) -> None:
    tag = unique_word()
    visitor = new_guest("Visitor")
    room_id = visitor.send(f"{stored} {tag}")["room"]["id"]
    other = new_guest("Visitor").send(f"Nothing to see here {tag}")["room"]["id"]
    hits = found(admin, f"{typed} {tag}")
    assert room_id in hits, f"{typed!r} should find {stored!r}"
    assert other not in hits


def test_search_by_visitor_name_and_email(chat, admin: Api, new_guest: Callable[..., Api]) -> None:  # type: ignore[no-untyped-def]
    tag = unique_word()
    email = f"elodie.{secrets.token_hex(4)}@exemple.fr"
    registered = Api(chat.base_url).ok(
        "POST", "/api/auth/register", {"name": f"Élodie Garçon {tag}", "email": email, "password": "long-password-1"}
    )
    visitor = Api(chat.base_url, registered["token"], registered["user"])
    room_id = visitor.send("Bonjour")["room"]["id"]
    assert room_id in found(admin, f"elodie garcon {tag}")
    assert room_id in found(admin, email)
    assert room_id in found(admin, email.split("@")[0])
    cyrillic = new_guest(f"Олена Ґонта {tag}")
    cyrillic_room = cyrillic.send("Добрий день")["room"]["id"]
    assert found(admin, f"олена ґонта {tag}") == [cyrillic_room]


def test_results_are_ranked_by_relevance_then_recency(admin: Api, new_guest: Callable[..., Api]) -> None:
    tag = unique_word()
    filler = "один два три чотири пять шість сім вісім девять десять одинадцять дванадцять"
    strong = new_guest("Rank").send(f"{tag} {tag} {tag}")["room"]["id"]  # oldest, but all about it
    weak_old = new_guest("Rank").send(f"{filler} {tag} {filler}")["room"]["id"]
    weak_new = new_guest("Rank").send(f"{filler} {tag} {filler}")["room"]["id"]
    assert found(admin, tag) == [strong, weak_new, weak_old]


def test_search_keeps_the_filter(admin: Api, new_guest: Callable[..., Api]) -> None:
    tag = unique_word()
    open_room = new_guest("Filter").send(f"відкрито {tag}")["room"]["id"]
    closed_room = new_guest("Filter").send(f"закрито {tag}")["room"]["id"]
    admin.ok("POST", f"/api/admin/chat/rooms/{closed_room}/close")
    assert found(admin, tag, filter="open") == [open_room]
    assert found(admin, tag, filter="closed") == [closed_room]


@pytest.mark.parametrize(
    "query",
    ['"', "'", "*", "-", "-олена", "NEAR(a b)", "NEAR", "%", "_", "%_", "\\", "a OR b", "NOT x", "a AND", '"unclosed',
     ":*", "a:* & b", "(((", "!", "^", "{x}", "col:olena", "é́́", "\x00", "😀"],
)
def test_special_characters_never_fail(admin: Api, query: str) -> None:
    response = admin.get("/api/admin/chat/rooms", params={"q": query})
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["data"], list)
