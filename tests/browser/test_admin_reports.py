"""The panel's Reports: today's chats, answered and resolved, in cards, a chart and per-agent rows; the CSV."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, Stack, screenshot
from tests.browser.test_accessibility import assert_accessible

pytestmark = pytest.mark.browser


def test_a_manager_reads_the_report_and_downloads_it(pages: Pages, stack: Stack) -> None:
    _, agent = stack.new_admin("Rhea Reporter")
    for n in range(2):
        visitor = stack.new_user(f"Reported {n}")[1]
        room_id = visitor.send("I need help with my order")["room"]["id"]
        agent.ok("POST", f"/api/admin/chat/rooms/{room_id}/messages", {"body": "Here to help"})
        agent.ok("POST", f"/api/admin/chat/rooms/{room_id}/resolve")
    visitor.ok("POST", f"/api/chat/rooms/{room_id}/rating", {"score": 5})  # the second rates, the first does not
    expected = stack.admin.ok("GET", "/api/admin/reports", params={"tz": "UTC"})["report"]
    assert expected["overall"]["conversations"] >= 2

    page = pages.admin(bypass_csp=True, timezone_id="UTC")  # the owner
    page.locator("#reports-button").click()
    dialog = page.locator("#reports-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Days in UTC time")
    cards = dialog.locator(".report-card")
    expect(cards.first).to_contain_text(str(expected["overall"]["conversations"]))
    expect(cards).to_have_count(5)
    csat = expected["overall"]["csat"]
    expect(dialog.locator(".report-card[data-figure='csat']")).to_contain_text(
        f"{csat['rated']} rated of {csat['asked']} asked")
    expect(dialog.locator(".report-card[data-figure='first_response'] .report-value")).not_to_have_text("—")
    expect(dialog.locator(".report-chart rect")).to_have_count(30)
    row = dialog.locator(f"#report-agents tr[data-id='{agent.id}']")
    expect(row).to_contain_text("Rhea Reporter")
    expect(row.locator("td").first).to_have_text("2")
    expect(row.locator("td").last).to_have_text("5 / 5")
    expect(dialog.locator("#report-no-labels")).to_be_visible()
    screenshot(page, "admin-reports")
    assert_accessible(page)

    with page.expect_download() as download:
        dialog.locator("#report-csv").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert rows[1][0] == "overall" and int(rows[1][3]) == expected["overall"]["conversations"]
    assert next(r for r in rows if r[:2] == ["agent", str(agent.id)])[2:4] == ["Rhea Reporter", "2"]

    # A range before anything happened: nothing, and no error.
    dialog.locator("#report-from").fill("2020-01-01")
    dialog.locator("#report-to").fill("2020-01-07")
    dialog.locator("#report-show").click()
    expect(cards.first.locator(".report-value")).to_have_text("0")
    expect(dialog.locator(".report-chart rect")).to_have_count(7)
    # A first day after the last: said before asking the server.
    dialog.locator("#report-from").fill("2020-01-08")
    dialog.locator("#report-show").click()
    expect(dialog.locator("#report-error")).to_have_text("Choose a first day that is not after the last.")
