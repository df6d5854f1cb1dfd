"""Limits every sending form keeps: at most SMSCO_MAX_PARTS parts, a send time at most
SMSCO_MAX_SCHEDULE_DAYS ahead; the live counter says the same."""

from __future__ import annotations

import html
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from smsco.web.admin.settings import set_optout_footer
from smsco.web.extensions import db
from smsco.web.models import Campaign, Message, MessageTemplate, ScheduleMode, State

TBILISI = ZoneInfo("Asia/Tbilisi")
FULL = "a" * 1530  # ten parts of 153: the most the default allows
ELEVEN_PARTS = "a" * 1531


@pytest.fixture(autouse=True)
def english(app):
    """The English interface: numbers are written 1,530 (Georgian writes 1 530)."""
    app.config["SMSCO_DEFAULT_LANGUAGE"] = "en"


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def compose(web, **fields):
    data = {"recipients": "599 44 54 48", "message": "Hello", "sender": "", "send_at": "",
            "schedule_mode": ScheduleMode.HELD}
    return web.post("/compose", data={**data, **fields})


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model))


# -- message length ------------------------------------------------------------------------


def test_compose_takes_ten_parts_and_refuses_eleven_saying_the_count(app, logged_in):
    assert compose(logged_in, message=FULL).status_code == 302
    page = compose(logged_in, message=ELEVEN_PARTS)
    assert page.status_code == 200
    assert ("at most 10 SMS parts (1,530 characters); this text has 11." in text_of(page))
    assert count(app, Message) == 1


def test_the_limit_is_configurable(app, logged_in):
    app.config["SMSCO_MAX_PARTS"] = 1
    page = compose(logged_in, message="a" * 161)
    assert "at most 1 SMS part (160 characters); this text has 2." in text_of(page)
    assert compose(logged_in, message="a" * 160).status_code == 302


def test_the_footer_counts_when_the_marketing_box_is_ticked(app, logged_in):
    with app.app_context():
        set_optout_footer("STOP 91234")
    assert compose(logged_in, message=FULL[:-5]).status_code == 302
    page = compose(logged_in, message=FULL[:-5], marketing="y")
    assert "this text has 11." in text_of(page)


def test_the_edit_form_keeps_the_limit(app, logged_in):
    later = (datetime.now(TBILISI) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    compose(logged_in, send_at=later)
    with app.app_context():
        message_id = db.session.scalar(db.select(Message.id))
    page = logged_in.post(f"/messages/{message_id}/edit", data={
        "recipients": "599 44 54 48", "message": ELEVEN_PARTS, "sender": "", "send_at": later,
        "schedule_mode": ScheduleMode.HELD})
    assert "this text has 11." in text_of(page)
    with app.app_context():
        assert db.session.get(Message, message_id).body == "Hello"


def test_templates_keep_the_limit(app, logged_in):
    page = logged_in.post("/templates/new", data={"name": "Long", "message": ELEVEN_PARTS})
    assert "at most 10 SMS parts" in text_of(page)
    assert count(app, MessageTemplate) == 0


@pytest.fixture
def bulk_form(app, tmp_path):
    app.config["SMSCO_UPLOAD_DIR"] = str(tmp_path / "uploads")
    app.config["SMSCO_QUIET_RULE"] = None

    def form(**changes):
        return {"name": "Sale", "message": "Hello {name}", "sender": "", "kind": "transactional",
                "key": "key-1", "action": "send", "pasted": "599445448", **changes}
    return form


def test_bulk_refuses_a_text_over_the_limit(app, logged_in, bulk_form):
    page = logged_in.post("/bulk", data=bulk_form(message=ELEVEN_PARTS))
    assert "this text has 11." in text_of(page)
    assert count(app, Campaign) == 0


def test_bulk_refuses_when_filled_placeholders_make_messages_too_long(app, logged_in,
                                                                     bulk_form):
    people = "Phone,Name\n599 44 54 48," + "n" * 40 + "\n555 12 34 56,Eka\n"
    data = bulk_form(message=FULL[:-20] + " {name}", pasted="",
                     recipients_file=(io.BytesIO(people.encode()), "p.csv"))
    page = logged_in.post("/bulk", data=data, content_type="multipart/form-data")
    assert ("With the contacts' fields filled in, 1 message is longer than 10 SMS parts"
            in text_of(page))
    assert count(app, Campaign) == 0


def test_the_counter_warns_with_the_same_words(logged_in):
    reply = logged_in.post("/text/analyze", json={"text": ELEVEN_PARTS}).get_json()
    assert reply["max_parts"] == 10
    assert "at most 10 SMS parts (1,530 characters); this text has 11." in reply["too_long"]
    assert logged_in.post("/text/analyze", json={"text": FULL}).get_json()["too_long"] is None


# -- how far ahead -------------------------------------------------------------------------


def ahead(days: float) -> str:
    return (datetime.now(TBILISI) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def test_a_send_time_at_most_a_year_ahead(app, logged_in):
    assert compose(logged_in, send_at=ahead(364)).status_code == 302
    page = compose(logged_in, send_at=ahead(366))
    assert page.status_code == 200
    assert 'id="send_at-error"' in page.get_data(as_text=True)
    assert "Pick a time at most 365 days ahead" in text_of(page)


@pytest.mark.parametrize("moment", ["9999-12-31T23:59", "0001-01-01T00:00", "2100-01-01T00:00"])
def test_far_times_are_form_errors_not_500s(logged_in, moment):
    page = compose(logged_in, send_at=moment)
    assert page.status_code == 200
    assert 'id="send_at-error"' in page.get_data(as_text=True)


def test_the_horizon_is_configurable_and_bulk_keeps_it(app, logged_in, bulk_form):
    app.config["SMSCO_MAX_SCHEDULE_DAYS"] = 7
    assert "at most 7 days ahead" in text_of(compose(logged_in, send_at=ahead(8)))
    page = logged_in.post("/bulk", data=bulk_form(send_at=ahead(8)))
    assert "at most 7 days ahead" in text_of(page)
    assert count(app, Campaign) == 0
    logged_in.post("/bulk", data=bulk_form(send_at=ahead(6)))
    with app.app_context():
        assert {m.state for m in db.session.scalars(db.select(Message))} == {State.QUEUED}
