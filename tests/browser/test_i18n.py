"""The widget and the panel in the visitor's and the agent's language (Chromium).

The widget runs on a shop of another origin, as on a real site; its language comes from the
script tag's data-locale, else the page's <html lang>, else the browser's languages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Pages, Stack
from tests.browser.pseudo import pseudo_catalogue, serve_pseudo_locale, untranslated
from tests.browser.test_widget import ShopSite
from tests.chatapp.procs import Api
from tests.chatapp.test_i18n import insert_legacy_system_message

pytestmark = pytest.mark.browser

HOST = """<!doctype html>
<html%(lang)s><head><meta charset="utf-8"><title>Boutique</title></head>
<body><main><h1>%(heading)s</h1></main>
<script src="%(base)s/widget.js" async data-token="%(token)s"%(attrs)s></script></body></html>
"""


class Shop:
    """Shop pages on their own origins, each embedding the widget for a signed-in customer."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.sites: list[ShopSite] = []

    def add(self, path: str, user: Api, *, lang: str | None = None, locale: str | None = None) -> str:
        page = HOST % {
            "lang": f' lang="{lang}"' if lang else "", "heading": "Boutique", "base": self.stack.url,
            "token": user.token, "attrs": f' data-locale="{locale}"' if locale else "",
        }
        self.sites.append(ShopSite({path: page}))
        return self.sites[-1].url + path

    def close(self) -> None:
        for site in self.sites:
            site.close()

    def open(self, pages: Pages, url: str, page: Page | None = None, **context: object) -> Page:
        page = page or pages.page(**context)
        page.goto(url)
        page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
        return page


@pytest.fixture
def shop(stack: Stack) -> Iterator[Shop]:
    made = Shop(stack)
    try:
        yield made
    finally:
        made.close()


def launcher(page: Page) -> object:
    return page.locator("chatapp-widget .launcher")


def test_the_widget_speaks_french_from_data_locale_with_french_times(pages: Pages, stack: Stack, shop: Shop) -> None:
    _, camille = stack.new_user("Camille")
    room = camille.send("Bonjour, ma commande ?")["room"]["id"]
    stack.admin.post(f"/api/admin/chat/rooms/{room}/messages", {"body": "Elle part demain."})
    page = shop.open(pages, shop.add("/fr", camille, lang="en", locale="fr"))  # data-locale beats <html lang>

    expect(launcher(page)).to_have_attribute("aria-label", "Ouvrir le chat d’assistance, 1 nouveau message")
    launcher(page).click()
    expect(page.locator("chatapp-widget #chatapp-title")).to_have_text("Assistance")
    expect(page.get_by_role("textbox", name="Message")).to_have_attribute("placeholder", "Écrivez votre message…")
    expect(page.locator("chatapp-widget .foot span")).to_have_text("Chat en direct")
    expect(page.get_by_role("button", name="Terminer la conversation")).to_be_visible()
    expect(launcher(page)).to_have_attribute("aria-label", "Fermer le chat d’assistance")

    # Times through Intl in French: 24-hour "14:05", where English would say "2:05 PM".
    stamp = page.locator("chatapp-widget .msg.theirs time")
    expect(stamp).to_have_text(re.compile(r"^\d{2}:\d{2}$"))
    expected = stamp.evaluate(
        "(t) => new Intl.DateTimeFormat('fr', {hour: '2-digit', minute: '2-digit'}).format(new Date(t.dateTime))")
    expect(stamp).to_have_text(expected)

    # A system message stored as English text before catalogues existed shows as it was stored.
    insert_legacy_system_message(stack.chat.database_url, room, "Alice Agent assigned the chat")
    page.reload()
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    expect(page.locator("chatapp-widget .msg.system")).to_have_text("Alice Agent assigned the chat")


def test_the_widget_speaks_ukrainian_from_html_lang_with_its_plural_forms(
    pages: Pages, stack: Stack, shop: Shop
) -> None:
    _, taras = stack.new_user("Тарас")
    room = taras.send("Добрий день")["room"]["id"]
    page = shop.open(pages, shop.add("/uk", taras, lang="uk-UA"))
    expect(launcher(page)).to_have_attribute("aria-label", "Відкрити чат підтримки")
    for n in range(3):
        stack.admin.post(f"/api/admin/chat/rooms/{room}/messages", {"body": f"Відповідь {n + 1}"})
    expect(launcher(page)).to_have_attribute("aria-label", "Відкрити чат підтримки, 3 нових повідомлення")
    for n in range(2):
        stack.admin.post(f"/api/admin/chat/rooms/{room}/messages", {"body": f"Ще {n + 1}"})
    expect(launcher(page)).to_have_attribute("aria-label", "Відкрити чат підтримки, 5 нових повідомлень")
    launcher(page).click()
    expect(page.get_by_role("textbox", name="Повідомлення")).to_have_attribute("placeholder", "Напишіть повідомлення…")
    expect(page.locator("chatapp-widget .subtitle")).to_have_text("Вам допомагає Alice Agent")
    box = page.get_by_role("textbox", name="Повідомлення")
    box.fill("Дякую!")
    box.press("Enter")
    expect(page.locator("chatapp-widget .msg.ours .status").last).to_have_text(" · Надіслано")

    # Neither data-locale nor <html lang>: the browser's languages decide.
    _, zoe = stack.new_user("Zoé")
    french_browser = shop.open(pages, shop.add("/plain", zoe), locale="fr-FR")
    expect(launcher(french_browser)).to_have_attribute("aria-label", "Ouvrir le chat d’assistance")


def test_a_ukrainian_agent_resolves_and_the_french_visitor_reads_it_in_french(
    pages: Pages, stack: Stack, shop: Shop
) -> None:
    _, olena = stack.new_admin("Олена")
    _, camille = stack.new_user("Camille Durand")
    room = camille.send("Ma facture est fausse")["room"]["id"]
    visitor = shop.open(pages, shop.add("/facture", camille, locale="fr"))
    launcher(visitor).click()

    panel = pages.admin(f"/admin/chat/{room}", api=olena)
    expect(panel.locator("#placeholder p")).to_have_text("Select a conversation on the left.")  # the browser's English
    panel.locator("#locale-select").select_option("uk")  # kept on the account; the panel reloads in Ukrainian
    expect(panel.locator("html")).to_have_attribute("lang", "uk")
    panel.wait_for_selector("#inbox[data-ready='true']")
    assert olena.ok("GET", "/api/auth/me")["user"]["locale"] == "uk"
    expect(panel.locator(".brand")).to_have_text("Вхідні підтримки")
    expect(panel.locator("#filters [data-filter=open]")).to_have_text("Відкриті")
    expect(panel.locator("#rooms-count")).to_have_text(re.compile(r"^\d+ розмов[аи]?$"))
    item_time = panel.locator(f".room-item[data-id='{room}'] time")
    now_in_ukrainian = panel.evaluate("new Intl.RelativeTimeFormat('uk', {numeric: 'auto', style: 'short'}).format(0, 'second')")
    expect(item_time).to_have_text(now_in_ukrainian)
    assert now_in_ukrainian != "now"

    panel.get_by_role("button", name="Вирішено").click()
    expect(panel.locator("#room .msg.system")).to_have_text("Питання позначено як вирішене (Олена)")
    expect(panel.locator("#room .note")).to_have_text("Вирішено. Відповідь будь-якої сторони знову відкриє чат.")
    expect(visitor.locator("chatapp-widget .msg.system")).to_have_text("Олена a marqué la conversation comme résolue")
    expect(visitor.locator("chatapp-widget .note-text")).to_have_text(
        "Conversation marquée comme résolue. Écrivez-nous à nouveau si vous avez encore besoin d’aide.")
    # Stored once, as a code: the English body stays for previews and older clients.
    stored = [m for m in camille.ok("GET", f"/api/chat/rooms/{room}/messages")["data"] if m["sender_role"] == "system"]
    assert [(m["system"], m["body"]) for m in stored] == [
        ({"code": "chat.resolved", "params": {"agent": "Олена"}}, "Олена resolved the chat")]


def test_the_inbox_previews_a_system_message_in_the_agents_language(pages: Pages, stack: Stack) -> None:
    _, mykola = stack.new_admin("Микола")
    mykola.ok("POST", "/api/auth/locale", {"locale": "uk"})
    _, emile = stack.new_user("Émile Roux")
    room = emile.send("Bonjour")["room"]["id"]
    stack.admin.post(f"/api/admin/chat/rooms/{room}/resolve")  # by Alice Agent, stored as a code

    panel = pages.admin("/admin/chat?filter=all", api=mykola)
    panel.wait_for_selector("#inbox[data-ready='true']")
    preview = panel.locator(f".room-item[data-id='{room}'] .room-preview")
    expect(preview).to_have_text("Питання позначено як вирішене (Alice Agent)")
    expect(preview).not_to_have_attribute("data-user-content", "")  # the catalogue's text, not what someone wrote
    expect(panel.locator("#connection")).to_have_attribute("data-status", "connected", timeout=20_000)

    stack.admin.post(f"/api/admin/chat/rooms/{room}/reopen")  # live, through room.updated
    expect(preview).to_have_text("Чат знову відкрито (Alice Agent)")
    emile.send("Merci !")
    expect(preview).to_have_text("Merci !")
    expect(preview).to_have_attribute("data-user-content", "")
def test_pseudo_locale_leaves_no_untranslated_string_in_the_widget_or_the_panel(
    pages: Pages, stack: Stack, shop: Shop
) -> None:
    _, piotr = stack.new_user("Piotr")
    context = pages.context()
    page = context.new_page()
    serve_pseudo_locale(page)
    shop.open(pages, shop.add("/pseudo", piotr), page=page)
    assert untranslated(page, "chatapp-widget") == [], "widget closed"

    launcher(page).click()
    page.locator("chatapp-widget .panel").wait_for(state="visible")
    assert untranslated(page, "chatapp-widget") == [], "widget open, no conversation yet"

    box = page.locator("chatapp-widget textarea")
    box.fill("Where is my parcel?")
    box.press("Enter")
    sent = pseudo_catalogue()["messages"]["thread.sent"]  # not "sending": the room exists once it is sent
    expect(page.locator("chatapp-widget .msg.ours .status")).to_have_text(re.compile(re.escape(sent)))
    room = piotr.ok("GET", "/api/chat/room")["room"]["id"]
    stack.admin.post(f"/api/admin/chat/rooms/{room}/messages", {"body": "On its way"})
    expect(page.locator("chatapp-widget .msg.theirs .body")).to_have_text("On its way")
    assert untranslated(page, "chatapp-widget") == [], "widget with messages"
    stack.admin.post(f"/api/admin/chat/rooms/{room}/resolve")
    expect(page.locator("chatapp-widget .msg.system")).to_have_count(1)
    assert untranslated(page, "chatapp-widget") == [], "widget with a system message and the resolved notice"

    context.set_offline(True)
    expect(page.locator("chatapp-widget .banner.offline")).to_be_visible()
    assert untranslated(page, "chatapp-widget") == [], "widget offline"
    context.set_offline(False)
    expect(page.locator("chatapp-widget .banner")).to_be_hidden(timeout=30_000)  # pusher-js reconnects by itself

    stack.admin.post(f"/api/admin/chat/rooms/{room}/close")
    expect(page.locator("chatapp-widget .note")).to_be_visible()
    assert untranslated(page, "chatapp-widget") == [], "widget with a closed chat"

    login = pages.context().new_page()
    serve_pseudo_locale(login)
    login.goto(stack.url + "/admin/login")
    expect(login.locator("#login-submit")).to_have_text(re.compile("［"))
    login.fill("#login-email", stack.admin_email)
    login.fill("#login-password", "not the password")
    login.click("#login-submit")
    expect(login.locator("#login-error")).to_have_text(re.compile("［"))
    assert untranslated(login) == [], "panel sign-in with an error"

    admin_context = pages.context()
    admin_context.add_init_script(f"localStorage.setItem('chatapp.admin.token', {stack.admin.token!r});")
    panel = admin_context.new_page()
    serve_pseudo_locale(panel)
    panel.goto(f"{stack.url}/admin/chat?filter=all")
    panel.wait_for_selector("#inbox[data-ready='true']")
    expect(panel.locator("#connection")).to_have_attribute("data-status", "connected", timeout=20_000)
    assert untranslated(panel) == [], "panel inbox"

    panel.locator(f".room-item[data-id='{room}'] a").click()
    expect(panel.locator("#room .msg.theirs .body")).to_have_text("Where is my parcel?")
    expect(panel.locator("#room .details dd").first).to_be_visible()
    assert untranslated(panel) == [], "panel conversation"

    panel.locator("#password-button").click()
    expect(panel.locator("#password-dialog")).to_be_visible()
    panel.fill("#password-new", "one new password")
    panel.fill("#password-again", "another new password")
    panel.fill("#password-current", "whatever it was")
    panel.click("#password-submit")
    expect(panel.locator("#password-error")).to_have_text(re.compile("［"))
    assert untranslated(panel) == [], "panel password dialog with an error"
