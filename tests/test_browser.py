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
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", name="Gateway balance")).to_be_visible()
    expect(page.get_by_test_id("balance")).to_have_text("Not read yet.")
    page.get_by_role("button", name="Check now").click()
    expect(page.get_by_test_id("balance")).to_have_text("₾12.34")
    expect(page.locator(".header-balance")).to_contain_text("₾12.34")
    expect(page.locator("#chart-balance-trend")).to_be_visible()  # today's reading, on an axis


def test_a_csp_violation_fails_a_browser_test(live_server, page, csp_violations, users):
    """The guard every browser test has: breaking the CSP is reported and collected."""
    page.goto(live_server.url + "/login")
    with page.expect_console_message(lambda message: "CSP violation" in message.text):
        page.evaluate("document.body.setAttribute('style', 'color: red')")
    assert any("style-src" in violation for violation in csp_violations)
    csp_violations.clear()  # this one was on purpose
