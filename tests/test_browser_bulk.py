"""Bulk sending in real Chromium: import, preview, send to all, live progress, cancel."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from smsco.web.extensions import db
from smsco.web.models import Message, State
from smsco.web.sending.dispatch import stop_dispatcher

from .browser import first_run, wait_until

pytestmark = pytest.mark.browser

FILE = ("Phone,Name\n599 44 54 48,Nino\n0555123456,Giorgi\n+995 577 11 22 33,Eka\n"
        "12345,Bad\n599445448,Nino again\n995591000001,Lado\n")


@pytest.fixture
def server(live_app, live_server, tmp_path):
    live_app.config["SMSCO_UPLOAD_DIR"] = str(tmp_path / "uploads")
    live_app.config["SMSCO_QUIET_RULE"] = None  # the test must not depend on the time of day
    return live_server


def fill_bulk(page, server, tmp_path, name, text=FILE):
    path = tmp_path / "people.csv"
    path.write_text(text, encoding="utf-8")
    page.goto(server.url + "/bulk")
    page.get_by_label("Campaign name").fill(name)
    page.get_by_label("Recipients file").set_input_files(str(path))
    page.get_by_label("Message", exact=True).fill("Gamarjoba {name}")


def test_import_preview_send_and_watch_progress(server, gateway, page, tmp_path):
    first_run(page, server)
    fill_bulk(page, server, tmp_path, "Browser campaign")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator(".bulk-preview")
    expect(preview.locator('[data-count="valid"]')).to_have_text("4")
    expect(preview.locator('[data-count="invalid"]')).to_contain_text("1")
    expect(preview.locator('[data-count="duplicates"]')).to_have_text("1")
    expect(preview.get_by_text("Gamarjoba Nino", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Download invalid rows")).to_be_visible()
    page.get_by_role("button", name="Send to all").click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+$"))
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=20_000)
    expect(page.locator('[data-state-count="delivered"]')).to_have_text("4", timeout=20_000)
    sent = sorted(r.recipient for r in gateway.simulator.requests
                  if r.path.endswith("smsapi2.php") and (r.message or "").startswith("Gamarjoba"))
    assert sent == ["995555123456", "995577112233", "995591000001", "995599445448"]
    page.get_by_role("link", name="Campaigns", exact=True).click()
    expect(page.get_by_role("link", name="Browser campaign")).to_be_visible()


def test_cancel_a_running_campaign(server, gateway, page, tmp_path, live_app):
    # One sender at 5 per second claims 16 rows at a time: most of 60 are still queued.
    live_app.config.update(SMSCO_RATE=5, SMSCO_CONCURRENCY=1)
    stop_dispatcher(live_app)  # the next runtime picks up the slow rate
    first_run(page, server)
    numbers = "\n".join(f"59910{i:04d}" for i in range(60))
    fill_bulk(page, server, tmp_path, "To cancel", "Phone\n" + numbers + "\n")
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Send to all").click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+$"))
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, cancel the campaign").click()
    expect(page.get_by_text(re.compile(r"Campaign cancelled: \d+ messages"))).to_be_visible()
    canceled = int(page.locator('[data-state-count="canceled"]').inner_text())
    assert 0 < canceled <= 60

    def settled():
        """No message of the campaign is waiting or being sent any more."""
        with live_app.app_context():
            return not db.session.scalar(select(func.count(Message.id)).where(
                Message.state.in_([State.QUEUED, State.SENDING])))

    wait_until(settled, timeout=30)
    sent = [r for r in gateway.simulator.requests if r.recipient]  # not the balance checks
    assert len(sent) <= 60 - canceled
