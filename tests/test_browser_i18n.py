"""The dashboard in Georgian and Russian in real Chromium: labels from the catalogs, the
counter's words and money in the page's language, a send time typed the Georgian way,
and the switch."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from .browser import PASSWORD
from .test_i18n import translate

pytestmark = pytest.mark.browser


@pytest.fixture
def georgian_page(browser):
    """A browser whose language is Georgian (Accept-Language: ka-GE)."""
    context = browser.new_context(locale="ka-GE", timezone_id="Asia/Tbilisi",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def ka(message: str) -> str:
    return translate("ka", message)


def test_georgian_setup_compose_schedule_and_switch_to_russian(server, georgian_page):
    page = georgian_page
    page.goto(server.url + "/setup")
    expect(page.locator("html")).to_have_attribute("lang", "ka")
    page.get_by_label(ka("Username")).fill("nino")
    page.get_by_label(ka("Password"), exact=True).fill(PASSWORD)
    page.get_by_label(ka("Confirm password")).fill(PASSWORD)
    page.get_by_role("button", name=ka("Create account")).click()
    expect(page.get_by_role("navigation", name=ka("Main")).get_by_role(
        "link", name=ka("Compose"))).to_be_visible()

    page.goto(server.url + "/compose")
    page.get_by_label(ka("Recipients")).fill("599 44 54 48")
    page.get_by_label(ka("Message"), exact=True).fill("Gamarjoba")
    field = page.locator("[data-message-field]")
    expect(field).to_have_attribute("data-state", "ready")
    expect(page.locator("[data-cost]")).to_have_text("0,05\u00a0₾")
    expect(page.locator("#message-counter")).to_contain_text("1 ადრესატზე")
    # Two days ahead in Tbilisi: within the schedule horizon (SMSCO_MAX_SCHEDULE_DAYS).
    day = (datetime.now(ZoneInfo("Asia/Tbilisi")) + timedelta(days=2)).strftime("%d.%m.%Y")
    send_at = page.get_by_label(ka("Send at"))
    expect(send_at).to_have_attribute("placeholder", "25.11.2026 14:05")
    send_at.fill(f"{day} 14:05")
    page.get_by_role("button", name=ka("Schedule"), exact=True).click()
    expect(page).to_have_url(re.compile(r"/messages/\d+"))
    expect(page.get_by_text(f"{day} 14:05").first).to_be_visible()
    expect(page.locator(".state").first).to_have_text(ka("Scheduled"))

    page.get_by_role("button", name="Русский").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator(".state").first).to_have_text(translate("ru", "Scheduled"))
    page.goto(server.url + "/compose")
    page.get_by_label(translate("ru", "Message"), exact=True).fill("Hi")
    expect(page.locator("[data-message-field]")).to_have_attribute("data-state", "ready")
    counter = page.locator("#message-counter")
    expect(counter).to_contain_text("2 символа")  # the "few" form
    expect(counter).to_contain_text("1 часть")  # the "one" form
