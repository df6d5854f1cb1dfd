"""Reports in real Chromium: the running app sends to a gateway with planned outcomes, and
the page's totals, rates, spend, charts and CSV say exactly what the gateway answered."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from .browser import first_run
from .test_reports import BANK, CAMPAIGN, SHOP, app, outcome_gateway  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


@pytest.fixture
def running(app, live_server):  # noqa: F811 - the planned gateway's app
    """The app over HTTP with its scheduler running on short intervals."""
    from smsco.web.sending.jobs import start_scheduler, stop_scheduler

    app.config.update(SMSCO_SCHEDULER=True, SMSCO_DISPATCH_INTERVAL=0.3,
                      SMSCO_STATUS_INTERVAL=0.3, SMSCO_BALANCE_INTERVAL=1)
    start_scheduler(app)
    yield live_server
    stop_scheduler(app)


def queue_the_plan(dashboard) -> None:
    """Every planned number as one message from the first administrator, plus a campaign."""
    from smsco.web.bulk.campaigns import CampaignRecipient, CampaignSpec, create_campaign
    from smsco.web.extensions import db
    from smsco.web.models import User
    from smsco.web.sending.outbox import NewMessages, create_messages

    with dashboard.app_context():
        nino = db.session.scalar(select(User))
        create_messages(NewMessages(list(SHOP), "Your order is ready", "Shop"), nino)
        create_messages(NewMessages(list(BANK), "Payment received", "Bank"), nino)
        create_campaign(CampaignSpec(name="Spring sale", body="Sale this weekend",
                                     sender="Shop", marketing=False),
                        [CampaignRecipient(number) for number in CAMPAIGN], nino, key="k")


def wait_until_settled(dashboard, timeout: float = 30) -> None:
    """Until nothing waits to be sent and only the two planned "no final status" remain."""
    from smsco.web.extensions import db
    from smsco.web.models import Message, State

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with dashboard.app_context():
            counts = dict(db.session.execute(select(Message.state, func.count())
                                             .group_by(Message.state)).all())
            db.session.remove()
        waiting = sum(counts.get(s, 0) for s in (State.QUEUED, State.SENDING))
        if not waiting and counts.get(State.SENT, 0) == 2:
            return
        time.sleep(0.2)
    raise AssertionError(f"messages did not settle: {counts}")


def test_the_reports_page_says_what_the_gateway_answered(app, running, page):  # noqa: F811
    first_run(page, running)
    queue_the_plan(app)
    wait_until_settled(app)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    page.get_by_label("Period").select_option("today")
    page.get_by_role("button", name="Show").click()
    figures = {name: page.locator(f"[data-figure={name}]").inner_text()
               for name in ("messages", "sent", "delivered", "rate", "failed", "unknown",
                            "spend")}
    # 16 messages: 12 accepted (6 delivered, 4 failed at the gateway, 2 with no final
    # status), one refused with 2904, one garbled answer, 3 sent in the campaign.
    assert figures == {"messages": "16", "sent": "14", "delivered": "8", "rate": "66.7%",
                       "failed": "5", "unknown": "1", "spend": "₾0.75"}
    for chart, axis in (("outcomes", "Messages"), ("rate", "Delivery rate (%)"),
                        ("spend", "Spend (GEL)"), ("balance", "Balance (GEL)"),
                        ("causes", "Messages")):
        svg = page.locator(f"svg#chart-{chart}")
        expect(svg).to_have_attribute("role", "img")
        assert svg.locator("title").first.text_content()
        assert svg.locator("desc").first.text_content()
        expect(svg.locator("text", has_text=axis).first).to_be_attached()
    expect(page.locator("svg#chart-outcomes text", has_text="Day").first).to_be_attached()
    causes = page.locator("table[data-table=causes]")
    expect(causes.get_by_role("row", name="Refused at send: SMS sending failed (2904)")
           ).to_contain_text("1")

    page.get_by_role("link", name="By operator", exact=True).click()
    expect(page.locator("table[data-table=operators]").get_by_role("row", name="nino")
           ).to_contain_text("₾0.75")
    page.get_by_role("link", name="By sender ID", exact=True).click()
    shop = page.locator("table[data-table=senders]").get_by_role("row", name="Shop")
    expect(shop).to_contain_text("₾0.55")
    with page.expect_download() as download:
        page.locator("#spend").get_by_role("link", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert rows[-1][0] == "Total" and rows[-1][-1] == "0.75"


@pytest.mark.parametrize(("language", "rate"), [("ka", "66,7%"), ("ru", "66,7\xa0%"),
                                                ("en", "66.7%")])
def test_reports_work_in_each_language(app, running, page, language, rate):  # noqa: F811
    first_run(page, running)
    queue_the_plan(app)
    wait_until_settled(app)
    page.context.add_cookies([{"name": "lang", "value": language, "url": running.url}])
    reply = page.goto(running.url + "/reports?range=today")
    assert reply.status == 200
    expect(page.locator("[data-figure=rate]")).to_have_text(rate)
    expect(page.locator("svg.chart")).to_have_count(5)
