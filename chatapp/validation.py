"""Checks for client-supplied values; each failure names the field and the rule."""

from __future__ import annotations

import re
from functools import cache
from typing import Any, TypeVar

import msgspec
from msgspec import inspect as mi

from chatapp.errors import BadRequest, ChatError

__all__ = [
    "decode",
    "convert",
    "has_forbidden_chars",
    "text_field",
    "optional_id",
    "int_param",
    "choice",
    "idempotency_key",
    "socket_id",
    "MAX_ID",
    "SOCKET_ID_RE",
]

MAX_ID = 2**63 - 1
SOCKET_ID_RE = re.compile(r"^[0-9]{1,20}\.[0-9]{1,20}\Z")  # ASCII digits, no trailing newline
_KEY = re.compile(r"^[\x21-\x7e]{1,100}\Z")


def has_forbidden_chars(value: str) -> bool:
    return "\x00" in value or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)


def text_field(doc: dict[str, Any], name: str, *, max_length: int, required: bool = True, default: str = "") -> str:
    value = doc.get(name)
    if value is None:
        if required:
            raise BadRequest(f"'{name}' is required", field=name)
        return default
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string", field=name)
    if has_forbidden_chars(value):
        raise BadRequest(f"'{name}' contains a NUL byte or an unpaired surrogate", field=name)
    if len(value) > max_length:
        raise BadRequest(
            f"'{name}' is {len(value)} characters; the limit is {max_length}", field=name, max_length=max_length
        )
    return value


def optional_id(doc: dict[str, Any], name: str) -> int | None:
    value = doc.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
        raise BadRequest(f"'{name}' must be a positive integer id", field=name)
    return value


def int_param(raw: str | None, name: str, *, default: int | None, minimum: int, maximum: int) -> int | None:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 19 or not minimum <= int(raw) <= maximum:
        raise BadRequest(f"'{name}' must be an integer from {minimum} to {maximum}", field=name)
    return int(raw)


def choice(value: object, name: str, allowed: tuple[str, ...] | list[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise BadRequest(f"'{name}' must be one of: {', '.join(allowed)}", field=name, allowed=list(allowed))
    return value


def idempotency_key(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _KEY.match(value):
        raise BadRequest(
            "'idempotency_key' must be 1 to 100 printable ASCII characters without spaces", field="idempotency_key"
        )
    return value


def socket_id(value: str | None) -> str | None:
    """The ``X-Socket-ID`` header Echo sends, so the sender's own socket is skipped."""
    if not value:
        return None
    if not SOCKET_ID_RE.match(value):
        raise BadRequest("'X-Socket-ID' must look like '1234.5678'", field="X-Socket-ID")
    return value


# ------------------------------------------------------------------- bodies declared in chatapp.shapes

S = TypeVar("S", bound=msgspec.Struct)
_JSON_DECODERS: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def decode(raw: bytes, shape: type[S]) -> S:
    """``raw`` JSON decoded into ``shape``: 400 ``malformed_json`` for what is not a JSON object, 422
    naming the field and its rule for a field that breaks the shape (unknown fields are ignored)."""
    decoder = _JSON_DECODERS.get(shape)
    if decoder is None:
        decoder = _JSON_DECODERS[shape] = msgspec.json.Decoder(shape)
    try:
        value: S = decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise invalid(shape, str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ChatError(f"Request body is not valid JSON: {exc}", code="malformed_json") from None
    except RecursionError:
        raise ChatError("Request body is nested too deeply", code="malformed_json") from None
    # msgspec refuses unpaired surrogates and raw control characters; a NUL can only come escaped.
    if b"\\u0000" in raw:
        clean_text(value)
    return value


def convert(doc: dict[str, Any], shape: type[S]) -> S:
    """A form's fields (already parsed) checked as ``shape``, with :func:`decode`'s errors."""
    try:
        value = msgspec.convert(doc, shape)
    except msgspec.ValidationError as exc:
        raise invalid(shape, str(exc)) from None
    clean_text(value)
    return value


def clean_text(value: msgspec.Struct, prefix: str = "") -> None:
    """The rule no schema says: no string field (nested ones too) holds a NUL byte or an unpaired surrogate."""
    for name in value.__struct_fields__:
        field = getattr(value, name)
        if isinstance(field, str) and has_forbidden_chars(field):
            raise BadRequest(f"'{prefix}{name}' contains a NUL byte or an unpaired surrogate", field=prefix + name)
        if isinstance(field, msgspec.Struct):
            clean_text(field, f"{prefix}{name}.")


def invalid(shape: type[msgspec.Struct], error: str) -> ChatError:
    """msgspec's ``error`` about ``shape`` as the API's error: the field, and its rule in words."""
    problem, _, where = error.partition(" - at `")
    path = [p for p in re.sub(r"\[\d+\]", "", where.rstrip("`")).split(".")[1:] if p]
    missing = re.match(r"Object missing required field `(.+)`", problem)
    if missing:
        name = ".".join([*path, missing.group(1)])
        return BadRequest(f"'{name}' is required", field=name)
    if not path:
        return ChatError("Request body must be a JSON object", code="malformed_json")
    name = ".".join(path)
    rule, extra = _rule(_field_type(shape, tuple(path)))
    return BadRequest(f"'{name}' must be {rule}", field=name, **extra)


@cache
def _field_type(shape: type[msgspec.Struct], path: tuple[str, ...]) -> mi.Type | None:
    kind: mi.Type = mi.type_info(shape)
    for name in path:
        while isinstance(kind, mi.Metadata | mi.UnionType):
            kind = kind.type if isinstance(kind, mi.Metadata) else next(
                (t for t in kind.types if isinstance(t, mi.StructType | mi.Metadata)), kind.types[0])
        if not isinstance(kind, mi.StructType):
            return None
        found = next((f for f in kind.fields if f.encode_name == name), None)
        if found is None:
            return None
        kind = found.type
    return kind


def _rule(kind: mi.Type | None) -> tuple[str, dict[str, Any]]:
    """What a value of ``kind`` must be, in words, and details worth a field of the error."""
    if isinstance(kind, mi.Metadata):
        if kind.extra and "rule" in kind.extra:
            return str(kind.extra["rule"]), {}
        return _rule(kind.type)
    if isinstance(kind, mi.UnionType):
        rules = [_rule(t) for t in kind.types if not isinstance(t, mi.NoneType)]
        return " or ".join(r for r, _ in rules), {k: v for _, e in rules for k, v in e.items()}
    if isinstance(kind, mi.StrType):
        return _length_rule("a string", "characters", kind.min_length, kind.max_length), (
            {"max_length": kind.max_length} if kind.max_length is not None else {}
        )
    if isinstance(kind, mi.IntType):
        low = kind.ge if kind.gt is None else kind.gt + 1
        high = kind.le if kind.lt is None else kind.lt - 1
        if low == 1 and high == MAX_ID:
            return "a positive integer id", {}
        if low is not None and high is not None:
            return f"an integer from {low} to {high}", {}
        return "an integer" + (f" of at least {low}" if low is not None else ""), {}
    if isinstance(kind, mi.BoolType):
        return "true or false", {}
    if isinstance(kind, mi.LiteralType):
        return f"one of: {', '.join(map(str, kind.values))}", {"allowed": list(kind.values)}
    if isinstance(kind, mi.ListType):
        item, _ = _rule(kind.item_type)
        return _length_rule("a list", "items", kind.min_length, kind.max_length) + f", each {item}", {}
    if isinstance(kind, mi.StructType):
        return "an object with " + ", ".join(f"'{f.encode_name}'" for f in kind.fields), {}
    return "valid", {}


def _length_rule(what: str, unit: str, low: int | None, high: int | None) -> str:
    if low and high:
        return f"{what} of {low} to {high} {unit}"
    if high is not None:
        return f"{what} of at most {high} {unit}"
    if low:
        return f"a non-empty {what.removeprefix('a ')}" if low == 1 else f"{what} of at least {low} {unit}"
    return what
