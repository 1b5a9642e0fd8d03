"""Message catalogues: ``chatapp/locales/<locale>.json``, one flat file per language.

The same files serve the browser (``GET /api/i18n``, formatted by ``static/shared/i18n.js``)
and the server (system messages, later e-mails), so a translation lives in one place. The
supported languages are the files present: adding ``xx.json`` adds a language, no code.

Messages use the ICU MessageFormat subset both formatters implement: ``{name}``
placeholders and ``{count, plural, one {# item} other {# items}}`` (``=N`` exact cases,
``#`` for the number, CLDR categories through Babel). Apostrophes are plain text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale

__all__ = [
    "LOCALES_DIR",
    "DEFAULT_LOCALE",
    "SCOPES",
    "AGENT_ONLY_ERRORS",
    "Catalogues",
    "Plural",
    "parse",
    "format_message",
    "placeholders",
    "plural_category",
]

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DEFAULT_LOCALE = "en"
_CODE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
# The part of a catalogue one client needs, by key prefix (``GET /api/i18n?scope=widget``): the
# widget on a host page is sent its own strings, not the panel's. "chat." are the system
# messages it shows, "error." every error an API answer may carry, "locale." the language's name.
SCOPES: dict[str, tuple[str, ...]] = {
    "widget": ("widget.", "thread.", "composer.", "typing.", "error.", "chat.", "locale."),
    # the widget's offline form (static/widget/offline.js), loaded with it on the visitor's click
    "offline": ("offline.",),
    # the satisfaction question under a resolved chat (static/widget/rating.js), loaded with it
    "rating": ("rating.",),
    # the pre-chat form before a first chat (static/widget/prechat.js), loaded with it when the site has one
    "prechat": ("prechat.",),
    # the visitor's earlier conversations (static/widget/history.js), loaded when they have some
    "history": ("history.",),
    # the offer to be told of replies, by Web Push or e-mail (static/widget/push.js), after the visitor writes
    "push": ("push.offer.",),
}
# Errors only the panel's own routes answer (agent sign-in and password, assignment, reopening,
# mentions, canned replies): no visitor meets them, so the widget is not sent them. A code left
# off this list only costs the widget bytes; one wrongly on it shows the generic error instead.
AGENT_ONLY_ERRORS = frozenset({
    "error.invalid_credentials", "error.wrong_password", "error.no_password", "error.already_assigned",
    "error.assignee_changed", "error.visitor_has_open_chat", "error.not_an_admin",
    "error.canned_reply_exists", "error.canned_reply_not_found",
    "error.label_exists", "error.label_not_found",
    # the widget offers its transcript button only with e-mail on and an address on the account
    "error.mail_off", "error.no_email",
    # managing the team and accepting an invitation happen in the panel and its invitation page
    "error.manager_only", "error.owner_protected", "error.owner_only", "error.own_account",
    "error.member_not_found", "error.member_deactivated", "error.invite_not_found", "error.invite_expired",
    "error.email_taken",
    # snoozing a chat is support's (chatapp.snooze)
    "error.snooze_in_past", "error.snooze_too_far", "error.not_snoozed",
})
SCOPE_EXCLUDES: dict[str, frozenset[str]] = {"widget": AGENT_ONLY_ERRORS}


@dataclass(frozen=True)
class Plural:
    """``{name, plural, ...}``: one sub-message per CLDR category or ``=N``."""

    name: str
    cases: dict[str, list[Part]]


Part = str | tuple[str] | Plural  # text, ("name",) a placeholder, or a plural choice


def parse(pattern: str) -> list[Part]:
    """The parts of ``pattern``; ValueError on unbalanced braces or a bad plural."""
    parts, end = _parse(pattern, 0, in_plural=False)
    if end != len(pattern):
        raise ValueError(f"unexpected '}}' at {end} in {pattern!r}")
    return parts


def _parse(text: str, i: int, *, in_plural: bool) -> tuple[list[Part], int]:
    parts: list[Part] = []
    buf = ""
    while i < len(text):
        ch = text[i]
        if ch == "}":
            break
        if ch != "{":
            buf += "\x00#" if (ch == "#" and in_plural) else ch
            i += 1
            continue
        if buf:
            parts.append(buf)
            buf = ""
        close = _matching(text, i)
        body = text[i + 1 : close]
        head = [p.strip() for p in body.split(",", 2)]
        if len(head) == 1:
            parts.append((head[0],))
        elif len(head) == 3 and head[1] == "plural":
            parts.append(Plural(head[0], _cases(head[2], text)))
        else:
            raise ValueError(f"unsupported argument {{{body}}} in {text!r}")
        i = close + 1
    if buf:
        parts.append(buf)
    return parts, i


def _matching(text: str, start: int) -> int:
    depth = 0
    for j in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return j
    raise ValueError(f"unbalanced '{{' in {text!r}")


def _cases(spec: str, whole: str) -> dict[str, list[Part]]:
    cases: dict[str, list[Part]] = {}
    i = 0
    while i < len(spec):
        if spec[i].isspace():
            i += 1
            continue
        brace = spec.find("{", i)
        if brace < 0:
            raise ValueError(f"plural case without a message in {whole!r}")
        selector = spec[i:brace].strip()
        close = _matching(spec, brace)
        cases[selector], _ = _parse(spec[brace + 1 : close], 0, in_plural=True)
        i = close + 1
    if "other" not in cases:
        raise ValueError(f"a plural needs an 'other' case in {whole!r}")
    return cases


def placeholders(pattern: str) -> set[str]:
    """Every argument name ``pattern`` uses (placeholders and plural selectors)."""
    found: set[str] = set()

    def walk(parts: list[Part]) -> None:
        for part in parts:
            if isinstance(part, tuple):
                found.add(part[0])
            elif isinstance(part, Plural):
                found.add(part.name)
                for sub in part.cases.values():
                    walk(sub)

    walk(parse(pattern))
    return found


def plurals(pattern: str) -> list[Plural]:
    """The plural choices in ``pattern`` (for checking each locale covers its categories)."""
    return [p for p in parse(pattern) if isinstance(p, Plural)]


@lru_cache(maxsize=64)
def _plural_rule(locale: str) -> Any:
    return Locale.parse(locale, sep="-").plural_form


def plural_category(locale: str, number: float) -> str:
    """CLDR plural category of ``number`` in ``locale`` (one, few, many, other...)."""
    return str(_plural_rule(locale)(number))


def format_message(locale: str, pattern: str, params: dict[str, Any]) -> str:
    """``pattern`` with its arguments filled in; a missing argument shows as ``{name}``."""

    def render(parts: list[Part], number: float | None) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part.replace("\x00#", "" if number is None else _number(number)))
            elif isinstance(part, tuple):
                value = params.get(part[0])
                out.append("{" + part[0] + "}" if value is None else str(value))
            else:
                count = float(params.get(part.name, 0) or 0)
                exact = f"={count:g}"
                case = part.cases.get(exact) or part.cases.get(plural_category(locale, count)) or part.cases["other"]
                out.append(render(case, count))
        return "".join(out)

    return render(parse(pattern), None)


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


class Catalogues:
    """The catalogue files of one directory, listed and read once each (restart to pick up
    edits or a new language)."""

    def __init__(self, directory: Path = LOCALES_DIR) -> None:
        self.directory = directory
        self._loaded: dict[str, dict[str, str]] = {}
        self._codes: list[str] | None = None

    @classmethod
    def configured(cls, locales_dir: str | None) -> Catalogues:
        """``CHATAPP_LOCALES_DIR`` when set, else the catalogues shipped with chatapp."""
        return cls(Path(locales_dir) if locales_dir else LOCALES_DIR)

    def available(self) -> list[str]:
        """Locale codes with a catalogue file, English first (asked for on every request that
        negotiates a language and every Web Push, so the directory is listed once)."""
        if self._codes is None:
            codes = sorted(p.stem for p in self.directory.glob("*.json") if _CODE.match(p.stem))
            self._codes = sorted(codes, key=lambda c: c != DEFAULT_LOCALE)
        return list(self._codes)

    def messages(self, locale: str) -> dict[str, str]:
        """The catalogue of ``locale`` (one of :meth:`available`), English filling any gap."""
        if locale not in self._loaded:
            own = json.loads((self.directory / f"{locale}.json").read_text(encoding="utf-8"))
            base = {} if locale == DEFAULT_LOCALE else self.messages(DEFAULT_LOCALE)
            self._loaded[locale] = {**base, **own}
        return self._loaded[locale]

    def scoped(self, locale: str, scope: str | None) -> dict[str, str]:
        """:meth:`messages`, only the keys of ``scope`` (one of :data:`SCOPES`; None: all)."""
        messages = self.messages(locale)
        if scope is None:
            return messages
        prefixes, left_out = SCOPES[scope], SCOPE_EXCLUDES.get(scope, frozenset())
        return {key: text for key, text in messages.items() if key.startswith(prefixes) and key not in left_out}

    def negotiate(self, preferred: list[str]) -> str:
        """The first of ``preferred`` (BCP 47 tags) we have, by exact tag then by language."""
        have = {c.lower(): c for c in self.available()}
        for tag in preferred:
            tag = tag.strip().replace("_", "-").lower()
            if not tag:
                continue
            if tag in have:
                return have[tag]
            if tag.split("-")[0] in have:
                return have[tag.split("-")[0]]
        return DEFAULT_LOCALE

    def names(self) -> list[dict[str, str]]:
        """Each language as its own speakers name it (the panel's language menu)."""
        return [{"code": c, "name": self.messages(c).get("locale.name", c)} for c in self.available()]

    def text(self, locale: str, key: str, params: dict[str, Any] | None = None) -> str:
        """The message ``key`` in ``locale``, formatted; the key itself when no catalogue has it."""
        pattern = self.messages(locale).get(key)
        return key if pattern is None else format_message(locale, pattern, params or {})
