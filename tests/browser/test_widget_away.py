"""Away mode end to end in Chromium: an admin sets business hours in the panel's dialog, a French
visitor on a shop's page reads "away — back tomorrow at 09:00, Paris time", leaves a message
through the offline form, the chat reaches the inbox marked "left offline", and the agent's
reply reaches the visitor's address once they have gone (a real SMTP server, aiosmtpd).

chatapp has no clock to freeze, so the schedule is built around today: every day 09:00-17:00
in Paris, today (in Paris) a holiday, so the next opening is tomorrow at 09:00 whatever the
hour the suite runs at.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Pages, Stack, mail_env, running_stack, screenshot
from tests.browser.test_widget import ShopSite
from tests.helpers.smtp import SmtpSink

pytestmark = pytest.mark.browser

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Boutique</title></head>
<body><h1>Boutique</h1><script src="%(base)s/widget.js" async data-locale="fr"></script></body></html>
"""
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpSink) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, mail_env(smtp, CHATAPP_MAIL_DELAY_SECONDS="0.5"))


@pytest.fixture
def shop(stack: Stack) -> Iterator[ShopSite]:
    site = ShopSite({"/": PAGE % {"base": stack.url}})
    yield site
    site.close()
    stack.admin.ok("DELETE", "/api/admin/business-hours")


def widget(pages: Pages, shop: ShopSite) -> Page:
    page = pages.page()
    page.goto(shop.url + "/")
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    page.locator("chatapp-widget .launcher").click()
    return page


def test_away_mode_and_the_offline_form_reach_the_inbox(
    pages: Pages, stack: Stack, shop: ShopSite, smtp: SmtpSink,
) -> None:
    today = datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()
    panel = pages.admin()
    panel.get_by_role("button", name="Business hours").click()
    dialog = panel.locator("#hours-dialog")
    expect(dialog.locator("#hours-now")).to_contain_text("No schedule")
    dialog.get_by_label("Time zone").fill("Europe/Paris")
    for day in DAYS:
        dialog.locator(f"#hours-{day}").fill("09:00-17:00")
    dialog.locator("#hours-mon").fill("9 to 5")
    dialog.get_by_role("button", name="Save hours").click()
    expect(dialog.locator("#hours-error")).to_have_text("Monday: write intervals as 09:00-17:30, separated by commas.")
    dialog.locator("#hours-mon").fill("09:00-12:00, 13:00-17:00")
    dialog.get_by_label("Holidays").fill(today)
    dialog.get_by_role("button", name="Save hours").click()
    # the panel is open and its agent online, but today is a holiday: the widget says away
    expect(dialog.locator("#hours-now")).to_have_text(
        "Business hours saved. The widget says now: Away — back tomorrow at 9:00\u202fAM, Paris time")
    screenshot(panel, "admin-business-hours")
    saved = stack.admin.ok("GET", "/api/admin/business-hours")["hours"]
    assert saved["week"]["mon"] == [["09:00", "12:00"], ["13:00", "17:00"]] and saved["holidays"] == [today]
    dialog.get_by_role("button", name="Close").click()

    visitor = widget(pages, shop)
    expect(visitor.locator("chatapp-widget .subtitle")).to_have_text(
        "Absents — de retour demain à 09:00, heure de Paris")
    visitor.get_by_role("button", name="Laissez-nous un message").click()
    form = visitor.locator("chatapp-widget form.offline")
    form.get_by_label("Votre nom").fill("Camille Martin")
    form.get_by_label("Votre e-mail").fill("pas-une-adresse")
    form.get_by_label("Votre message").fill("Ma commande 1042 n’est pas arrivée.")
    form.get_by_role("button", name="Envoyer").click()
    expect(form.get_by_role("alert")).to_have_text("Vérifiez les champs marqués en rouge.")
    expect(form.get_by_label("Votre e-mail")).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Votre nom")).to_have_attribute("aria-invalid", "false")
    form.get_by_label("Votre e-mail").fill("camille@example.com")
    screenshot(visitor, "widget-away-offline-form")
    form.get_by_role("button", name="Envoyer").click()
    expect(form.get_by_role("status")).to_have_text(
        "Merci ! Nous avons bien reçu votre message ; la réponse vous parviendra par e-mail.")
    expect(visitor.locator("chatapp-widget .msg .body")).to_have_text(["Ma commande 1042 n’est pas arrivée."])

    row = panel.locator("#inbox li", has_text="Camille Martin")
    expect(row.locator(".chip.left-offline")).to_have_text("Left offline")
    row.locator("a").first.click()
    expect(panel.locator(".msg .body").last).to_have_text("Ma commande 1042 n’est pas arrivée.")
    room = stack.admin.ok("GET", "/api/admin/chat/rooms", params={"q": "commande"})["data"][0]
    assert room["user"]["email"] == "camille@example.com" and room["left_offline"] is True

    # the visitor has gone; the reply, unread, is e-mailed to the address the form left
    visitor.context.close()
    stack.admin.ok("POST", f"/api/admin/chat/rooms/{room['id']}/messages", {"body": "Elle part demain."})
    [mail] = smtp.wait_for("camille@example.com")
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and "Elle part demain." in str(body.get_content())

    # no schedule any more, an agent there: the next visitor reads "online" from the first look
    panel.get_by_role("button", name="Business hours").click()
    dialog.get_by_role("button", name="Remove the schedule").click()
    expect(dialog.locator("#hours-now")).to_contain_text("The widget says now: Online")
    later = widget(pages, shop)
    expect(later.locator("chatapp-widget .subtitle")).to_have_text(
        "En ligne — nous répondons généralement en quelques minutes")
    expect(later.get_by_role("button", name="Laissez-nous un message")).to_be_hidden()


def closed_today(zone: str) -> dict[str, object]:
    """Mondays 09:00-10:00 in ``zone``, today there a holiday: outside hours whenever the test runs."""
    today = datetime.now(ZoneInfo(zone)).date().isoformat()
    return {"time_zone": zone, "week": {"mon": [["09:00", "10:00"]]}, "holidays": [today]}


def test_an_open_widget_asks_again_every_minute_and_a_closed_one_never(
    pages: Pages, stack: Stack, shop: ShopSite,
) -> None:
    """The page's clock is Playwright's, moved on by hand: no real minute is waited."""
    stack.admin.ok("PUT", "/api/admin/business-hours", closed_today("Asia/Tokyo"))
    asked: list[str] = []
    page = pages.page()
    page.clock.install()
    page.on("request", lambda request: asked.append(request.url) if "/api/chat/status" in request.url else None)
    page.goto(shop.url + "/")
    page.wait_for_selector("chatapp-widget[data-ready=true]", state="attached")
    subtitle = page.locator("chatapp-widget .subtitle")
    page.locator("chatapp-widget .launcher").click()
    expect(subtitle).to_contain_text("heure de Tokyo")  # from /api/config
    assert asked == []  # that answer is fresh: opening does not ask again

    stack.admin.ok("PUT", "/api/admin/business-hours", closed_today("America/New_York"))
    page.clock.run_for(61_000)
    expect(subtitle).to_contain_text("heure de New York")
    assert len(asked) == 1 and "prefer=fr" in asked[0]

    page.locator("chatapp-widget .close").click()
    page.clock.run_for(5 * 61_000)
    page.wait_for_timeout(200)
    assert len(asked) == 1  # closed: never
