"""End to end in real Chromium: setup, compose, history, live statuses, cancel, credit."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from smsco.web.extensions import db
from smsco.web.models import Message, utcnow

from .browser import first_run, wait_until

pytestmark = pytest.mark.browser

TBILISI = ZoneInfo("Asia/Tbilisi")


def compose(page, server, recipients, message, send_at=None):
    page.goto(server.url + "/compose")
    page.get_by_label("Recipients").fill(recipients)
    page.get_by_label("Message").fill(message)
    button = page.get_by_role("button", name="Send", exact=True)
    if send_at:
        page.get_by_label("Send at").fill(send_at)
        # A time is set: the same button now says what it will do.
        button = page.get_by_role("button", name="Schedule", exact=True)
        expect(button).to_be_visible()
        expect(page.get_by_role("button", name="Send", exact=True)).to_have_count(0)
    button.click()


def test_setup_compose_history_delivered_and_timeline(server, gateway, page):
    first_run(page, server)
    compose(page, server, "599 44 54 48\n+995 555 12 34 56", "Gamarjoba from the test")
    expect(page).to_have_url(re.compile(r"/history"))
    table = page.get_by_role("table")
    for header in ("Recipient", "Message", "Status", "Sent at", "Credits"):
        expect(table.get_by_role("columnheader", name=header)).to_be_visible()
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(2)
    # Statuses arrive on the open page, without a reload.
    expect(rows.filter(has_text="Delivered")).to_have_count(2, timeout=15_000)
    sent = [r for r in gateway.simulator.requests if r.path.endswith("smsapi2.php")
            and r.params.get("message") == "Gamarjoba from the test"]
    assert sorted(r.params["recipient"] for r in sent) == ["995555123456", "995599445448"]
    rows.first.get_by_role("link").first.click()
    expect(page.get_by_text("Accepted by the gateway")).to_be_visible()
    expect(page.get_by_text("Gateway status: Delivered")).to_be_visible()


def test_bad_input_is_shown_beside_its_field(server, page):
    first_run(page, server)
    compose(page, server, "599445448, 12345", "Hi, there!")
    recipients_error = page.locator("#recipients-error")
    expect(recipients_error).to_contain_text("12345")
    expect(page.locator("#message-error")).to_contain_text("position 3")
    expect(page.get_by_label("Recipients")).to_have_attribute(
        "aria-describedby", re.compile("recipients-error"))


def sent_texts(gateway) -> list[str]:
    return [r.params.get("message") for r in gateway.simulator.requests
            if r.path.endswith("smsapi2.php") and "message" in r.params]


def test_a_held_message_is_cancelled_and_never_sent(server, app, gateway, page):
    first_run(page, server)
    later = (datetime.now(TBILISI) + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M")
    compose(page, server, "599445448", "Cancel me", send_at=later)
    expect(page).to_have_url(re.compile(r"/messages/\d+"))
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, cancel the message").click()
    expect(page.get_by_text("Canceled").first).to_be_visible()
    # Its time comes; a message written after it goes out, and it does not.
    with app.app_context():
        db.session.execute(update(Message).values(send_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    compose(page, server, "599445448", "Sent after the cancelled one")
    wait_until(lambda: "Sent after the cancelled one" in sent_texts(gateway))
    assert "Cancel me" not in sent_texts(gateway)


def test_credit_exhausted_banner_and_resume(server, gateway, page):
    first_run(page, server)
    gateway.simulator.set_balance(Decimal("0"))
    compose(page, server, "599445448", "Waiting for credit")
    banner = page.get_by_role("alert").filter(has_text="credit")
    page.goto(server.url + "/history")
    expect(banner).to_be_visible(timeout=10_000)
    gateway.simulator.set_balance(Decimal("50"))
    # The open page updates the row by itself; the banner goes with the next page.
    expect(page.locator("tbody tr").filter(has_text=re.compile("Sent|Delivered"))).to_have_count(
        1, timeout=20_000)
    page.reload()
    expect(banner).to_have_count(0)
