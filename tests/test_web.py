"""The overview page and the app's plain error pages."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from smsco.web.extensions import db
from smsco.web.models import BalanceSnapshot, User, utcnow
from smsco.web.sending import jobs
from smsco.web.sending.outbox import NewMessages, create_messages


def test_overview_shows_the_latest_balance_reading(app, logged_in, gateway):
    page = logged_in.get("/").get_data(as_text=True)
    assert "Not read yet." in page
    gateway.simulator.set_balance(Decimal("42.5"))
    with app.app_context():
        jobs.record_balance()
    page = logged_in.get("/").get_data(as_text=True)
    assert "42.50" in page and "just now" in page


def test_check_now_reads_the_balance_or_says_why_not(app, logged_in, gateway, closed_port):
    gateway.simulator.set_balance(Decimal("7"))
    page = logged_in.post("/balance/check", follow_redirects=True).get_data(as_text=True)
    assert "Balance read from the gateway: ₾7.00." in page
    from smsco import Client

    app.extensions["smsco_client"] = Client("u", "p", base_url=f"http://127.0.0.1:{closed_port}")
    page = logged_in.post("/balance/check", follow_redirects=True).get_data(as_text=True)
    assert "could not be read" in page and "7.00" in page


def test_overview_counts_todays_messages_and_lists_the_latest(app, logged_in):
    with app.app_context():
        create_messages(NewMessages(["995599445448", "995555123456"], "Today", None),
                        db.session.get(User, 1))
    page = logged_in.get("/").get_data(as_text=True)
    assert 'data-state="queued">2<' in page
    assert "+995 599 44 54 48" in page and "Today" in page


def test_balance_trend_is_a_chart_with_a_real_axis(app, logged_in):
    """The balance at the end of each of the last 7 days, on an axis from zero: a drop of
    0.45 GEL out of 100 looks like the small drop it is."""
    now = utcnow()
    with app.app_context():
        db.session.add_all([BalanceSnapshot(at=now - timedelta(days=2), balance=Decimal("100")),
                            BalanceSnapshot(at=now, balance=Decimal("99.55"))])
        db.session.commit()
    page = logged_in.get("/").get_data(as_text=True)
    svg = page[page.index('<svg class="chart chart-bars chart-small" id="chart-balance-trend"'):]
    svg = svg[:svg.index("</svg>")]
    assert "<polyline" in svg and ">Balance (GEL)</text>" in svg
    assert ">₾0.00</text>" in svg and ">₾100.00</text>" in svg
    assert "from ₾100.00 to ₾99.55" in svg


def test_unknown_page_is_a_plain_404(logged_in):
    page = logged_in.get("/no-such-page")
    assert page.status_code == 404
    assert "Page not found" in page.get_data(as_text=True)
