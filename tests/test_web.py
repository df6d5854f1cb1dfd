"""The dashboard's pages through Flask's test client."""

from __future__ import annotations

from decimal import Decimal


def test_front_page_shows_the_gateway_balance(logged_in, gateway):
    web = logged_in
    gateway.simulator.set_balance(Decimal("42.5"))
    page = web.get("/")
    assert page.status_code == 200
    assert "42.50" in page.get_data(as_text=True)


def test_front_page_explains_an_unreachable_gateway(app, logged_in, closed_port):
    web = logged_in
    from smsco import Client

    app.extensions["smsco_client"] = Client("u", "p", base_url=f"http://127.0.0.1:{closed_port}")
    page = web.get("/")
    assert page.status_code == 200
    assert "Could not connect to the gateway" in page.get_data(as_text=True)


def test_unknown_page_is_a_plain_404(logged_in):
    web = logged_in
    page = web.get("/no-such-page")
    assert page.status_code == 404
    assert "Page not found" in page.get_data(as_text=True)
