"""Reports: every figure on the page equals what the gateway was told to answer.

Messages go out through the real dispatcher and status job to a stand-in
gateway whose outcome is planned per recipient (``outcome_gateway.py``), so
the expected numbers come from the plan, not from the code under test.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select, update

from .conftest import GATEWAY_PASSWORD, GATEWAY_USER, database_url
from .outcome_gateway import OutcomeGateway, Planned

SHOP = {  # sent by the administrator with sender ID "Shop"
    "995599000001": Planned(credits=5, status=1),
    "995599000002": Planned(credits=5, status=1),
    "995599000003": Planned(credits=10, status=1),  # a two-part message
    "995599000004": Planned(credits=5, status=3),  # Failed
    "995599000005": Planned(credits=5, status=3),
    "995599000006": Planned(credits=5, status=0),  # no final status yet
    "995599000007": Planned(credits=5, status=0),
}
BANK = {  # sent by the operator with sender ID "Bank"
    "995599000011": Planned(credits=5, status=1),
    "995599000012": Planned(credits=5, status=5),  # Expired
    "995599000013": Planned(credits=5, status=6),  # Rejected
    "995599000014": Planned(code=2904),  # refused at send: never reached a phone
    "995599000015": Planned(garbage=True),  # no usable answer: unknown
    "995599000016": Planned(credits=5, status=1),  # cancelled before it is sent
}
CAMPAIGN = {  # a campaign by the operator, sender "Shop"; one number opted out
    "995599000021": Planned(credits=5, status=1),
    "995599000022": Planned(credits=5, status=1),
    "995599000023": Planned(credits=5, status=1),  # opted out: skipped, never sent
}
CANCELLED = "995599000016"
OPTED_OUT = "995599000023"


@pytest.fixture
def outcome_gateway():
    server = OutcomeGateway()
    server.plan.update({**SHOP, **BANK, **CAMPAIGN})
    yield server
    server.close()


@pytest.fixture
def app(outcome_gateway, tmp_path):
    """The dashboard pointed at the planned gateway (replaces conftest's ``app``)."""
    from smsco.web import create_app
    from smsco.web.extensions import db

    app = create_app({
        "TESTING": True, "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path), "SMSCO_DEMO": False,
        "SMSCO_USERNAME": GATEWAY_USER, "SMSCO_PASSWORD": GATEWAY_PASSWORD,
        "SMSCO_BASE_URL": outcome_gateway.url, "SMSCO_SCHEDULER": False,
        "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False, "SMSCO_QUIET_RULE": None,
        "SMSCO_DEFAULT_LANGUAGE": "en",
    })
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def send_everything(app, users) -> None:
    """Queue the planned messages, cancel one, opt one out, then dispatch and poll."""
    from smsco.web.bulk.campaigns import CampaignRecipient, CampaignSpec, create_campaign
    from smsco.web.contacts.services import add_opt_outs
    from smsco.web.extensions import db
    from smsco.web.models import Message, User, utcnow
    from smsco.web.sending.dispatch import dispatch_due_messages
    from smsco.web.sending.jobs import poll_statuses, record_balance
    from smsco.web.sending.outbox import NewMessages, cancel_message, create_messages

    with app.app_context():
        admin, olga = db.session.get(User, users["admin"]), db.session.get(User, users["olga"])
        create_messages(NewMessages(list(SHOP), "Your order is ready", "Shop"), admin)
        bank = create_messages(NewMessages(list(BANK), "Payment received", "Bank"), olga)
        cancelled = next(m for m in bank if m.recipient == CANCELLED)
        cancel_message(db.session.get(Message, cancelled.id), olga)
        add_opt_outs([OPTED_OUT], "asked", admin)
        create_campaign(CampaignSpec(name="Spring sale", body="Sale this weekend",
                                     sender="Shop"),
                        [CampaignRecipient(number) for number in CAMPAIGN], olga, key="k1")
        assert dispatch_due_messages() == len(SHOP) + len(BANK) - 1 + len(CAMPAIGN) - 1
        db.session.execute(update(Message).where(Message.state == "sent")
                           .values(next_check_at=utcnow()))
        db.session.commit()
        poll_statuses()
        record_balance()


def expected_figures() -> dict[str, object]:
    """The summary the plan implies (cancelled and opted-out messages are never sent)."""
    sent_plans = [plan for number, plan in {**SHOP, **BANK, **CAMPAIGN}.items()
                  if number not in (CANCELLED, OPTED_OUT)]
    accepted = [plan for plan in sent_plans if plan.accepted]
    final = [plan for plan in accepted if plan.status]
    delivered = [plan for plan in final if plan.status == 1]
    return {
        "messages": len(SHOP) + len(BANK) + len(CAMPAIGN),
        "sent": len(accepted),
        "delivered": len(delivered),
        "rate": len(delivered) / len(final),
        "failed": len(final) - len(delivered) + sum(1 for p in sent_plans if p.code),
        "unknown": sum(1 for plan in sent_plans if plan.garbage),
        "spend": Decimal(sum(plan.credits for plan in accepted)) / 100,
    }


class FigureReader(HTMLParser):
    """Collects ``data-figure`` values and the cells of every ``data-table``."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._figure: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-figure" in attrs:
            self.figures[attrs["data-figure"]] = attrs.get("data-value", "")
        if tag == "table" and "data-table" in attrs:
            self._table = attrs["data-table"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None


def read_page(web, url: str) -> FigureReader:
    reply = web.get(url)
    assert reply.status_code == 200, reply.data[:500]
    reader = FigureReader()
    reader.feed(reply.get_data(as_text=True))
    return reader


def rows_by_name(table: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in table[1:]}


def test_every_figure_on_the_page_matches_the_gateways_answers(app, logged_in, users):
    send_everything(app, users)
    page = read_page(logged_in, "/reports?range=today")
    expected = expected_figures()
    assert {key: page.figures[key] for key in ("messages", "sent", "delivered", "failed",
                                              "unknown")} == {
        key: str(expected[key]) for key in ("messages", "sent", "delivered", "failed",
                                            "unknown")}
    assert float(page.figures["rate"]) == pytest.approx(expected["rate"])
    assert Decimal(page.figures["spend"]) == expected["spend"]
    assert expected == {"messages": 16, "sent": 12, "delivered": 6, "rate": 0.6,
                        "failed": 5, "unknown": 1, "spend": Decimal("0.65")}

    outcomes = rows_by_name(page.tables["outcomes"])["Total"]
    # Messages, Delivered, Sent no final status, Failed, Unknown, Canceled/skipped, Not sent yet
    assert outcomes == ["16", "6", "2", "5", "1", "2", "0"]
    causes = rows_by_name(page.tables["causes"])
    assert {name: cells[0] for name, cells in causes.items()} == {
        "Failed (gateway status 3)": "2", "Expired (gateway status 5)": "1",
        "Rejected (gateway status 6)": "1", "Refused at send: SMS sending failed (2904)": "1",
        "Total": "5"}
    spend = rows_by_name(page.tables["spend"])["Total"]
    assert spend == ["12", "65", "₾0.65"]
    balance = rows_by_name(page.tables["balance"])
    assert list(balance.values())[-1] == ["₾99.35"]


def test_breakdowns_split_the_same_messages(app, logged_in, users):
    send_everything(app, users)
    senders = rows_by_name(read_page(logged_in, "/reports?range=today&by=sender")
                           .tables["senders"])
    # Messages, Sent, Delivered, Rate, Failed, Unknown, Spend
    assert senders["Shop"] == ["10", "9", "5", "71.4%", "2", "0", "₾0.50"]
    assert senders["Bank"] == ["6", "3", "1", "33.3%", "3", "1", "₾0.15"]
    operators = rows_by_name(read_page(logged_in, "/reports?range=today&by=operator")
                             .tables["operators"])
    assert operators["admin"] == ["7", "7", "3", "60.0%", "2", "0", "₾0.40"]
    assert operators["olga"] == ["9", "5", "3", "60.0%", "3", "1", "₾0.25"]
    campaigns = rows_by_name(read_page(logged_in, "/reports?range=today&by=campaign")
                             .tables["campaigns"])
    assert campaigns["Spring sale"] == ["3", "2", "2", "100.0%", "0", "0", "₾0.10"]
    assert campaigns["Single messages"][0] == "13"


def test_filters_count_only_what_they_name(app, logged_in, users):
    from smsco.web.extensions import db
    from smsco.web.models import Campaign

    send_everything(app, users)
    with app.app_context():
        campaign_id = db.session.scalar(select(Campaign.id))
    by_campaign = read_page(logged_in, f"/reports?range=today&campaign={campaign_id}")
    assert by_campaign.figures["messages"] == "3"
    single = read_page(logged_in, "/reports?range=today&kind=single&sender=Bank")
    assert (single.figures["messages"], single.figures["failed"]) == ("6", "3")
    olga = read_page(logged_in, f"/reports?range=today&operator={users['olga']}")
    assert olga.figures["sent"] == "5"
    nothing = read_page(logged_in, "/reports?range=last_month")
    assert nothing.figures["messages"] == "0" and nothing.figures["rate"] == ""


def test_figures_agree_with_history_and_survive_folding(app, logged_in, users):
    from smsco.web.extensions import db
    from smsco.web.models import Message
    from smsco.web.sending.tallies import fold_pending_tallies

    send_everything(app, users)
    before = read_page(logged_in, "/reports?range=7d")
    with app.app_context():
        states = dict(db.session.execute(
            select(Message.state, func.count()).group_by(Message.state)).all())
        assert fold_pending_tallies() > 0
    after = read_page(logged_in, "/reports?range=7d")
    assert after.figures == before.figures
    assert after.tables == before.tables
    assert int(after.figures["messages"]) == sum(states.values())
    assert int(after.figures["failed"]) == states["failed"]
    assert int(after.figures["unknown"]) == states["unknown"]


def test_every_table_exports_as_csv(app, logged_in, users):
    send_everything(app, users)
    for name in ("outcomes", "rate", "spend", "balance", "causes", "senders", "operators",
                 "campaigns"):
        reply = logged_in.get(f"/reports/{name}.csv?range=today")
        assert reply.status_code == 200, name
        assert reply.mimetype == "text/csv"
        assert "attachment" in reply.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(reply.get_data(as_text=True))))
        assert len(rows) >= 2, name
    rate = list(csv.reader(io.StringIO(logged_in.get("/reports/rate.csv?range=today")
                                       .get_data(as_text=True))))
    assert rate[0] == ["Period", "First day", "Last day", "Sent", "Sent with a final status",
                       "Delivered", "Delivery rate"]
    assert rate[-1][0] == "Total" and rate[-1][3:] == ["12", "10", "6", "60.0"]
    spend = list(csv.reader(io.StringIO(logged_in.get("/reports/spend.csv?range=today")
                                        .get_data(as_text=True))))
    assert spend[-1][-1] == "0.65"
    assert logged_in.get("/reports/nothing.csv").status_code == 404


def test_csv_cells_cannot_run_as_formulas(app, logged_in, users):
    from smsco.web.extensions import db
    from smsco.web.models import Campaign

    send_everything(app, users)
    with app.app_context():
        db.session.execute(update(Campaign).values(name="=HYPERLINK(\"x\")"))
        db.session.commit()
    text = logged_in.get("/reports/campaigns.csv?range=today").get_data(as_text=True)
    assert "'=HYPERLINK" in text


@pytest.mark.parametrize("query", [
    "range=bogus", "range=custom&from=yesterday&to=2030-01-01", "range=custom&from=2030-02-01",
    "range=custom&from=2030-02-01&to=2030-01-01", "range=custom&from=1999-12-31&to=2000-01-02",
    "range=custom&from=2000-01-01&to=2029-01-01", "range=custom&from=2026-01-01&to=2100-01-01",
    "group=year", "sender=<script>alert(1)</script>", "sender=abcdefghijkl", "operator=abc",
    "operator=-1", "campaign=99999999999999999999", "campaign=²", "kind=other", "by=nothing",
    "sort=drop+table", "dir=sideways",
])
def test_bad_filters_are_explained_never_a_server_error(logged_in, query):
    reply = logged_in.get(f"/reports?{query}")
    assert reply.status_code == 200
    page = reply.get_data(as_text=True)
    assert "<script>alert" not in page
    assert logged_in.get(f"/reports/outcomes.csv?{query}").status_code == 200


def test_a_bad_date_is_named_beside_its_field(logged_in):
    page = logged_in.get("/reports?range=custom&from=2030-13-40&to=2030-01-01").get_data(
        as_text=True)
    assert 'id="report-from-error"' in page and "Enter a date like 2030-03-01." in page
    assert "Last 30 days" in page  # the page falls back to the default period


def test_too_many_days_for_day_bars_are_grouped_coarser(logged_in):
    page = logged_in.get("/reports?range=custom&from=2029-01-01&to=2029-12-31&group=day"
                         ).get_data(as_text=True)
    assert "grouped by week instead" in page


def test_reports_page_is_in_the_navigation(logged_in):
    page = logged_in.get("/").get_data(as_text=True)
    assert 'href="/reports"' in page
    assert re.search(r'<svg class="chart[^"]*" id="chart-recent"', page)


def test_campaign_page_shows_its_outcomes_and_failure_causes(app, logged_in, users):
    from smsco.web.extensions import db
    from smsco.web.models import Campaign

    send_everything(app, users)
    with app.app_context():
        campaign_id = db.session.scalar(select(Campaign.id))
    page = logged_in.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert 'id="chart-campaign-outcomes"' in page and 'id="chart-campaign-causes"' in page
    link = re.search(r'href="(/reports\?[^"]+)">Day by day in Reports', page).group(1)
    assert f"campaign={campaign_id}" in link and "range=custom" in link
    day_by_day = read_page(logged_in, link.replace("&amp;", "&"))
    assert day_by_day.figures["messages"] == "3"
    reader = FigureReader()
    reader.feed(page)
    outcomes = rows_by_name(reader.tables["campaign-outcomes"])
    assert outcomes["Delivered"] == ["2", "66.7%"]
    assert outcomes["Canceled or skipped"] == ["1", "33.3%"]


# -- periods --------------------------------------------------------------------------


def test_periods_cover_the_range_with_partial_ends(app):
    from smsco.web.reports.services import choose_grouping, make_periods

    with app.test_request_context():
        weeks = make_periods(date(2030, 3, 5), date(2030, 3, 20), "week")  # Tue 5 … Tue 19
        assert [(p.start, p.end) for p in weeks] == [
            (date(2030, 3, 5), date(2030, 3, 11)), (date(2030, 3, 11), date(2030, 3, 18)),
            (date(2030, 3, 18), date(2030, 3, 20))]
        months = make_periods(date(2029, 12, 15), date(2030, 2, 2), "month")
        assert [p.start for p in months] == [date(2029, 12, 15), date(2030, 1, 1),
                                             date(2030, 2, 1)]
        assert choose_grouping(date(2030, 1, 1), date(2030, 2, 1), None) == ("day", None)
        assert choose_grouping(date(2030, 1, 1), date(2030, 5, 1), None)[0] == "week"
        assert choose_grouping(date(2029, 1, 1), date(2030, 1, 1), None)[0] == "month"
        assert choose_grouping(date(2010, 1, 1), date(2015, 1, 1), "day")[0] == "month"


def test_a_day_is_the_local_day(app, logged_in, users):
    """A message created at 22:00 UTC belongs to the next day in Tbilisi (UTC+4)."""
    from smsco.web.extensions import db
    from smsco.web.models import Message

    with app.app_context():
        db.session.add(Message(recipient="995599000001", body="x", state="delivered",
                               created_at=datetime(2030, 3, 1, 22)))
        db.session.commit()
    march_2 = read_page(logged_in, "/reports?range=custom&from=2030-03-02&to=2030-03-02")
    march_1 = read_page(logged_in, "/reports?range=custom&from=2030-03-01&to=2030-03-01")
    assert (march_1.figures["messages"], march_2.figures["messages"]) == ("0", "1")


def test_week_labels_name_their_first_day(app):
    from smsco.web.reports.services import make_periods

    with app.test_request_context(headers={"Accept-Language": "en"}):
        labels = [p.label for p in make_periods(date(2030, 3, 4), date(2030, 3, 18), "week")]
    assert labels == ["Week of Mar 4", "Week of Mar 11"]


def test_last_days_end_today(app):
    from smsco.web.reports.services import last_days

    with app.test_request_context():
        days = last_days(date(2030, 3, 31), 30)
    assert (days[0].start, days[-1].last, len(days)) == (
        date(2030, 3, 2), date(2030, 3, 31), 30)
    assert days[-1].end == date(2030, 3, 31) + timedelta(days=1)


@pytest.mark.parametrize("language", ["en", "ka", "ru"])
def test_numbers_and_percentages_are_written_as_babel_writes_them(app, language):
    from babel.numbers import format_decimal, format_percent

    from smsco.web.ui.formatting import number, percent

    with app.test_request_context(headers={"Accept-Language": language}):
        for value in (0, 7, 999, 1000, 1234, -1234, 1234567, 10**12):
            assert number(value) == format_decimal(value, locale=language)
        assert number(1234.5) == format_decimal(1234.5, locale=language)
        assert percent(0.5, 0) == format_percent(0.5, locale=language)
        assert percent(0.9345).replace(",", ".").replace("\xa0", "") == "93.4%"
        assert percent(None) == number(None) == "—"
