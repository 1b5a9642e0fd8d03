"""The pre-chat form in the database: the site's form, and a contact's answers to it.

The form is one row (``prechat_form``; none: off). Answers go to the contact: name and
e-mail to the account itself, the e-mail unverified unless a verified one is there already
(the offline form's rule, :mod:`chatapp.offline_form`), the site's own fields to
``contact_attributes``; ``users.prechat_at`` records that the visitor has sent it, so the
widget does not ask again. The form asks only what is not known: a signed-in visitor (an
account or a host-site identity) is not asked the name or e-mail their account has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from chatapp.audit import audit
from chatapp.db import Connection, Database, utcnow
from chatapp.errors import Conflict
from chatapp.i18n import Catalogues
from chatapp.models import User
from chatapp.policy import ensure_manager
from chatapp.prechat import BUILT_IN, OFF, Field, Form, check_answers, parse_form, pick_label

__all__ = ["SitePrechat"]

GUEST_NAME = "Visitor"  # what POST /api/auth/guest names a guest who gives no name


def _known(user: User, key: str) -> bool:
    """Whether a built-in field is already known for a signed-in visitor (guests are asked)."""
    if user.is_guest:
        return False
    return bool(user.name.strip()) if key == "name" else bool(user.email)


def _prefill(user: User, key: str) -> str:
    """What the field starts with: the account's own, never the name a guest is given by default."""
    if key == "email":
        return user.email or ""
    return "" if user.is_guest and user.name == GUEST_NAME else user.name


class SitePrechat:
    """Reads and writes the form; shows it to a visitor in their language and keeps their answers."""

    def __init__(self, db: Database, catalogues: Catalogues) -> None:
        self.db = db
        self.catalogues = catalogues

    async def form(self, conn: Connection | None = None) -> Form:
        row = await (conn or self.db).fetch_one("SELECT enabled, fields FROM prechat_form WHERE id = 1")
        if row is None:
            return OFF
        return parse_form(bool(row["enabled"]), orjson.loads(row["fields"]), None)

    async def enabled(self) -> bool:
        return bool(await self.db.fetch_val("SELECT enabled FROM prechat_form WHERE id = 1"))

    async def set(self, admin: User, enabled: object, fields: object) -> Form:
        """Replace the form (the owner and admins; in the audit log); 422 naming the field at fault."""
        ensure_manager(admin)
        form = parse_form(enabled, fields, self.catalogues.available())
        doc = orjson.dumps(form.to_json()["fields"]).decode()
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO prechat_form (id, enabled, fields, updated_by, updated_at) VALUES (1, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled, fields = excluded.fields, "
                "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                int(form.enabled), doc, admin.id, utcnow(),
            )
            await audit(conn, admin, "prechat.set", "site", None,
                        {"enabled": form.enabled, "fields": [f.key for f in form.fields]})
        return form

    def _asked(self, form: Form, user: User) -> tuple[Field, ...]:
        return tuple(f for f in form.fields if not (f.type in BUILT_IN and _known(user, f.key)))

    async def required_unanswered(self, conn: Connection, user: User) -> tuple[str, ...]:
        """The required fields ``user`` has not answered: empty when the form is off or was sent."""
        form = await self.form(conn)
        if not form.enabled or await conn.fetch_val("SELECT prechat_at FROM users WHERE id = ?", user.id) is not None:
            return ()
        return tuple(f.key for f in self._asked(form, user) if f.required)

    async def for_visitor(self, user: User, locale: str) -> dict[str, Any]:
        """What the widget shows ``user``: the fields still to ask, labelled in ``locale``."""
        form = await self.form()
        done = await self.db.fetch_val("SELECT prechat_at FROM users WHERE id = ?", user.id) is not None
        fields = []
        for one in self._asked(form, user) if form.enabled else ():
            label = one.label_in(locale) or self.catalogues.text(locale, f"prechat.{one.key}")
            doc: dict[str, Any] = {"key": one.key, "type": one.type, "label": label, "required": one.required}
            if one.options:
                doc["options"] = [{"value": v, "label": pick_label(lab, locale)} for v, lab in one.options]
            if one.type in BUILT_IN:
                doc["value"] = _prefill(user, one.key)
            fields.append(doc)
        return {"enabled": form.enabled, "done": done, "fields": fields, "locale": locale}

    async def submit(self, user: User, answers: Mapping[str, object]) -> None:
        """Keep the answers on the contact; 422 naming every field at fault, 409 when the form is off."""
        form = await self.form()
        if not form.enabled:
            raise Conflict("The pre-chat form is off", code="prechat_off")
        stored = check_answers(self._asked(form, user), answers)
        now = utcnow()
        async with self.db.transaction() as conn:
            if "name" in stored:
                await conn.execute("UPDATE users SET name = ? WHERE id = ?", stored.pop("name"), user.id)
            if "email" in stored:
                await conn.execute(
                    "UPDATE users SET email = CASE WHEN email_verified_at IS NULL THEN ? ELSE email END WHERE id = ?",
                    stored.pop("email"), user.id,
                )
            for key, value in stored.items():
                await conn.execute(
                    "INSERT INTO contact_attributes (user_id, key, value, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    user.id, key, value, now,
                )
            await conn.execute("UPDATE users SET prechat_at = ? WHERE id = ?", now, user.id)

    async def answers(self, user_id: int, locale: str, conn: Connection | None = None) -> list[dict[str, Any]]:
        """The contact's answers to the site's own fields, in the form's order, labelled in ``locale``
        (a field since removed from the form keeps its key as its label)."""
        source = conn or self.db
        rows = await source.fetch_all(
            "SELECT key, value, updated_at FROM contact_attributes WHERE user_id = ? ORDER BY key", user_id)
        if not rows:
            return []
        form = await self.form(conn)
        order = {f.key: n for n, f in enumerate(form.fields)}
        result = []
        for row in sorted(rows, key=lambda r: (order.get(r["key"], len(order)), r["key"])):
            one = form.field(row["key"])
            value = row["value"]
            shown = value
            if one is not None and one.type == "select":
                shown = next((pick_label(lab, locale) for v, lab in one.options if v == value), value)
            result.append({
                "key": row["key"],
                "label": (one.label_in(locale) if one else None) or row["key"],
                "type": one.type if one else "text",
                "value": value,
                "text": shown,
            })
        return result

