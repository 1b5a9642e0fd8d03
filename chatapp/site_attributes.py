"""The host site's custom attributes of a contact: plan, order count, anything it wants support to see.

They come in the identity token's ``attributes`` claim (chatapp.identity) and are kept on the
contact (``users.site_attributes``, a JSON object), replaced at each sign-in that carries the
claim; the panel's details pane lists them. Only a small, flat object is kept: a sign-in must
never fail over a field support merely reads, so what breaks the rules is dropped and logged
(for the site's developers) rather than refused.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import orjson

from chatapp.db import Connection, Database

__all__ = ["Attributes", "MAX_ATTRIBUTES", "clean_attributes", "load_attributes", "store_attributes"]

log = logging.getLogger("chatapp.identity")

Attributes = dict[str, str | int | float | bool]
MAX_ATTRIBUTES = 30
MAX_KEY = 50
MAX_TEXT = 200


def _value(value: object) -> str | int | float | bool | None:
    """A scalar the panel can show as it is, or None when it is not one."""
    if isinstance(value, bool | int):
        return value if isinstance(value, bool) or abs(value) < 2**53 else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and len(value) <= MAX_TEXT:
        return value.strip()
    return None


def clean_attributes(raw: object) -> Attributes | None:
    """The claim's attributes that are kept (None: no claim at all); the dropped ones are logged."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        log.warning("identity token: 'attributes' must be a JSON object, not %s; ignored", type(raw).__name__)
        return None
    kept: Attributes = {}
    dropped: list[str] = []
    for key, value in raw.items():
        name = key.strip() if isinstance(key, str) else ""
        clean = _value(value)
        if not name or len(name) > MAX_KEY or clean is None or len(kept) >= MAX_ATTRIBUTES:
            dropped.append(str(key)[:MAX_KEY])
            continue
        kept[name] = clean
    if dropped:
        log.warning("identity token: %d attribute(s) dropped (at most %d, names up to %d characters, values strings "
                    "up to %d characters, numbers or booleans): %s", len(dropped), MAX_ATTRIBUTES, MAX_KEY, MAX_TEXT,
                    ", ".join(dropped[:10]))
    return kept


def load_attributes(raw: Any) -> Attributes:
    """``users.site_attributes`` as stored (JSON text, or NULL)."""
    if not raw:
        return {}
    doc = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    return doc if isinstance(doc, dict) else {}


async def store_attributes(db: Database | Connection, user_id: int, attributes: Attributes) -> None:
    """Replace the contact's attributes with what the site sent now (an empty object clears them)."""
    await db.execute("UPDATE users SET site_attributes = ? WHERE id = ?",
                     orjson.dumps(attributes).decode() if attributes else None, user_id)
