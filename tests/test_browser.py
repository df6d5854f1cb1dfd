"""Browser tests in real Chromium against the running app."""

from __future__ import annotations

from decimal import Decimal

import pytest

from .conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser


def test_front_page_shows_balance_in_chromium(live_server, gateway, page, users):
    gateway.simulator.set_balance(Decimal("12.34"))
    page.goto(live_server.url + "/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("heading", name="Gateway balance").is_visible()
    assert page.get_by_test_id("balance").inner_text().startswith("12.34")
