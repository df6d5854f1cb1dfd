"""What a campaign offers follows its state, and the campaign list says what each is doing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from smsco.web.extensions import db
from smsco.web.models import Campaign, Message, ScheduleMode, State, utcnow
from smsco.web.sending.quiet_hours import parse_quiet_hours

from .test_bulk import form


@pytest.fixture(autouse=True)
def setup(app):
    app.config["SMSCO_QUIET_RULE"] = None


def make(app, logged_in, kind="marketing", **changes) -> int:
    response = logged_in.post("/bulk", data=form(pasted="599445448, 555123456", action="send",
                                                 kind=kind, **changes))
    assert response.status_code == 302
    with app.app_context():
        return db.session.scalar(select(Campaign.id).order_by(Campaign.id.desc()))


def set_states(app, campaign_id, *states) -> None:
    with app.app_context():
        ids = db.session.scalars(select(Message.id).where(Message.campaign_id == campaign_id)
                                 .order_by(Message.id)).all()
        for message_id, state in zip(ids, states, strict=True):
            db.session.execute(update(Message).where(Message.id == message_id)
                               .values(state=state))
        db.session.commit()


def offered(html: str) -> set[str]:
    """The campaign actions a page shows (hidden ones are not offered)."""
    slots = re.findall(r'<span class="action-slot" data-action="(\w+)"( hidden)?>', html)
    return {name for name, hidden in slots if not hidden}


def test_a_running_campaign_offers_pause_and_cancel(app, logged_in):
    campaign_id = make(app, logged_in)
    html = logged_in.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert offered(html) == {"pause", "cancel"}
    assert 'data-action="resend" hidden' in html  # may come while it runs
    logged_in.post(f"/campaigns/{campaign_id}/pause")
    html = logged_in.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert offered(html) == {"resume", "cancel"}
    data = logged_in.get(f"/campaigns/{campaign_id}/progress").get_json()
    assert data["actions"] == {"pause": False, "resume": True, "cancel": True, "resend": False}


def test_a_finished_campaign_offers_no_pause_cancel_or_empty_resend(app, logged_in):
    campaign_id = make(app, logged_in)
    set_states(app, campaign_id, State.DELIVERED, State.DELIVERED)
    html = logged_in.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert offered(html) == set() and "data-action=" not in html
    assert ">Pause<" not in html and ">Cancel<" not in html and "Resend failed" not in html
    assert "Export CSV" in html and "Export Excel" in html


def test_resend_failed_only_while_some_are_left_to_resend(app, logged_in):
    campaign_id = make(app, logged_in)
    set_states(app, campaign_id, State.DELIVERED, State.FAILED)
    html = logged_in.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert offered(html) == {"resend"}
    reply = logged_in.post(f"/campaigns/{campaign_id}/resend-failed", follow_redirects=True)
    assert "1 failed message queued again." in reply.get_data(as_text=True)
    set_states(app, campaign_id, State.DELIVERED, State.FAILED, State.DELIVERED)
    html = logged_in.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert offered(html) == set()


def test_a_cancelled_campaign_offers_nothing_but_exports(app, logged_in):
    campaign_id = make(app, logged_in)
    logged_in.post(f"/campaigns/{campaign_id}/cancel", data={"confirmed": "1"})
    html = logged_in.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert offered(html) == set()


def statuses(logged_in) -> dict[str, str]:
    html = logged_in.get("/campaigns").get_data(as_text=True)
    return dict(re.findall(r'data-campaign-status="(\w+)">([^<]+)<', html))


def test_the_list_says_waiting_until_quiet_hours_end(app, logged_in):
    make(app, logged_in)
    assert statuses(logged_in) == {"sent": "Sending"}
    app.config["SMSCO_QUIET_RULE"] = parse_quiet_hours("00:00-23:59,00:00-23:59")
    status = statuses(logged_in)
    assert list(status) == ["waiting"]
    assert re.fullmatch(r"Waiting until (\d{4}-\d{2}-\d{2} )?23:59", status["waiting"])
    assert "Sending" not in logged_in.get("/campaigns").get_data(as_text=True)


def test_a_transactional_campaign_never_waits(app, logged_in):
    app.config["SMSCO_QUIET_RULE"] = parse_quiet_hours("00:00-23:59,00:00-23:59")
    make(app, logged_in, kind="transactional")
    assert statuses(logged_in) == {"sent": "Sending"}


def test_the_list_says_scheduled_done_paused_and_canceled(app, logged_in):
    campaign_id = make(app, logged_in)
    with app.app_context():
        later = utcnow() + timedelta(days=1)
        db.session.execute(update(Campaign).values(schedule_mode=ScheduleMode.HELD,
                                                   send_at=later))
        db.session.commit()
    assert list(statuses(logged_in)) == ["scheduled"]
    assert statuses(logged_in)["scheduled"].startswith("Scheduled for ")
    set_states(app, campaign_id, State.DELIVERED, State.FAILED)
    assert statuses(logged_in) == {"delivered": "Done"}
    second = make(app, logged_in, key="key-2")
    logged_in.post(f"/campaigns/{second}/pause")
    third = make(app, logged_in, key="key-3")
    logged_in.post(f"/campaigns/{third}/cancel", data={"confirmed": "1"})
    assert statuses(logged_in) == {"delivered": "Done", "paused": "Paused",
                                   "canceled": "Canceled"}


def test_plurals_in_campaign_flashes(app, logged_in):
    response = logged_in.post("/bulk", data=form(pasted="599445448", action="send"),
                              follow_redirects=True)
    assert "created: 1 message queued." in response.get_data(as_text=True)
    with app.app_context():
        campaign_id = db.session.scalar(select(Campaign.id))
    text = logged_in.post(f"/campaigns/{campaign_id}/pause",
                          follow_redirects=True).get_data(as_text=True)
    assert "Campaign paused: 1 message held." in text
