"""Accounts in real Chromium: first-run setup, logging out and in, the admin pages."""

from __future__ import annotations

import re

import pytest

from .conftest import ADMIN_PASSWORD
from .test_auth import real_csrf  # noqa: F401 - autouse fixture

pytestmark = pytest.mark.browser


def test_first_run_setup_then_log_out_and_in_again(live_server, page):
    page.goto(live_server.url + "/")
    assert page.url.endswith("/setup")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Confirm password").fill("short")
    page.get_by_role("button", name="Create account").click()
    assert page.get_by_text("Use at least 10 characters.").is_visible()

    page.get_by_label("Password", exact=True).fill("long-enough-pw")
    page.get_by_label("Confirm password").fill("long-enough-pw")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("button", name="Log out").is_visible()
    assert page.get_by_role("link", name="Users").is_visible()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login"))
    assert page.get_by_text("You have logged out.").is_visible()

    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong username or password."

    page.get_by_label("Password").fill("long-enough-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("button", name="Log out").is_visible()
    page.goto(live_server.url + "/setup")
    assert page.get_by_role("heading", name="Page not found").is_visible()


def test_admin_adds_and_disables_an_operator(live_server, page, users):
    page.goto(live_server.url + "/admin/users")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/admin/users")

    page.get_by_label("Username").fill("x")
    page.get_by_role("button", name="Add user").click()
    username = page.get_by_label("Username")
    assert "letters, digits" in page.locator("#username-error").inner_text()
    assert username.get_attribute("aria-invalid") == "true"

    page.get_by_label("Username").fill("nino")
    page.get_by_label("Password").fill("nino-password-1")
    page.get_by_label("Role").select_option(label="Operator")
    page.get_by_role("button", name="Add user").click()
    assert page.get_by_text("Added nino.").is_visible()

    row = page.get_by_role("row").filter(has_text="nino")
    row.get_by_role("button", name="Disable").click()
    assert page.get_by_text("Disabled nino.").is_visible()
    assert page.get_by_role("row").filter(has_text="nino").get_by_text("Disabled").is_visible()

    page.get_by_role("link", name="Audit log").click()
    assert page.get_by_role("cell", name="Account disabled").is_visible()
