"""The pre-chat form end to end in Chromium: an admin sets it up in the panel's dialog, a French
visitor must answer its required fields before the composer appears (errors in French, from
the widget's own checks and from the server's), the first message then starts the chat, and
the agent reads the answers in the conversation's details pane, in the panel's language. Also:
the open conversation's header says "Left offline" for a chat the offline form made.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from chatapp.identity import sign_identity_token
from tests.browser.conftest import Pages, Stack, screenshot
from tests.browser.test_accessibility import assert_accessible
from tests.browser.test_widget import ShopSite
from tests.browser.test_widget_away import closed_today
from tests.browser.test_widget_away import widget as open_widget
from tests.chatapp.procs import IDENTITY_SECRET, Api

pytestmark = pytest.mark.browser

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Boutique</title></head>
<body><h1>Boutique</h1><script src="%(base)s/widget.js" async data-locale="fr"></script></body></html>
"""
SIGNED_IN = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Shop</h1><script src="%(base)s/widget.js" async data-identity="%(identity)s"></script></body></html>
"""
TOPIC = {"en": "Topic", "fr": "Sujet", "uk": "Тема"}


@pytest.fixture
def shop(stack: Stack) -> Iterator[ShopSite]:
    site = ShopSite({"/": PAGE % {"base": stack.url}})
    yield site
    site.close()
    stack.admin.ok("PUT", "/api/admin/prechat", {"enabled": False, "fields": []})


def test_the_admin_sets_up_the_form_and_the_visitor_answers_it(pages: Pages, stack: Stack, shop: ShopSite) -> None:
    panel = pages.admin()
    panel.get_by_role("button", name="Pre-chat form").click()
    dialog = panel.locator("#prechat-dialog")
    fields = dialog.locator("fieldset.prechat-field")
    expect(fields).to_have_count(2)  # a form never set starts with name (required) and e-mail
    expect(fields.nth(0).locator(".prechat-type")).to_have_value("name")
    expect(fields.nth(0).locator(".prechat-required")).to_be_checked()
    fields.nth(1).locator(".prechat-required").check()
    dialog.get_by_role("button", name="Add a field").click()
    topic = fields.nth(2)
    topic.get_by_label("Type").select_option("select")
    dialog.get_by_role("button", name="Save form").click()  # no key yet: the dialog says which field
    expect(dialog.locator("#prechat-error")).to_have_text(
        "Field 3: the key is 1 to 32 lower-case letters, digits or _, starting with a letter.")
    topic.get_by_label("Key (a-z, 0-9, _)").fill("topic")
    topic.get_by_label("Label (English)").fill(TOPIC["en"])
    topic.get_by_label("Label (Français)").fill(TOPIC["fr"])
    topic.get_by_label("Label (Українська)").fill(TOPIC["uk"])
    topic.get_by_label("Options, one per line").fill("Livraison\nRemboursement")
    topic.get_by_label("Required").check()
    dialog.get_by_role("button", name="Add a field").click()
    terms = fields.nth(3)
    terms.get_by_label("Type").select_option("checkbox")
    terms.get_by_label("Key (a-z, 0-9, _)").fill("newsletter")
    terms.get_by_label("Label (English)").fill("Send me the newsletter")
    terms.get_by_label("Label (Français)").fill("Envoyez-moi la lettre d’information")
    terms.get_by_role("button", name="Move up").click()  # before the topic now
    dialog.get_by_label("Ask these questions before a visitor’s first chat").check()
    dialog.get_by_role("button", name="Save form").click()
    expect(dialog.locator("#prechat-saved")).to_have_text("Pre-chat form saved.")
    screenshot(panel, "admin-prechat-form")
    saved = stack.admin.ok("GET", "/api/admin/prechat")["prechat"]
    assert saved["enabled"] is True
    assert [(f["key"], f["required"]) for f in saved["fields"]] == [
        ("name", True), ("email", True), ("newsletter", False), ("topic", True)]
    assert saved["fields"][3]["label"] == TOPIC
    assert [o["value"] for o in saved["fields"][3]["options"]] == ["Livraison", "Remboursement"]
    dialog.get_by_role("button", name="Close").click()
    panel.get_by_role("button", name="Audit log").click()
    expect(panel.locator("#audit-entries tr[data-action='prechat.set']").first).to_contain_text(
        "Changed the pre-chat form")
    panel.locator("#audit-close").click()

    visitor = open_widget(pages, shop)
    form = visitor.locator("chatapp-widget form.prechat")
    expect(form).to_be_visible()
    expect(visitor.locator("chatapp-widget .composer")).to_be_hidden()  # the form comes first
    expect(form.get_by_label("Votre nom *")).to_be_focused()
    form.get_by_role("button", name="Commencer la discussion").click()
    expect(form.get_by_role("alert")).to_have_text("Vérifiez les champs marqués en rouge.")
    expect(form.get_by_label("Votre nom *")).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".problem").nth(0)).to_have_text("Veuillez remplir ce champ.")
    expect(form.get_by_label("Sujet *")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Envoyez-moi la lettre d’information")).to_have_attribute("aria-invalid", "false")
    form.get_by_label("Votre nom *").fill("Camille Martin")
    form.get_by_label("Votre e-mail *").fill("pas-une-adresse")
    form.get_by_label("Sujet *").select_option("Remboursement")
    form.get_by_role("button", name="Commencer la discussion").click()
    expect(form.locator(".problem").nth(1)).to_have_text(
        "Veuillez saisir une adresse e-mail, par exemple nom@exemple.fr.")
    expect(form.get_by_label("Votre nom *")).to_have_attribute("aria-invalid", "false")
    form.get_by_label("Votre e-mail *").fill("camille@example.com")
    form.get_by_label("Envoyez-moi la lettre d’information").check()

    # the server checks too: an option taken off the form meanwhile is refused, in French
    changed = [dict(f) for f in saved["fields"]]
    changed[3] = {**changed[3], "options": [{"value": "Livraison", "label": "Livraison"}]}
    stack.admin.ok("PUT", "/api/admin/prechat", {"enabled": True, "fields": changed})
    form.get_by_role("button", name="Commencer la discussion").click()
    expect(form.locator(".problem").nth(3)).to_have_text("Veuillez choisir l’une des options.")
    expect(form.get_by_label("Sujet *")).to_have_attribute("aria-invalid", "true")
    screenshot(visitor, "widget-prechat-form")
    form.get_by_label("Sujet *").select_option("Livraison")
    form.get_by_role("button", name="Commencer la discussion").click()
    expect(form).to_have_count(0)
    composer = visitor.locator("chatapp-widget .composer textarea")
    expect(composer).to_be_visible()
    composer.fill("Où est mon colis ?")
    composer.press("Enter")
    expect(visitor.locator("chatapp-widget .msg .body")).to_have_text(["Où est mon colis ?"])

    # the agent reads the answers in the details pane, in the panel's language
    row = panel.locator("#inbox li", has_text="Camille Martin")
    row.locator("a").first.click()
    details = panel.locator("#room-details")
    expect(details.locator("dd[data-prechat=topic]")).to_have_text("Livraison")
    expect(details.locator("dd[data-prechat=newsletter]")).to_have_text("Yes")
    expect(details.get_by_text("Topic", exact=True)).to_be_visible()
    expect(details).to_contain_text("camille@example.com")
    expect(panel.locator("#room-left-offline")).to_be_hidden()  # an ordinary chat

    # the same visitor coming back is not asked again (the widget opens itself again after a reload)
    visitor.reload()
    visitor.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    expect(visitor.locator("chatapp-widget .composer textarea")).to_be_visible()
    expect(visitor.locator("chatapp-widget form.prechat")).to_have_count(0)


def test_a_site_without_a_form_shows_the_composer_at_once(pages: Pages, stack: Stack, shop: ShopSite) -> None:
    requested: list[str] = []
    visitor = pages.page()
    visitor.on("request", lambda request: requested.append(request.url))
    visitor.goto(shop.url + "/")
    visitor.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    visitor.locator("chatapp-widget .launcher").click()
    expect(visitor.locator("chatapp-widget .composer textarea")).to_be_visible()
    expect(visitor.locator("chatapp-widget form.prechat")).to_have_count(0)
    assert not [url for url in requested if "prechat" in url], requested  # neither the chunk nor the form


def test_the_header_says_left_offline_for_a_chat_the_offline_form_made(pages: Pages, stack: Stack) -> None:
    guest = Api(stack.url).ok("POST", "/api/auth/guest", {"name": "Guest"})
    made = Api(stack.url, guest["token"]).ok("POST", "/api/chat/offline", {
        "name": "Ines Offline", "email": "ines@example.com", "message": "Rappelez-moi demain."})
    panel = pages.admin(f"/admin/chat/{made['room']['id']}")
    expect(panel.locator("#room-title")).to_have_text("Ines Offline")
    expect(panel.locator("#room-left-offline")).to_have_text("Left offline")
    expect(panel.locator("#room-left-offline")).to_be_visible()


def test_a_chat_left_through_the_offline_form_takes_the_form_away(pages: Pages, stack: Stack, shop: ShopSite) -> None:
    """Outside business hours the visitor uses the offline form instead; the chat it makes needs no
    pre-chat form any more, and the composer comes back under it."""
    stack.admin.ok("PUT", "/api/admin/prechat", {"enabled": True, "fields": [{"type": "email", "required": True}]})
    stack.admin.ok("PUT", "/api/admin/business-hours", closed_today("Asia/Tokyo"))
    try:
        leave_offline(open_widget(pages, shop))
    finally:
        stack.admin.ok("DELETE", "/api/admin/business-hours")


def leave_offline(visitor: Page) -> None:
    expect(visitor.locator("chatapp-widget form.prechat")).to_be_visible()
    expect(visitor.locator("chatapp-widget .composer")).to_be_hidden()
    visitor.get_by_role("button", name="Laissez-nous un message").click()
    offline = visitor.locator("chatapp-widget form.offline")
    for label, value in (("Votre nom", "Noé"), ("Votre e-mail", "noe@example.com"), ("Votre message", "Rappelez-moi.")):
        offline.get_by_label(label).fill(value)
    offline.get_by_role("button", name="Envoyer").click()
    expect(visitor.locator("chatapp-widget .msg .body")).to_have_text(["Rappelez-moi."])
    expect(visitor.locator("chatapp-widget form.prechat")).to_have_count(0)
    expect(visitor.locator("chatapp-widget .composer textarea")).to_be_visible()


def test_a_signed_in_visitor_is_asked_only_what_their_account_does_not_say(pages: Pages, stack: Stack) -> None:
    stack.admin.ok("PUT", "/api/admin/prechat", {"enabled": True, "fields": [
        {"type": "name", "required": True}, {"type": "email", "required": True},
        {"type": "text", "key": "order", "label": "Order reference", "required": True}]})
    now = int(time.time())
    identity = sign_identity_token(IDENTITY_SECRET, {
        "sub": f"prechat-{time.time_ns()}", "name": "Sofia Shopper", "email": "sofia@shop.example", "iat": now,
        "exp": now + 600})
    site = ShopSite({"/": SIGNED_IN % {"base": stack.url, "identity": identity}})
    try:
        visitor = open_widget(pages, site)
        form = visitor.locator("chatapp-widget form.prechat")
        expect(form.locator("input")).to_have_count(1)  # name and e-mail come from the shop's account
        form.get_by_label("Order reference *").fill("A-1042")
        form.get_by_role("button", name="Start the chat").click()
        expect(form).to_have_count(0)
        composer = visitor.locator("chatapp-widget .composer textarea")
        composer.fill("Where is A-1042?")
        composer.press("Enter")
        expect(visitor.locator("chatapp-widget .msg .body")).to_have_text(["Where is A-1042?"])
        room = stack.admin.ok("GET", "/api/admin/chat/rooms", params={"q": "Sofia Shopper"})["data"][0]
        detail = stack.admin.ok("GET", f"/api/admin/chat/rooms/{room['id']}")
        assert detail["room"]["user"]["email"] == "sofia@shop.example"
        assert detail["prechat"] == [{"key": "order", "label": "Order reference", "type": "text", "value": "A-1042",
                                      "text": "A-1042"}]
    finally:
        site.close()
        stack.admin.ok("PUT", "/api/admin/prechat", {"enabled": False, "fields": []})


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_form_and_its_dialog_pass_axe(pages: Pages, stack: Stack, shop: ShopSite, scheme: str) -> None:
    stack.admin.ok("PUT", "/api/admin/prechat", {"enabled": True, "fields": [
        {"type": "name", "required": True}, {"type": "email"},
        {"type": "select", "key": "topic", "label": "Topic", "options": ["Delivery", "Refund"], "required": True},
        {"type": "checkbox", "key": "terms", "label": "I accept the terms", "required": True}]})
    visitor = pages.page(bypass_csp=True, color_scheme=scheme)
    visitor.goto(shop.url + "/")
    visitor.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    visitor.locator("chatapp-widget .launcher").click()
    form = visitor.locator("chatapp-widget form.prechat")
    form.get_by_role("button", name="Commencer la discussion").click()
    expect(form.get_by_role("alert")).to_have_text("Vérifiez les champs marqués en rouge.")
    assert_accessible(visitor)

    panel = pages.admin(bypass_csp=True, color_scheme=scheme)
    panel.get_by_role("button", name="Pre-chat form").click()
    expect(panel.locator("#prechat-dialog fieldset.prechat-field")).to_have_count(4)
    assert_accessible(panel)


def test_a_form_changed_while_the_visitor_fills_it_comes_back_with_their_answers(
    pages: Pages, stack: Stack, shop: ShopSite,
) -> None:
    name = {"type": "name", "required": True}
    stack.admin.ok("PUT", "/api/admin/prechat", {"enabled": True, "fields": [name]})
    visitor = open_widget(pages, shop)
    form = visitor.locator("chatapp-widget form.prechat")
    form.get_by_label("Votre nom *").fill("Lucie")
    stack.admin.ok("PUT", "/api/admin/prechat", {"enabled": True, "fields": [
        name, {"type": "number", "key": "order", "label": {"en": "Order number", "fr": "Numéro de commande"},
               "required": True}]})
    form.get_by_role("button", name="Commencer la discussion").click()  # the server names a field not shown
    expect(form.get_by_label("Numéro de commande *")).to_be_visible()
    expect(form.get_by_label("Votre nom *")).to_have_value("Lucie")
    form.get_by_label("Numéro de commande *").fill("douze")
    form.get_by_role("button", name="Commencer la discussion").click()
    expect(form.locator(".problem").nth(1)).to_have_text("Veuillez saisir un nombre.")
    form.get_by_label("Numéro de commande *").fill("12")
    form.get_by_role("button", name="Commencer la discussion").click()
    expect(form).to_have_count(0)
    expect(visitor.locator("chatapp-widget .composer textarea")).to_be_visible()
