"""The message catalogues (chatapp/locales): complete, consistent, and formatted the same in Python and JS."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from babel import Locale

from chatapp.i18n import AGENT_ONLY_ERRORS, LOCALES_DIR, SCOPES, Catalogues, format_message, placeholders, plurals

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = Catalogues()
ENGLISH = json.loads((LOCALES_DIR / "en.json").read_text(encoding="utf-8"))
OTHERS = [c for c in CATALOGUES.available() if c != "en"]


def own(locale: str) -> dict[str, str]:
    """The file itself, without English filling gaps."""
    return dict(json.loads((LOCALES_DIR / f"{locale}.json").read_text(encoding="utf-8")))


def cldr_categories(locale: str) -> set[str]:
    return set(Locale.parse(locale, sep="-").plural_form.tags) | {"other"}


def test_the_three_languages_ship() -> None:
    assert {"en", "uk", "fr"} <= set(CATALOGUES.available())


@pytest.mark.parametrize("locale", OTHERS)
def test_every_locale_has_every_english_key_and_no_other(locale: str) -> None:
    mine = own(locale)
    assert sorted(set(ENGLISH) - set(mine)) == [], f"{locale}.json lacks these keys"
    assert sorted(set(mine) - set(ENGLISH)) == [], f"{locale}.json has keys English does not"


@pytest.mark.parametrize("locale", OTHERS)
def test_every_message_keeps_the_english_placeholders(locale: str) -> None:
    wrong = {key: (placeholders(ENGLISH[key]), placeholders(text)) for key, text in own(locale).items()
             if placeholders(text) != placeholders(ENGLISH[key])}
    assert wrong == {}, f"{locale}.json: placeholders differ from English (english, {locale})"


@pytest.mark.parametrize("locale", CATALOGUES.available())
def test_every_plural_covers_the_locale_cldr_categories(locale: str) -> None:
    needed = cldr_categories(locale)
    missing = {key: sorted(needed - set(p.cases)) for key, text in own(locale).items()
               for p in plurals(text) if needed - set(p.cases)}
    assert missing == {}, f"{locale}.json: plural messages without these CLDR categories"


def test_ukrainian_has_one_few_many_and_other() -> None:
    assert cldr_categories("uk") == {"one", "few", "many", "other"}
    text = [CATALOGUES.text("uk", "widget.launcher.withUnread", {"label": "X", "count": n}) for n in (1, 3, 5, 21, 22, 25)]
    assert text == ["X, 1 нове повідомлення", "X, 3 нових повідомлення", "X, 5 нових повідомлень",
                    "X, 21 нове повідомлення", "X, 22 нових повідомлення", "X, 25 нових повідомлень"]


def test_a_broken_pattern_is_refused() -> None:
    for bad in ("{name", "text}", "{n, plural, one {#}}", "{n, select, a {x} other {y}}"):
        with pytest.raises(ValueError):
            placeholders(bad)


def test_negotiation_prefers_the_exact_tag_then_the_language_then_english() -> None:
    assert CATALOGUES.negotiate(["fr-CA", "uk"]) == "fr"
    assert CATALOGUES.negotiate(["de-DE", "UK"]) == "uk"
    assert CATALOGUES.negotiate(["de", ""]) == "en"
    assert CATALOGUES.negotiate([]) == "en"


@pytest.mark.slow  # runs node over every message: 4 s; in `make test`, not in test-fast
def test_javascript_formats_every_message_like_python() -> None:
    """shared/i18n.js and chatapp/i18n.py read the same files: the same arguments give the same text."""
    params = {"count": 0, "name": "Olena", "agent": "Olena", "label": "L", "names": "A", "reason": "R", "file": "f",
              "size": "1 KB", "limit": "2 KB", "id": 7, "account": "a@b", "address": "10.0.0.1", "until": "12:00",
              "status": 500, "title": "T", "state": "s", "preview": "p"}
    cases = [(loc, key, {**params, "count": n}) for loc in CATALOGUES.available()
             for key in ENGLISH for n in (1, 2, 5, 11, 21)]
    script = """
      import { useCatalogue, t } from './chatapp/web/static/shared/i18n.js';
      import { readFileSync } from 'node:fs';
      const cases = JSON.parse(readFileSync(0, 'utf8'));
      const out = cases.map(([locale, key, params]) => {
        useCatalogue({ locale, messages: JSON.parse(readFileSync(`chatapp/locales/${locale}.json`, 'utf8')) });
        return t(key, params);
      });
      process.stdout.write(JSON.stringify(out));
    """
    done = subprocess.run(["node", "--input-type=module", "-e", script], input=json.dumps(cases), cwd=ROOT,
                          capture_output=True, text=True, check=True, timeout=60)
    expected = [format_message(loc, CATALOGUES.messages(loc)[key], p) for loc, key, p in cases]
    assert json.loads(done.stdout) == expected


def test_a_catalogue_dropped_into_the_directory_is_offered(tmp_path: Path) -> None:
    """Adding a language is a file: copy en.json to xx.json, translate it, and it is on offer."""
    directory = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, directory)
    german = {**ENGLISH, "locale.name": "Deutsch", "widget.title": "Kundendienst"}
    (directory / "de.json").write_text(json.dumps(german, ensure_ascii=False), encoding="utf-8")
    catalogues = Catalogues(directory)
    assert "de" in catalogues.available()
    assert {"code": "de", "name": "Deutsch"} in catalogues.names()
    assert catalogues.negotiate(["de-AT"]) == "de"
    assert catalogues.text("de", "widget.title") == "Kundendienst"


# Quoted catalogue keys in the widget's sources (its own and the shared code it bundles), and
# the prefix of every key built at run time (`widget.${name}`, `error.${code}`).
WIDGET_SOURCES = [ROOT / "chatapp" / "web" / "static" / "widget", ROOT / "chatapp" / "web" / "static" / "shared"]
_QUOTED = re.compile(r"""['"`]([a-z]+\.[A-Za-z_.]*[A-Za-z_])['"`]""")
_BUILT = re.compile(r"`([a-z]+\.)\$\{")


def test_the_widget_catalogue_has_every_key_the_widget_uses() -> None:
    sources = [p.read_text(encoding="utf-8") for d in WIDGET_SOURCES for p in sorted(d.glob("*.js"))]
    used = {key for text in sources for key in _QUOTED.findall(text) if key in ENGLISH}
    families = {key.split(".")[0] + "." for key in ENGLISH}
    built = {prefix for text in sources for prefix in _BUILT.findall(text) if prefix in families}
    assert len(used) > 40 and built >= {"widget.", "error."}
    widget = CATALOGUES.scoped("en", "widget")
    assert sorted(used - set(widget)) == [], "keys the widget shows but ?scope=widget leaves out"
    # ... or in the scope a lazily loaded part of it fetches for itself (the offline form's, the rating's).
    lazy = SCOPES["offline"] + SCOPES["rating"] + SCOPES["prechat"] + SCOPES["history"] + SCOPES["push"]
    assert sorted(p for p in built if p not in SCOPES["widget"] + lazy) == []
    # System messages (rendered from their code) and the language's own name come along too.
    assert {k for k in ENGLISH if k.startswith(("chat.", "locale."))} <= set(widget)
    assert not any(k.startswith(("panel.", "room.", "inbox.", "login.")) for k in widget)
    assert all(CATALOGUES.scoped(loc, "widget").keys() == widget.keys() for loc in OTHERS)
    # Errors only agents meet stay with the panel: real keys, never named by the widget's code.
    assert AGENT_ONLY_ERRORS <= set(ENGLISH) and not AGENT_ONLY_ERRORS & (used | set(widget))
    assert {"error.network", "error.generic", "error.rate_limited", "error.too_large"} <= set(widget)
