"""In real Chromium, as a new user would: make an API key, send with it, see it in the history."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect

from .browser import first_run

pytestmark = pytest.mark.browser


def test_make_a_key_in_the_ui_then_send_with_it(server, gateway, page):
    first_run(page, server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API").click()
    page.get_by_label("Key name").fill("Booking system")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_role("textbox", name=re.compile("^Key .Booking system")).input_value()
    assert secret.startswith("smsco_")
    page.get_by_role("link", name="API docs").first.click()
    expect(page.get_by_text("curl -sS", exact=False).first).to_be_visible()

    reply = requests.post(f"{server.url}/api/v1/messages", timeout=10,
                          headers={"Authorization": f"Bearer {secret}",
                                   "Idempotency-Key": "first-try"},
                          json={"recipients": ["599 44 54 48"], "text": "Hello from the API"})
    assert reply.status_code == 202
    page.goto(server.url + "/history")
    row = page.get_by_role("table").locator("tbody tr").filter(has_text="Hello from the API")
    expect(row).to_have_count(1)
    expect(row.filter(has_text="Delivered")).to_have_count(1, timeout=15_000)
    page.goto(server.url + "/api-keys")
    assert secret not in page.content()  # shown once
