"""Real Chromium for browser tests (DESIGN §7), driven by Playwright.

``playwright install`` cannot download here and is not needed: we launch the
Debian ``chromium`` package. On CI (``CI`` or ``SMSCO_REQUIRE_BROWSER`` set)
a missing browser fails the run; elsewhere the browser tests are skipped
with a message saying how to install it.
"""

from __future__ import annotations

import os
import time
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


# Runs in every page before its own scripts (injected by the browser, so the CSP does not
# apply to it): each Content-Security-Policy violation becomes a console error.
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked " +
                (event.blockedURI || "inline code") + " at " + event.sourceFile + ":" +
                event.lineNumber);
}, true);
"""


@pytest.fixture
def csp_violations():
    """What the page reported breaking its Content-Security-Policy; any fails the test."""
    return []


@pytest.fixture
def page(browser, csp_violations):
    """A fresh browser context and page; the test fails if the page breaks its CSP."""
    context = browser.new_context(locale="en-GB", timezone_id="Asia/Tbilisi",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    context.add_init_script(CSP_REPORTER)
    page = context.new_page()
    page.on("console", lambda message: _note_csp_violation(message.text, csp_violations))
    yield page
    context.close()
    assert csp_violations == [], "the page broke its Content-Security-Policy"


def _note_csp_violation(text: str, violations: list[str]) -> None:
    # Chromium's own report, and ours from CSP_REPORTER.
    if text.startswith("CSP violation") or "Content Security Policy" in text:
        violations.append(text)


def wait_until(condition, timeout: float = 10.0, interval: float = 0.05):
    """Poll ``condition()`` until it returns something true and return that; fail on timeout.

    For conditions the browser cannot see (the simulator's requests, database rows).
    """
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {condition.__doc__ or condition}")
        time.sleep(interval)
    return result


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
