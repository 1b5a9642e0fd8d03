"""The search vector a stored message gets on PostgreSQL: the PL/pgSQL function of migration 032
computes what migration 006's SQL function did, for the users' languages and the cut characters."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chatapp import repository
from chatapp.db import connect
from chatapp.schema import migrate
from tests.chatapp.procs import throwaway_database

pytestmark = pytest.mark.postgres

SAMPLES = [
    "Олена: де моє замовлення?",
    "Élodie a écrit à l'équipe, où est ma commande ?",
    "ÇA NE MARCHE PAS — reçu n° 42",
    "mail elodie.martin+shop@example.fr, see https://shop.example/orders/7_b",
    "",
]

# Migration 006's definition, written out: what every stored vector was computed with.
ORIGINAL = ("to_tsvector('simple'::regconfig, public.unaccent('public.unaccent'::regdictionary, "
            "translate(COALESCE(?::text, ''), '@./:_+', '      ')))")


def test_message_vectors_equal_the_original_definition_and_skip_sql_parsing(tmp_path: Path) -> None:
    with throwaway_database("postgres", tmp_path) as url:
        async def run() -> None:
            db = await connect(url)
            try:
                await migrate(db)
                language = await db.fetch_one(
                    "SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang "
                    "WHERE p.proname = 'chat_search_vector'")
                # A LANGUAGE sql body is parsed again by every insert that computes the column.
                assert language is not None and language["lanname"] == "plpgsql"
                async with db.transaction() as conn:
                    visitor = await repository.create_user(conn, role="guest", name="Vera")
                    room_id = await repository.create_room(conn, visitor.id, "hello")
                    assert room_id is not None
                    for body in SAMPLES:
                        await conn.execute(
                            "INSERT INTO support_chat_messages (room_id, sender_id, sender_role, body, created_at) "
                            "VALUES (?, ?, 'user', ?, now())", room_id, visitor.id, body)
                for body in SAMPLES:
                    row = await db.fetch_one(
                        f"SELECT m.search_vector::text AS stored, ({ORIGINAL})::text AS original "
                        "FROM support_chat_messages m WHERE m.body = ?", body, body)
                    assert row is not None and row["stored"] == row["original"], body
                found = await db.fetch_all(
                    "SELECT body FROM support_chat_messages WHERE search_vector @@ chat_search_query(?) ORDER BY id",
                    "olena & zamovlennia | elodie")
                assert [r["body"] for r in found] == [SAMPLES[1], SAMPLES[3]]  # the address is cut into words
                found = await db.fetch_all(
                    "SELECT body FROM support_chat_messages WHERE search_vector @@ chat_search_query(?) ORDER BY id",
                    "олена & замовлення")
                assert [r["body"] for r in found] == [SAMPLES[0]]
                found = await db.fetch_all(
                    "SELECT body FROM support_chat_messages WHERE search_vector @@ chat_search_query(?) ORDER BY id",
                    "recu & ca")
                assert [r["body"] for r in found] == [SAMPLES[2]]
            finally:
                await db.close()

        asyncio.run(run())
