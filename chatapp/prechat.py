"""The pre-chat form as pure data: which fields, in what order, and whether answers fit them.

No database or HTTP here, so the rules are tested directly. A form is an ordered list of
fields: the built-in ``name`` and ``email`` (stored on the contact's account; their labels
come from the catalogue unless the admin writes one) and up to :data:`MAX_CUSTOM` fields of
the site's own (text, number, select, checkbox; stored as contact attributes). A label is one
text for every language or one per language code; the reader gets theirs, else English,
else the first written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chatapp.auth import EMAIL_RE
from chatapp.errors import BadRequest
from chatapp.validation import has_forbidden_chars

__all__ = [
    "Field",
    "Form",
    "OFF",
    "BUILT_IN",
    "TYPES",
    "MAX_CUSTOM",
    "MAX_TEXT",
    "parse_form",
    "check_answers",
    "pick_label",
]

BUILT_IN = ("name", "email")
TYPES = (*BUILT_IN, "text", "number", "select", "checkbox")
MAX_CUSTOM = 10
MAX_OPTIONS = 20
MAX_LABEL = 100
MAX_TEXT = 500  # a text answer
MAX_NAME = 100
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

Label = str | dict[str, str]  # one text, or one per language code


@dataclass(frozen=True)
class Field:
    type: str
    key: str  # "name" and "email" for the built-in fields
    label: Label | None  # None: a built-in field's catalogue label
    required: bool
    options: tuple[tuple[str, Label], ...] = ()  # select: (value, label)

    def label_in(self, locale: str) -> str | None:
        return None if self.label is None else pick_label(self.label, locale)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "key": self.key, "label": self.label, "required": self.required,
                "options": [{"value": value, "label": label} for value, label in self.options]}


@dataclass(frozen=True)
class Form:
    enabled: bool
    fields: tuple[Field, ...]

    def to_json(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "fields": [f.to_json() for f in self.fields]}

    def field(self, key: str) -> Field | None:
        return next((f for f in self.fields if f.key == key), None)


OFF = Form(False, ())


def pick_label(label: Label, locale: str) -> str:
    """The text of ``label`` for ``locale``: its own, its language's, English's, else the first."""
    if isinstance(label, str):
        return label
    for code in (locale, locale.split("-")[0], "en"):
        if code in label:
            return label[code]
    return next(iter(label.values()))


def _label(raw: object, where: str, locales: Iterable[str] | None, *, optional: bool) -> Label | None:
    if raw is None or raw == "" or raw == {}:
        if optional:
            return None
        raise BadRequest(f"'{where}' is required: a text, or an object of texts by language", field=where)
    known = None if locales is None else set(locales)
    texts = {"": raw} if isinstance(raw, str) else raw
    if not isinstance(texts, Mapping):
        raise BadRequest(f"'{where}' must be a text, or an object of texts by language", field=where)
    for code, text in texts.items():
        if code and known is not None and code not in known:
            raise BadRequest(f"'{where}' names an unknown language {str(code)[:20]!r} (one of: "
                             f"{', '.join(sorted(known))})", field=where)
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_LABEL or has_forbidden_chars(text):
            raise BadRequest(f"'{where}' texts must be 1 to {MAX_LABEL} characters", field=where)
    if isinstance(raw, str):
        return raw.strip()
    return {code: text.strip() for code, text in texts.items()}


def _options(raw: object, where: str, locales: Iterable[str] | None) -> tuple[tuple[str, Label], ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not 1 <= len(raw) <= MAX_OPTIONS:
        raise BadRequest(f"'{where}' must list 1 to {MAX_OPTIONS} options", field=where)
    options: list[tuple[str, Label]] = []
    for n, option in enumerate(raw):
        at = f"{where}[{n}]"
        if isinstance(option, str):
            option = {"value": option, "label": option}
        value = option.get("value") if isinstance(option, Mapping) else None
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_LABEL or has_forbidden_chars(value):
            raise BadRequest(f"'{at}.value' must be 1 to {MAX_LABEL} characters", field=f"{at}.value")
        if any(value.strip() == seen for seen, _ in options):
            raise BadRequest(f"'{at}.value' repeats {value.strip()!r}", field=f"{at}.value")
        label = _label(option.get("label") or value, f"{at}.label", locales, optional=False)
        assert label is not None
        options.append((value.strip(), label))
    return tuple(options)


def _field(raw: object, where: str, locales: Iterable[str] | None) -> Field:
    if not isinstance(raw, Mapping):
        raise BadRequest(f"'{where}' must be an object", field=where)
    kind = raw.get("type")
    if kind not in TYPES:
        raise BadRequest(f"'{where}.type' must be one of: {', '.join(TYPES)}", field=f"{where}.type")
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise BadRequest(f"'{where}.required' must be true or false", field=f"{where}.required")
    if kind in BUILT_IN:
        key = str(kind)
    else:
        key = raw.get("key")  # type: ignore[assignment]  # checked on the next line
        if not isinstance(key, str) or not _KEY.match(key) or key in BUILT_IN:
            raise BadRequest(f"'{where}.key' must be 1 to 32 lower-case letters, digits or '_', starting with a "
                             "letter, and not 'name' or 'email'", field=f"{where}.key")
    label = _label(raw.get("label"), f"{where}.label", locales, optional=kind in BUILT_IN)
    options = _options(raw.get("options"), f"{where}.options", locales) if kind == "select" else ()
    return Field(str(kind), key, label, required, options)


def parse_form(enabled: object, fields: object, locales: Iterable[str] | None) -> Form:
    """A form from its JSON parts; 422 naming the field at fault otherwise. ``locales``: the language
    codes a label may name (None, reading a stored form: any, so a language taken away later breaks
    nothing)."""
    if not isinstance(enabled, bool):
        raise BadRequest("'enabled' must be true or false", field="enabled")
    if not isinstance(fields, Sequence) or isinstance(fields, str) or len(fields) > MAX_CUSTOM + len(BUILT_IN):
        raise BadRequest(f"'fields' must be a list of at most {MAX_CUSTOM} fields of your own, besides name and "
                         "e-mail", field="fields")
    langs = None if locales is None else list(locales)
    parsed = tuple(_field(raw, f"fields[{n}]", langs) for n, raw in enumerate(fields))
    seen: set[str] = set()
    for n, one in enumerate(parsed):
        if one.key in seen:
            raise BadRequest(f"'fields[{n}].key' repeats {one.key!r}", field=f"fields[{n}].key")
        seen.add(one.key)
    if sum(f.type not in BUILT_IN for f in parsed) > MAX_CUSTOM:
        raise BadRequest(f"'fields' may hold at most {MAX_CUSTOM} fields of your own", field="fields")
    if enabled and not parsed:
        raise BadRequest("'fields' must name at least one field when the form is on", field="fields")
    return Form(enabled, parsed)


def _number(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value) or abs(value) > 1e15:
        return None
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _answer(one: Field, value: object) -> tuple[str | None, str | None]:
    """(the answer as stored, None) or (None, what is wrong: required, email, number, option, length)."""
    if one.type == "checkbox":
        if value is None or value == "":
            value = False
        if not isinstance(value, bool):
            return None, "checkbox"
        return (None, "required") if one.required and not value else ("true" if value else "false", None)
    if value is None or (isinstance(value, str) and not value.strip()):
        return (None, "required") if one.required else (None, None)
    if one.type == "number":
        number = _number(value)
        return (number, None) if number is not None else (None, "number")
    if not isinstance(value, str) or has_forbidden_chars(value):
        return None, "text"
    text = value.strip()
    if one.type == "email":
        return (text.lower(), None) if EMAIL_RE.match(text) and len(text) <= 254 else (None, "email")
    if one.type == "select":
        return (text, None) if any(text == v for v, _ in one.options) else (None, "option")
    limit = MAX_NAME if one.type == "name" else MAX_TEXT
    return (text, None) if len(text) <= limit else (None, "length")


def check_answers(fields: Sequence[Field], answers: Mapping[str, object]) -> dict[str, str]:
    """The answers to ``fields`` as stored (unanswered optional ones left out); 422 naming every
    field at fault, with what is wrong in ``problems`` (all at once, so a form can mark each)."""
    problems: dict[str, str] = {}
    wanted = {f.key for f in fields}
    for key in answers:
        if key not in wanted:
            problems[key] = "unknown"
    stored: dict[str, str] = {}
    for one in fields:
        value, problem = _answer(one, answers.get(one.key))
        if problem:
            problems[one.key] = problem
        elif value is not None:
            stored[one.key] = value
    if problems:
        listed = ", ".join(f"'{key}' ({problem})" for key, problem in problems.items())
        raise BadRequest(f"These answers are missing or wrong: {listed}", field=next(iter(problems)),
                         fields=list(problems), problems=problems)
    return stored
