"""A pseudo-locale made from English at load time, and a check for visible text it did not reach.

Every message becomes ``［Ŵŕîţé á ɱéššáĝé…］``: accented, bracketed, placeholders and plural
syntax untouched. A string on screen outside those brackets was never looked up in the
catalogue. What people wrote (names, message bodies, e-mails) is marked ``data-user-content``,
a language named in its own words ``translate="no"``, and dates and times are ``<time>``
(formatted by Intl, not by the catalogue): those are left out of the check.
"""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Page, Route

from chatapp.i18n import LOCALES_DIR, Plural, parse

__all__ = ["PSEUDO_LOCALE", "pseudo_catalogue", "serve_pseudo_locale", "untranslated"]

PSEUDO_LOCALE = "en-XA"
_ACCENTED = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "áƀçðéƒĝĥîĵķļɱñöƥǫŕšţûṽŵẋýžÅƁÇÐÉƑĜĤÎĴĶĻṀÑÖƤǪŔŠŢÛṼŴẊÝŽ",
)


def _pseudo_parts(parts: list[Any]) -> str:
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part.replace("\x00#", "#").translate(_ACCENTED))
        elif isinstance(part, tuple):
            out.append("{" + part[0] + "}")
        else:
            assert isinstance(part, Plural)
            cases = " ".join(f"{selector} {{{_pseudo_parts(sub)}}}" for selector, sub in part.cases.items())
            out.append("{" + part.name + ", plural, " + cases + "}")
    return "".join(out)


def pseudo_catalogue() -> dict[str, Any]:
    english = json.loads((LOCALES_DIR / "en.json").read_text(encoding="utf-8"))
    messages = {key: f"［{_pseudo_parts(parse(text))}］" for key, text in english.items()}
    return {"locale": PSEUDO_LOCALE, "messages": messages,
            "available": [{"code": PSEUDO_LOCALE, "name": messages["locale.name"]}]}


def serve_pseudo_locale(page: Page) -> None:
    """Answer the page's catalogue requests with the pseudo-locale."""
    body = json.dumps(pseudo_catalogue(), ensure_ascii=False)

    def fulfil(route: Route) -> None:
        route.fulfill(status=200, content_type="application/json; charset=utf-8", body=body,
                      headers={"Access-Control-Allow-Origin": "*"})

    page.route("**/api/i18n*", fulfil)
    page.route("**/api/config*", pseudo_status)
    page.route("**/api/chat/status*", pseudo_status)


def pseudo_status(route: Route) -> None:
    """The status line the server writes from the catalogue (``hours.*``) in a real language: marked
    as the pseudo-locale's, since only this browser has that catalogue."""
    response = route.fetch()
    doc = response.json()
    status = doc.get("status") if isinstance(doc.get("status"), dict) else doc
    for name in ("text", "offer"):
        if status.get(name):
            status[name] = f"［{status[name]}］"
    route.fulfill(response=response, body=json.dumps(doc, ensure_ascii=False))


# Visible text nodes and labelling attributes, through open shadow roots, minus the exclusions.
_FIND = """
(selector) => {
  const SKIP = '[data-user-content], [translate="no"], time, script, style, noscript';
  const ATTRS = ['aria-label', 'placeholder', 'title'];
  const bare = (text) => {
    let rest = text;
    for (let before = null; before !== rest;) { before = rest; rest = rest.replace(/［[^［］]*］/g, ''); }
    return /\\p{L}/u.test(rest) ? text.trim() : null;
  };
  const found = [];
  const visit = (root) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let node = walker.currentNode; node; node = walker.nextNode()) {
      if (node.nodeType === Node.TEXT_NODE) {
        const parent = node.parentElement;
        if (!parent || parent.closest(SKIP) || !parent.checkVisibility()) continue;
        const text = bare(node.textContent);
        if (text) found.push(`${parent.tagName.toLowerCase()}.${parent.className}: ${text}`);
        continue;
      }
      if (node.nodeType !== Node.ELEMENT_NODE) continue; // the shadow root the walk starts at
      if (node.shadowRoot) visit(node.shadowRoot);
      if (node.closest(SKIP) || !node.checkVisibility()) continue;
      for (const attr of ATTRS) {
        const value = node.getAttribute(attr);
        const text = value && bare(value);
        if (text) found.push(`${node.tagName.toLowerCase()}[${attr}]: ${text}`);
      }
    }
  };
  for (const root of document.querySelectorAll(selector)) visit(root);
  return found;
}
"""


def untranslated(page: Page, within: str = "body") -> list[str]:
    """Visible strings inside ``within`` (shadow roots included) that are not pseudo-localised."""
    return list(page.evaluate(_FIND, within))
