"""Real Chromium for browser tests (DESIGN §7), driven by Playwright.

``playwright install`` cannot download here and is not needed: we launch the
Debian ``chromium`` package. On CI (``CI`` or ``SMSCO_REQUIRE_BROWSER`` set)
a missing browser fails the run; elsewhere the browser tests are skipped
with a message saying how to install it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("SMSCO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


def browser_required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("SMSCO_REQUIRE_BROWSER"))


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} not found: install the Debian package 'chromium'"
        if browser_required():
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page; a failed test leaves a screenshot behind."""
    context = browser.new_context(locale="en-GB", timezone_id="Asia/Tbilisi",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


PASSWORD = "correct-horse-battery"


def first_run(page, server) -> None:
    """Create the first administrator through /setup; leaves the browser logged in."""
    from playwright.sync_api import expect

    page.goto(server.url + "/setup")
    page.get_by_label("Username").fill("nino")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Compose")).to_be_visible()
