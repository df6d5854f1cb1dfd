"""Operators in real Chromium: confirmations (dialog, and a page without JavaScript),
contacts chosen and sent to, a group sent to, and a marketing preview inside quiet hours."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from smsco.web.extensions import db
from smsco.web.models import Contact, ContactGroup
from smsco.web.sending.quiet_hours import parse_quiet_hours

from .browser import first_run

pytestmark = pytest.mark.browser


@pytest.fixture
def server(live_app, live_server):
    live_app.config["SMSCO_QUIET_RULE"] = None  # tests of quiet hours set their own
    return live_server


@pytest.fixture
def people(live_app):
    """Three contacts in the group Clients and one outside it."""
    with live_app.app_context():
        group = ContactGroup(name="Clients")
        rows = [Contact(phone="995599445448", fields={"name": "Nino"}),
                Contact(phone="995555123456", fields={"name": "Giorgi"}),
                Contact(phone="995577112233", fields={"name": "Eka"}),
                Contact(phone="995591000001", fields={"name": "Lado"})]
        group.contacts.extend(rows[:3])
        db.session.add_all([group, *rows])
        db.session.commit()


def sent_to(gateway, text: str) -> list[str]:
    return sorted(r.recipient for r in gateway.simulator.requests
                  if r.path.endswith("smsapi2.php") and (r.message or "").startswith(text))


def test_deleting_a_contact_asks_in_a_dialog(server, page, people):
    first_run(page, server)
    page.goto(server.url + "/contacts")
    row = page.get_by_role("row").filter(has_text="+995 555 12 34 56")
    row.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete the contact +995 555 12 34 56?")
    dialog.get_by_role("button", name="No, go back").click()
    expect(dialog).to_have_count(0)
    expect(row).to_be_visible()  # nothing happened
    row.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, delete the contact").click()
    expect(page.get_by_text("Contact deleted.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="+995 555 12 34 56")).to_have_count(0)
    expect(page.get_by_text("3 contacts", exact=True)).to_be_visible()


def test_without_javascript_a_page_asks(server, browser, people):
    context = browser.new_context(java_script_enabled=False, locale="en-GB",
                                  timezone_id="Asia/Tbilisi")
    page = context.new_page()
    try:
        first_run(page, server)
        page.goto(server.url + "/contacts/groups")
        page.get_by_role("row").filter(has_text="Clients").get_by_role(
            "button", name="Delete").click()
        expect(page.get_by_role("heading", name="Delete the group “Clients”?")).to_be_visible()
        expect(page.get_by_text("Its contacts are kept.")).to_be_visible()
        page.get_by_role("link", name="No, go back").click()
        expect(page).to_have_url(re.compile(r"/contacts/groups$"))
        expect(page.get_by_role("link", name="Clients")).to_be_visible()
        page.get_by_role("row").filter(has_text="Clients").get_by_role(
            "button", name="Delete").click()
        page.get_by_role("button", name="Yes, delete the group").click()
        expect(page.get_by_text("deleted; its contacts are kept")).to_be_visible()
        expect(page.get_by_role("link", name="Clients")).to_have_count(0)
    finally:
        context.close()


def test_contacts_selected_and_sent_to(server, gateway, page, people):
    first_run(page, server)
    page.goto(server.url + "/contacts")
    expect(page.get_by_text("4 contacts", exact=True)).to_be_visible()
    page.get_by_label("Select +995 599 44 54 48").check()
    page.get_by_label("Select +995 577 11 22 33").check()
    page.get_by_role("button", name="Send SMS to selected").click()
    expect(page).to_have_url(re.compile(r"/bulk\?"))
    expect(page.get_by_label("The 2 contacts you selected")).to_be_checked()
    expect(page.get_by_label("Campaign name")).to_have_value(
        re.compile(r"^Selected contacts \d{4}-\d{2}-\d{2}$"))
    page.get_by_label("Message", exact=True).fill("Hi {name}")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator('[data-count="valid"]')).to_have_text("2")
    expect(page.get_by_text("Hi Eka", exact=True)).to_be_visible()
    page.get_by_role("button", name="Send to all").click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+$"))
    expect(page.locator('[data-state-count="delivered"]')).to_have_text("2", timeout=20_000)
    assert sent_to(gateway, "Hi ") == ["995577112233", "995599445448"]
    # Finished: nothing left to pause, cancel or resend.
    expect(page.get_by_role("button", name="Pause")).to_have_count(0)
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(page.get_by_role("button", name="Resend failed")).to_have_count(0)


def test_select_all_matching_and_send_to_a_group(server, gateway, page, people):
    first_run(page, server)
    page.goto(server.url + "/contacts?q=Nino")
    page.get_by_label("Select the 1 matching contact").check()
    page.get_by_role("button", name="Send SMS to selected").click()
    expect(page.get_by_label("The 1 contact matching “Nino”")).to_be_checked()
    page.goto(server.url + "/contacts/groups")
    page.get_by_role("link", name="Send to this group").click()
    expect(page.get_by_role("group", name="Groups").get_by_label("Clients")).to_be_checked()
    expect(page.get_by_label("Campaign name")).to_have_value(re.compile(r"^Clients \d{4}-"))
    page.get_by_label("Message", exact=True).fill("Group hello")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator('[data-count="valid"]')).to_have_text("3")


def test_a_marketing_preview_inside_quiet_hours_says_when_it_starts(server, live_app, page):
    live_app.config["SMSCO_QUIET_RULE"] = parse_quiet_hours("00:00-23:59,00:00-23:59")
    first_run(page, server)
    page.goto(server.url + "/bulk")
    expect(page.get_by_label("Marketing")).to_be_checked()
    page.get_by_label("Pasted numbers").fill("599 44 54 48")
    page.get_by_label("Message", exact=True).fill("Sale today")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text(re.compile(r"^Starts at (\S+ )?23:59, after quiet hours\.$"))
           ).to_be_visible()
    expect(page.get_by_label("Campaign name")).to_have_value(re.compile(r"^Pasted numbers "))
    page.get_by_label("Transactional").check()
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("after quiet hours")).to_have_count(0)
    page.get_by_label("Marketing").check()
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Send to all").click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+$"))
    page.get_by_role("link", name="Campaigns", exact=True).click()
    expect(page.get_by_text(re.compile(r"^Waiting until (\S+ )?23:59$"))).to_be_visible()
    expect(page.get_by_text("Sending", exact=True)).to_have_count(0)
