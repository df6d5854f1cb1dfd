"""The compose page: validation beside each field, one row per recipient, nothing sent inline."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from smsco.web.extensions import db
from smsco.web.models import Message, ScheduleMode, State

TBILISI = ZoneInfo("Asia/Tbilisi")


def rows(app):
    with app.app_context():
        return db.session.scalars(db.select(Message).order_by(Message.id)).all()


def post(web, **fields):
    data = {"recipients": "599 44 54 48", "message": "Hello", "sender": "", "send_at": "",
            "schedule_mode": ScheduleMode.HELD}
    data.update(fields)
    return web.post("/compose", data=data)


def test_compose_page_has_the_labelled_fields(logged_in):
    page = logged_in.get("/compose").get_data(as_text=True)
    for label, field in [("Recipients", "recipients"), ("Message", "message"),
                         ("Sender ID", "sender"), ("Send at", "send_at")]:
        assert f'<label for="{field}">{label}</label>' in page
    assert ">Send</button>" in page
    assert "cannot be cancelled" in page


def test_compose_queues_one_row_per_recipient_and_sends_nothing_inline(app, logged_in, gateway):
    reply = post(logged_in, recipients="599445448, +995 555 12 34 56\n599 44 54 48")
    assert reply.status_code == 302
    assert reply.headers["Location"].endswith("/history")
    messages = rows(app)
    assert [m.recipient for m in messages] == ["995599445448", "995555123456"]
    assert {m.state for m in messages} == {State.QUEUED}
    assert all(m.created_by_id is not None for m in messages)
    assert gateway.simulator.requests == []


def test_one_recipient_redirects_to_its_message_page(app, logged_in):
    reply = post(logged_in)
    [message] = rows(app)
    assert reply.headers["Location"].endswith(f"/messages/{message.id}")


@pytest.mark.parametrize(("fields", "text"), [
    ({"recipients": "599445448, 12345, hello"}, "Not valid phone numbers: 12345, hello"),
    ({"recipients": ""}, "Enter at least one phone number."),
    ({"message": "Hi, there!"}, "&#39;,&#39; at position 3"),
    ({"message": ""}, "Write the message."),
    ({"sender": "Far-too-long-sender"}, "1 to 11 Latin letters or digits"),
    ({"send_at": "2020-01-01T10:00"}, "This time has already passed"),
])
def test_bad_input_is_explained_beside_its_field_and_nothing_is_saved(app, logged_in, fields,
                                                                     text):
    reply = post(logged_in, **fields)
    assert reply.status_code == 200
    page = reply.get_data(as_text=True)
    assert text in page
    assert 'class="field-error"' in page
    assert rows(app) == []


def test_entered_values_survive_a_validation_error(logged_in):
    page = post(logged_in, recipients="599445448, 12", message="Keep me").get_data(as_text=True)
    assert "599445448, 12" in page and "Keep me" in page


def test_held_schedule_is_stored_in_utc(app, logged_in):
    local = (datetime.now(TBILISI) + timedelta(days=1)).replace(second=0, microsecond=0)
    post(logged_in, send_at=local.strftime("%Y-%m-%dT%H:%M"), schedule_mode=ScheduleMode.HELD)
    [message] = rows(app)
    assert message.schedule_mode == ScheduleMode.HELD
    assert message.send_at == (local - timedelta(hours=4)).replace(tzinfo=None)
    assert message.gateway_schedule is None


def test_gateway_schedule_goes_now_with_the_time(app, logged_in):
    local = (datetime.now(TBILISI) + timedelta(days=1)).replace(second=0, microsecond=0)
    post(logged_in, send_at=local.strftime("%Y-%m-%dT%H:%M"), schedule_mode=ScheduleMode.GATEWAY)
    [message] = rows(app)
    assert message.schedule_mode == ScheduleMode.GATEWAY
    assert message.gateway_schedule == (local - timedelta(hours=4)).replace(tzinfo=None)
    assert message.send_at <= datetime.now(TBILISI).replace(tzinfo=None)


def test_sender_choice_list_when_several_are_configured(app, logged_in):
    app.config.update(SMSCO_SENDERS=["Shop", "Alerts"], SMSCO_SENDER="Shop")
    page = logged_in.get("/compose").get_data(as_text=True)
    assert '<select id="sender" name="sender">' in page
    assert "Choose one of the agreed sender IDs" in post(logged_in, sender="Other").get_data(
        as_text=True)
    post(logged_in, sender="Alerts")
    assert rows(app)[0].sender == "Alerts"


def test_default_sender_is_prefilled(app, logged_in):
    app.config["SMSCO_SENDER"] = "MyBrand"
    assert 'value="MyBrand"' in logged_in.get("/compose").get_data(as_text=True)


def test_compose_requires_login(web, users):
    reply = web.get("/compose")
    assert reply.status_code == 302 and "/login" in reply.headers["Location"]


def held(app, logged_in, minutes=60):
    local = (datetime.now(TBILISI) + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    post(logged_in, send_at=local.strftime("%Y-%m-%dT%H:%M"))
    return rows(app)[0]


def test_a_held_message_can_be_edited_until_it_is_sent(app, logged_in):
    message = held(app, logged_in)
    page = logged_in.get(f"/messages/{message.id}/edit").get_data(as_text=True)
    assert "Edit message" in page and "995599445448" in page
    later = (datetime.now(TBILISI) + timedelta(hours=3)).replace(second=0, microsecond=0)
    reply = logged_in.post(f"/messages/{message.id}/edit", data={
        "recipients": "555 12 34 56", "message": "Changed text", "sender": "",
        "send_at": later.strftime("%Y-%m-%dT%H:%M")})
    assert reply.status_code == 302
    [edited] = rows(app)
    assert (edited.recipient, edited.body) == ("995555123456", "Changed text")
    assert edited.send_at == (later - timedelta(hours=4)).replace(tzinfo=None)
    with app.app_context():
        assert "Edited by admin" in db.session.get(Message, edited.id).events[-1].detail


def test_an_edit_keeps_to_one_number_and_explains_errors(app, logged_in):
    message = held(app, logged_in)
    page = logged_in.post(f"/messages/{message.id}/edit", data={
        "recipients": "555123456, 599445448", "message": "x", "send_at": ""}).get_data(
        as_text=True)
    assert "exactly one number" in page
    assert rows(app)[0].body == "Hello"


def test_a_message_that_left_cannot_be_edited(app, logged_in):
    message = held(app, logged_in)
    with app.app_context():
        db.session.get(Message, message.id).state = State.SENT
        db.session.commit()
    reply = logged_in.post(f"/messages/{message.id}/edit", data={
        "recipients": "599445448", "message": "Too late", "send_at": ""},
        follow_redirects=True)
    assert "can be edited" in reply.get_data(as_text=True)
    assert rows(app)[0].body == "Hello"
