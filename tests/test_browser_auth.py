"""Accounts in real Chromium: first-run setup, logging out and in, the admin pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser


def test_first_run_setup_then_log_out_and_in_again(live_server, page):
    page.goto(live_server.url + "/")
    expect(page).to_have_url(live_server.url + "/setup")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Confirm password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Use at least 10 characters.")).to_be_visible()

    page.get_by_label("Password", exact=True).fill("long-enough-pw")
    page.get_by_label("Confirm password").fill("long-enough-pw")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("link", name="Users")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_text("You have logged out.")).to_be_visible()

    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")

    page.get_by_label("Password").fill("long-enough-pw")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.goto(live_server.url + "/setup")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_admin_adds_and_disables_an_operator(live_server, page, users):
    page.goto(live_server.url + "/admin/users")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(live_server.url + "/admin/users")

    page.get_by_label("Username").fill("x")
    page.get_by_role("button", name="Add user").click()
    expect(page.locator("#username-error")).to_contain_text("letters, digits")
    expect(page.get_by_label("Username")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Username").fill("nino")
    page.get_by_label("Password").fill("nino-password-1")
    page.get_by_label("Role").select_option(label="Operator")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_text("Added nino.")).to_be_visible()

    row = page.get_by_role("row").filter(has_text="nino")
    row.get_by_role("button", name="Disable").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, disable").click()
    expect(page.get_by_text("Disabled nino.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="nino").get_by_text("Disabled")).to_be_visible()

    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("cell", name="Account disabled")).to_be_visible()
