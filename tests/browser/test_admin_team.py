"""The panel's Team page: a manager invites an agent, who joins through the link; deactivation signs them out."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Pages, Stack, screenshot
from tests.browser.test_accessibility import assert_accessible, audit_context

pytestmark = pytest.mark.browser

PASSWORD = "joining-password-1"


def test_invite_join_and_deactivate(pages: Pages, stack: Stack) -> None:
    assert stack.admin.user["staff_role"] == "owner"  # the stack's first account
    manager = pages.admin("/admin/chat")
    manager.locator("#team-button").click()
    dialog = manager.locator("#team-dialog")
    expect(dialog).to_be_visible()
    me = dialog.locator(f"#team-members tr[data-id='{stack.admin.id}']")
    expect(me).to_have_attribute("data-role", "owner")
    expect(me.locator("select.team-role")).to_be_disabled()

    email = f"nina-{time.time_ns()}@support.test"
    dialog.locator("#invite-email").fill(email)
    dialog.locator("#invite-name").fill("Nina New")
    dialog.locator("#invite-role").select_option("agent")
    dialog.locator("#invite-submit").click()
    link_box = dialog.locator("#invite-link")
    expect(link_box).to_be_visible()
    expect(dialog.locator("#invite-result")).to_contain_text(email)
    expect(dialog.locator("#team-invites")).to_contain_text(email)
    link = link_box.input_value()
    assert link.startswith(stack.url + "/admin/invite#"), link
    screenshot(manager, "admin-team-invite")

    # The invitee, in a browser of their own, opens the link, sets a password and lands in the panel.
    invitee = pages.page()
    invitee.goto(link)
    expect(invitee.locator("#invite-intro")).to_contain_text(email)
    expect(invitee.locator("#invite-intro")).to_contain_text("Agent")
    expect(invitee.locator("#accept-name")).to_have_value("Nina New")
    invitee.locator("#accept-password").fill(PASSWORD)
    invitee.locator("#accept-again").fill("something else")
    invitee.locator("#accept-submit").click()
    expect(invitee.locator("#accept-error")).to_have_text("The two passwords differ.")
    invitee.locator("#accept-again").fill(PASSWORD)
    invitee.locator("#accept-submit").click()
    invitee.wait_for_url(f"{stack.url}/admin/chat")
    invitee.wait_for_selector("#inbox[data-ready='true']")
    expect(invitee.locator("#me-name")).to_have_text("Nina New")
    expect(invitee.locator("#team-button")).to_be_hidden()  # agents do not manage the team
    expect(invitee.locator("#audit-button")).to_be_hidden()  # nor read its audit log
    expect(invitee.locator("#team-dialog")).to_have_count(0)
    invitee.locator("#agents").click()  # they see the desk's settings, the owner and admins change them
    expect(invitee.locator("#auto-assign")).to_be_disabled()
    expect(invitee.locator("#team-list input.capacity").first).to_be_disabled()
    invitee.locator("#agents").click()

    # The link worked once.
    again = pages.page()
    again.goto(link)
    expect(again.locator("#invite-invalid")).to_be_visible()
    expect(again.locator("#accept-form")).to_be_hidden()

    # The manager sees the new agent, and deactivates them: their panel is signed out at once.
    nina = next(m for m in stack.admin.ok("GET", "/api/admin/team")["data"] if m["email"] == email)
    dialog.locator("#team-close").click()
    manager.locator("#team-button").click()
    row = dialog.locator(f"#team-members tr[data-id='{nina['id']}']")
    expect(row.locator("select.team-role")).to_have_value("agent")
    expect(row).to_have_attribute("data-active", "true")
    expect(dialog.locator("#team-invites")).not_to_contain_text(email)
    # The owner makes them an admin: their panel follows at once and shows the Team page.
    row.locator("select.team-role").select_option("admin")
    expect(row).to_have_attribute("data-role", "admin")
    expect(invitee.locator("#team-button")).to_be_visible()
    invitee.wait_for_selector("#inbox[data-ready='true']")

    row.locator("button[data-action='deactivate']").click()
    confirm = manager.locator("#team-confirm-dialog")
    expect(confirm).to_contain_text("Deactivate Nina New?")
    confirm.locator("#team-confirm").click()
    expect(row).to_have_attribute("data-active", "false")
    expect(row).to_contain_text("Deactivated")
    screenshot(manager, "admin-team-deactivated")
    invitee.wait_for_url(f"{stack.url}/admin/login**", timeout=20_000)
    expect(invitee.locator("#login-error")).to_be_visible()

    # Signing in again is refused; reactivating lets them back in.
    invitee.locator("#login-email").fill(email)
    invitee.locator("#login-password").fill(PASSWORD)
    invitee.locator("#login-submit").click()
    expect(invitee.locator("#login-error")).to_have_text("This account has been deactivated.")
    row.locator("button[data-action='reactivate']").click()
    confirm.locator("#team-confirm").click()
    expect(row).to_have_attribute("data-active", "true")
    invitee.locator("#login-submit").click()
    invitee.wait_for_url(f"{stack.url}/admin/chat")

    # The audit log, in the panel: all of it, newest first, by name and role.
    dialog.locator("#team-close").click()
    manager.locator("#audit-button").click()
    entries = manager.locator("#audit-dialog #audit-entries tr")
    expect(entries.first).to_have_attribute("data-action", "auth.sign_in")
    expect(entries.first).to_contain_text("Nina New · admin")
    actions = [entries.nth(i).get_attribute("data-action") for i in range(5)]
    assert actions == ["auth.sign_in", "team.reactivate", "team.deactivate", "team.role", "team.join"]
    expect(entries.nth(1)).to_contain_text("Reactivated a member")
    expect(entries.nth(1)).to_contain_text(f"Person #{nina['id']}")
    expect(entries.nth(3)).to_contain_text("Agent → Admin")
    screenshot(manager, "admin-audit-log")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_team_page_and_the_invitation_page_are_accessible(pages: Pages, stack: Stack, scheme: str) -> None:
    doc = stack.admin.ok("POST", "/api/admin/team/invites",
                         {"email": f"ada-{time.time_ns()}@support.test", "name": "Ada Access", "role": "admin"})
    invited = pages.page(None, audit_context(pages, color_scheme=scheme))
    invited.goto(doc["link"])
    expect(invited.locator("#accept-name")).to_have_value("Ada Access")
    assert_accessible(invited)

    page = pages.admin(bypass_csp=True, color_scheme=scheme)
    page.locator("#team-button").click()
    dialog = page.locator("#team-dialog")
    expect(dialog.locator("#team-invites")).to_contain_text("Ada Access")
    dialog.locator("#invite-email").fill(f"bo-{time.time_ns()}@support.test")
    dialog.locator("#invite-submit").click()
    expect(dialog.locator("#invite-link")).to_be_visible()
    assert_accessible(page)
    dialog.locator("#team-close").click()
    page.locator("#audit-button").click()
    expect(page.locator("#audit-entries tr").first).to_be_visible()
    assert_accessible(page)
    page.locator("#audit-close").click()
    page.locator("#team-button").click()

    # A manager withdraws an invitation: the link stops working.
    dialog.locator(f"#team-invites li[data-id='{doc['invite']['id']}'] button[data-action='withdraw']").click()
    expect(dialog.locator("#team-invites")).not_to_contain_text("Ada Access")
    invited.reload()
    expect(invited.locator("#invite-invalid")).to_be_visible()
