"""The migration runner's per-database variants and its statement splitter."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chatapp.db import connect
from chatapp.schema import load_migrations, render, split_statements


def test_statements_end_outside_strings_bodies_and_blocks() -> None:
    text = (
        "CREATE TRIGGER t AFTER INSERT ON x BEGIN\n"
        "  INSERT INTO y VALUES (CASE WHEN new.a THEN ';' ELSE 'it''s; fine' END);\n"
        "  DELETE FROM z WHERE backend_id = new.id;\n"
        "END;\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n"
        "SELECT resolved_at FROM q"
    )
    statements = split_statements(text)
    assert len(statements) == 3
    assert statements[0].startswith("CREATE TRIGGER") and statements[0].endswith("END")
    assert statements[1].endswith("$$ SELECT 1; $$")
    assert statements[2] == "SELECT resolved_at FROM q"


def test_each_database_takes_its_own_variant(tmp_path: Path) -> None:
    (tmp_path / "001_base.sql").write_text("CREATE TABLE a (id {{pk}});")
    (tmp_path / "002_search.sqlite.sql").write_text("CREATE TABLE s (x TEXT);")
    (tmp_path / "002_search.postgres.sql").write_text("CREATE TABLE p (x TEXT);")
    assert [(m.version, m.dialect) for m in load_migrations(tmp_path, "sqlite")] == [(1, None), (2, "sqlite")]
    assert [(m.version, m.dialect) for m in load_migrations(tmp_path, "postgres")] == [(1, None), (2, "postgres")]
    (tmp_path / "002_other.postgres.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="share a version"):
        load_migrations(tmp_path)


def test_a_shared_file_and_a_variant_cannot_share_a_version(tmp_path: Path) -> None:
    (tmp_path / "003_x.sql").write_text("SELECT 1;")
    (tmp_path / "003_x.sqlite.sql").write_text("SELECT 2;")
    with pytest.raises(ValueError, match="share a version"):
        load_migrations(tmp_path)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_every_migration_renders(dialect: str) -> None:
    for migration in load_migrations(dialect=dialect):  # type: ignore[arg-type]
        for statement in render(migration.sql, dialect):  # type: ignore[arg-type]
            assert "{{" not in statement and not statement.endswith(";")


def test_search_migration_applies_on_sqlite_with_its_triggers(tmp_path: Path) -> None:
    async def run() -> list[str]:
        from chatapp.schema import migrate

        db = await connect(f"sqlite:///{tmp_path / 'm.sqlite3'}")
        try:
            await migrate(db)
            rows = await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            return [r["name"] for r in rows]
        finally:
            await db.close()

    triggers = asyncio.run(run())
    assert "support_chat_messages_search_insert" in triggers and "users_rooms_search_update" in triggers
