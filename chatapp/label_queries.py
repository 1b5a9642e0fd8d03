"""The SQL of labels (chatapp.labels): the team's labels and which chats carry them."""

from __future__ import annotations

from collections.abc import Sequence

from chatapp.db import Connection, utcnow
from chatapp.models import Label

__all__ = [
    "all_labels",
    "get_label",
    "label_id_named",
    "insert_label",
    "update_label",
    "delete_label",
    "add_to_room",
    "remove_from_room",
    "labels_of_rooms",
    "LABEL_ROOMS",
]

_COLUMNS = "id, name, color, created_by, created_at, updated_at"
# The chats carrying one label (its placeholder): the inbox's label filter, by room_labels_label.
LABEL_ROOMS = "SELECT room_id FROM room_labels WHERE label_id = ?"


async def all_labels(conn: Connection) -> list[Label]:
    rows = await conn.fetch_all(f"SELECT {_COLUMNS} FROM labels ORDER BY name_key, id")
    return [Label.from_row(r) for r in rows]


async def get_label(conn: Connection, label_id: int) -> Label | None:
    row = await conn.fetch_one(f"SELECT {_COLUMNS} FROM labels WHERE id = ?", label_id)
    return Label.from_row(row) if row else None


async def label_id_named(conn: Connection, name: str) -> int | None:
    """The label called ``name``, case ignored (its unique index)."""
    value = await conn.fetch_val("SELECT id FROM labels WHERE name_key = ?", " ".join(name.split()).casefold())
    return None if value is None else int(value)


async def insert_label(conn: Connection, *, name: str, color: str, created_by: int) -> Label:
    """Raises :class:`~chatapp.db.IntegrityError` when the name is taken (case ignored)."""
    now = utcnow()
    row = await conn.fetch_one(
        "INSERT INTO labels (name, name_key, color, created_by, created_at, updated_at) "
        f"VALUES (?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
        name, name.casefold(), color, created_by, now, now,
    )
    assert row is not None
    return Label.from_row(row)


async def update_label(conn: Connection, label_id: int, *, name: str, color: str) -> Label | None:
    """Raises :class:`~chatapp.db.IntegrityError` when the new name is another label's."""
    row = await conn.fetch_one(
        f"UPDATE labels SET name = ?, name_key = ?, color = ?, updated_at = ? WHERE id = ? RETURNING {_COLUMNS}",
        name, name.casefold(), color, utcnow(), label_id,
    )
    return Label.from_row(row) if row else None


async def delete_label(conn: Connection, label_id: int) -> list[int]:
    """Delete the label; the chats that carried it (their room_labels rows go with it)."""
    rooms = await conn.fetch_all("SELECT room_id FROM room_labels WHERE label_id = ?", label_id)
    await conn.execute("DELETE FROM room_labels WHERE label_id = ?", label_id)
    await conn.execute("DELETE FROM labels WHERE id = ?", label_id)
    return [int(r["room_id"]) for r in rooms]


async def add_to_room(conn: Connection, room_id: int, label_id: int, added_by: int) -> bool:
    """True when the chat did not carry the label yet."""
    changed = await conn.execute(
        "INSERT INTO room_labels (room_id, label_id, added_by, added_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (room_id, label_id) DO NOTHING",
        room_id, label_id, added_by, utcnow(),
    )
    return changed > 0


async def remove_from_room(conn: Connection, room_id: int, label_id: int) -> bool:
    return await conn.execute("DELETE FROM room_labels WHERE room_id = ? AND label_id = ?", room_id, label_id) > 0


async def labels_of_rooms(conn: Connection, room_ids: Sequence[int]) -> dict[int, list[int]]:
    """Each room's label ids (rooms without any are left out): one read by primary key for a page."""
    if not room_ids:
        return {}
    marks = ", ".join("?" for _ in room_ids)
    rows = await conn.fetch_all(
        f"SELECT room_id, label_id FROM room_labels WHERE room_id IN ({marks}) ORDER BY room_id, label_id",
        *room_ids,
    )
    found: dict[int, list[int]] = {}
    for r in rows:
        found.setdefault(int(r["room_id"]), []).append(int(r["label_id"]))
    return found
