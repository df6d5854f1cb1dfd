"""Browser tests in real Chromium against the running app."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from .conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser


def test_overview_reads_the_balance_in_chromium(live_server, gateway, page, users):
    gateway.simulator.set_balance(Decimal("12.34"))
    page.goto(live_server.url + "/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("heading", name="Gateway balance").is_visible()
    assert page.get_by_test_id("balance").inner_text() == "Not read yet."
    page.get_by_role("button", name="Check now").click()
    expect(page.get_by_test_id("balance")).to_have_text("₾12.34")
    expect(page.locator(".header-balance")).to_contain_text("₾12.34")
    expect(page.locator(".sparkline")).to_have_count(0)  # one reading is not a trend yet
