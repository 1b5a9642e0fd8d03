"""The widget's look on a host site of another origin: theme, accent, side, launcher label;
the loader's promise to the host page (one global, nothing blocked); keyboard-only use from Tab."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Pages, Stack, screenshot
from tests.browser.test_widget import ShopSite
from tests.helpers.procs import ROOT

pytestmark = pytest.mark.browser

DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body>
  <h1>Outdoor shop</h1>
  <p>Boots, jackets and tents. <a href="#boots" id="first-link">Boots</a></p>
  <script>window.globalsBefore = Object.keys(window);</script>
  <script src="%(base)s/widget.js" async %(attributes)s></script>
</body></html>
"""


@pytest.fixture
def site(stack: Stack) -> Iterator[ShopSite]:
    variants = {
        "/dark": 'data-theme="dark" data-accent="#facc15" data-position="left" data-label="Chat with us"',
        "/auto": 'data-accent="#0a7d34"',
        "/light": 'data-theme="light" data-label="Questions?"',
        "/invalid": 'data-theme="purple" data-accent="red;background:url(x)" data-position="middle"',
        "/plain": "",
        "/catalogue": 'data-label data-locale="fr"',
    }
    shop = ShopSite({path: PAGE % {"base": stack.url, "attributes": attrs} for path, attrs in variants.items()})
    yield shop
    shop.close()


def open_widget(pages: Pages, site: ShopSite, path: str, **context: object) -> Page:
    page = pages.page(context=pages.context(viewport={"width": 900, "height": 720}, **context))
    page.goto(site.url + path)
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    return page


def css(page: Page, selector: str, prop: str) -> str:
    return str(page.locator(selector).evaluate(f"(node) => getComputedStyle(node).{prop}"))


def keep_for_docs(page: Page, name: str) -> None:
    """A small PNG for docs/widget.md: always in test-output/screenshots/, and copied over the
    committed one in docs/screenshots/ when UPDATE_DOC_SCREENSHOTS=1 (a run does not dirty the tree)."""
    path = screenshot(page, name)
    if os.environ.get("UPDATE_DOC_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / f"{name}.png")


def test_dark_theme_accent_left_side_and_label(pages: Pages, site: ShopSite) -> None:
    page = open_widget(pages, site, "/dark")
    launcher = page.locator("chatapp-widget .launcher")
    expect(launcher).to_contain_text("Chat with us")
    box = launcher.bounding_box()
    assert box is not None and box["x"] < 100, box  # bottom-left
    # A light accent gets dark text on it (readable contrast), not the default white.
    assert css(page, "chatapp-widget .launcher", "backgroundColor") == "rgb(250, 204, 21)"
    assert css(page, "chatapp-widget .launcher", "color") == "rgb(17, 24, 39)"
    launcher.click()
    expect(page.locator("chatapp-widget .panel")).to_be_visible()
    assert css(page, "chatapp-widget .panel", "backgroundColor") == "rgb(31, 41, 55)"
    assert css(page, "chatapp-widget .head", "color") == "rgb(17, 24, 39)"
    page.locator("chatapp-widget textarea").fill("Do you ship to Norway?")
    page.keyboard.press("Enter")
    expect(page.locator("chatapp-widget .msg.ours .body")).to_have_text("Do you ship to Norway?")
    page.set_viewport_size({"width": 640, "height": 720})
    keep_for_docs(page, "widget-dark-left")


def test_auto_theme_follows_the_system_and_a_dark_accent_keeps_white_text(pages: Pages, site: ShopSite) -> None:
    dark = open_widget(pages, site, "/auto", color_scheme="dark")
    dark.locator("chatapp-widget .launcher").click()
    assert css(dark, "chatapp-widget .panel", "backgroundColor") == "rgb(31, 41, 55)"
    assert css(dark, "chatapp-widget .launcher", "color") == "rgb(255, 255, 255)"
    light = open_widget(pages, site, "/auto", color_scheme="light")
    light.locator("chatapp-widget .launcher").click()
    assert css(light, "chatapp-widget .panel", "backgroundColor") == "rgb(255, 255, 255)"
    assert css(light, "chatapp-widget .launcher", "backgroundColor") == "rgb(10, 125, 52)"
    # data-theme="light" wins over a dark system.
    forced = open_widget(pages, site, "/light", color_scheme="dark")
    expect(forced.locator("chatapp-widget .launcher")).to_contain_text("Questions?")
    forced.set_viewport_size({"width": 480, "height": 300})
    keep_for_docs(forced, "widget-label-light")
    forced.locator("chatapp-widget .launcher").click()
    assert css(forced, "chatapp-widget .panel", "backgroundColor") == "rgb(255, 255, 255)"


def test_a_bare_label_comes_from_the_catalogue_in_the_visitors_language(pages: Pages, site: ShopSite) -> None:
    page = open_widget(pages, site, "/catalogue")
    french = json.loads((ROOT / "chatapp" / "locales" / "fr.json").read_text())
    expected = french.get("messages", french)["widget.launcher.label"]
    expect(page.locator("chatapp-widget .launcher-label")).to_have_text(expected)


def test_invalid_options_fall_back_to_the_defaults(pages: Pages, site: ShopSite) -> None:
    page = open_widget(pages, site, "/invalid", color_scheme="light")
    launcher = page.locator("chatapp-widget .launcher")
    assert css(page, "chatapp-widget .launcher", "backgroundColor") == "rgb(37, 99, 235)"
    box = launcher.bounding_box()
    assert box is not None and box["x"] > 700, box  # right, the default
    assert page.locator("chatapp-widget .root").get_attribute("data-theme") == "auto"


def test_loader_adds_one_global_and_keyboard_alone_chats(pages: Pages, site: ShopSite) -> None:
    page = open_widget(pages, site, "/plain")
    # Tab from the page's own link reaches the launcher next.
    page.locator("#first-link").focus()
    page.keyboard.press("Tab")
    launcher = page.locator("chatapp-widget .launcher")
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    box = page.locator("chatapp-widget textarea")
    expect(box).to_be_focused()
    page.keyboard.type("Only the keyboard here")
    page.keyboard.press("Enter")
    expect(page.locator("chatapp-widget .msg.ours .body")).to_have_text("Only the keyboard here")
    expect(page.locator("chatapp-widget .msg.ours")).not_to_have_class("sending")
    page.keyboard.press("Escape")
    expect(page.locator("chatapp-widget .panel")).to_be_hidden()
    expect(launcher).to_be_focused()
    # After a whole chat (pusher-js, Echo and all), the page has exactly one new global.
    added = page.evaluate("() => Object.keys(window).filter((name) => !globalsBefore.includes(name))")
    assert added == ["globalsBefore", "ChatWidget"], added  # the first is this test's own
    # The loader's stand-in launcher has handed over to the widget's own.
    assert page.locator("chatapp-launcher").count() == 0
