"""Campaign services with the dispatcher: idempotency, opt-outs, fairness, quiet hours, actions."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from smsco.web.bulk import campaigns
from smsco.web.bulk.campaigns import CampaignRecipient, CampaignSpec
from smsco.web.extensions import db
from smsco.web.models import Campaign, Message, OptOut, Priority, State, User, utcnow
from smsco.web.sending import dispatch
from smsco.web.sending.outbox import NewMessages, OutboxError, create_messages
from smsco.web.sending.quiet_hours import parse_quiet_hours

TBILISI = ZoneInfo("Asia/Tbilisi")


@pytest.fixture
def ctx(app, users):
    app.config["SMSCO_QUIET_RULE"] = None  # tests of quiet hours set their own
    with app.app_context():
        yield app


def people(count, start=0):
    return [CampaignRecipient(f"995599{start + i:06d}", {"Name": f"Guest {i}"})
            for i in range(count)]


def make(count=5, key="k1", **spec):
    spec = {"name": "Winter sale", "body": "Hello {name}. Sale today", **spec}
    return campaigns.create_campaign(CampaignSpec(**spec), people(count),
                                     db.session.get(User, 1), key)


def states(campaign):
    return campaigns.campaign_progress(campaign.id).counts


def test_render_fills_placeholders_and_makes_values_gateway_safe():
    assert campaigns.render("Hi {Name}, {missing}x", {"name": "Nino"}) == "Hi Nino,x"
    assert campaigns.render("Hi {name}", {"name": "ნინო"}) == "Hi Nino"
    assert campaigns.render("Hi", {}, footer="STOP 91234") == "Hi STOP 91234"
    assert campaigns.render("Dear {name} {surname}, hi", {"name": "Nino"}) == "Dear Nino, hi"
    assert campaigns.render("{name} hi", {}) == "hi"
    assert campaigns.render("Hi {name}", {}) == "Hi"
    assert campaigns.placeholders("{Name} {city} {name}") == ["name", "city"]


def test_create_campaign_queues_rendered_messages(ctx):
    campaign = make(3)
    rows = db.session.scalars(db.select(Message).where(Message.campaign_id == campaign.id)
                              .order_by(Message.id)).all()
    assert [r.body for r in rows] == [f"Hello Guest {i}. Sale today" for i in range(3)]
    assert {r.state for r in rows} == {State.QUEUED}
    assert {r.priority for r in rows} == {Priority.CAMPAIGN}
    assert campaign.recipient_count == 3


def test_the_same_form_twice_makes_one_campaign(ctx):
    first = make(3, key="same")
    second = make(3, key="same")
    assert first.id == second.id
    assert db.session.scalar(db.select(db.func.count(Campaign.id))) == 1
    assert sum(states(first).values()) == 3


def test_opted_out_numbers_are_skipped_with_the_reason(ctx, gateway):
    db.session.add(OptOut(phone="995599000001"))
    db.session.commit()
    campaign = make(3)
    skipped = db.session.scalars(db.select(Message).where(Message.state == State.SKIPPED)).all()
    assert [m.recipient for m in skipped] == ["995599000001"]
    assert skipped[0].error_text == campaigns.OPTED_OUT
    dispatch.dispatch_due_messages()
    assert states(campaign) == {State.SENT: 2, State.SKIPPED: 1}
    assert not [r for r in gateway.simulator.requests if r.recipient == "995599000001"]


def test_transactional_campaigns_ignore_opt_outs(ctx):
    db.session.add(OptOut(phone="995599000001"))
    db.session.commit()
    campaign = make(3, marketing=False)
    assert states(campaign) == {State.QUEUED: 3}
    assert campaign.quiet_hours is False


def test_a_big_campaign_never_starves_single_messages(ctx):
    make(200)
    [single] = create_messages(NewMessages(["995555123456"], "Urgent", None),
                               db.session.get(User, 1))
    claimed = dispatch.claim_due_messages("me:1:x", 1)
    assert [c.id for c in claimed] == [single.id]


def test_quiet_hours_hold_marketing_but_not_transactional_or_single(ctx, gateway):
    ctx.config["SMSCO_QUIET_RULE"] = parse_quiet_hours("00:00-23:59,00:00-23:59")
    marketing = make(2, key="m")
    transactional = make(2, key="t", marketing=False)
    create_messages(NewMessages(["995555123456"], "Single", None), db.session.get(User, 1))
    dispatch.dispatch_due_messages()
    assert states(marketing) == {State.QUEUED: 2}
    assert states(transactional) == {State.SENT: 2}
    assert [r.message for r in gateway.simulator.requests].count("Single") == 1
    waiting = db.session.scalars(db.select(Message.send_at).where(
        Message.campaign_id == marketing.id)).all()
    assert all(at > utcnow() for at in waiting)


def test_pause_resume_cancel(ctx, gateway):
    campaign = make(6)
    assert campaigns.pause_campaign(campaign, None) == 6
    assert dispatch.dispatch_due_messages() == 0
    assert states(campaign) == {State.PAUSED: 6}
    assert campaigns.resume_campaign(campaign, None) == 6
    dispatch.dispatch_due_messages(max_messages=2)
    assert campaigns.cancel_campaign(campaign, None) == 4
    assert states(campaign) == {State.SENT: 2, State.CANCELED: 4}
    assert dispatch.dispatch_due_messages() == 0
    with pytest.raises(OutboxError):
        campaigns.resume_campaign(campaign, None)


def test_resend_failed_once_per_failed_recipient(ctx, gateway):
    campaign = make(4)
    gateway.simulator.configure(require_sender=True)  # every send refused: 2914
    dispatch.dispatch_due_messages()
    assert states(campaign) == {State.FAILED: 4}
    gateway.simulator.configure(require_sender=False)
    assert campaigns.resend_failed(campaign, None) == 4
    assert campaigns.resend_failed(campaign, None) == 0  # never a duplicate
    dispatch.dispatch_due_messages()
    progress = campaigns.campaign_progress(campaign.id)
    assert progress.counts == {State.FAILED: 4, State.SENT: 4}
    assert progress.credits == 20


def test_progress_figures(ctx, gateway):
    campaign = make(4)
    dispatch.dispatch_due_messages()
    rows = db.session.scalars(db.select(Message).where(Message.campaign_id == campaign.id)).all()
    rows[0].state, rows[1].state = State.DELIVERED, State.FAILED
    db.session.commit()
    progress = campaigns.campaign_progress(campaign.id)
    assert progress.total == 4 and progress.done == 4 and progress.percent == 100
    assert progress.delivery_rate == 0.5


def test_held_campaign_waits_for_its_time(ctx):
    later = utcnow() + timedelta(hours=1)
    campaign = make(2, mode="held", send_at=later)
    assert dispatch.dispatch_due_messages() == 0
    assert states(campaign) == {State.QUEUED: 2}


def test_local_time_example_for_quiet_window():
    rule = parse_quiet_hours(None)
    friday_night = datetime(2026, 11, 27, 23, 0, tzinfo=TBILISI)
    assert rule.window_end(friday_night).hour == 9


def test_a_gateway_scheduled_marketing_time_in_quiet_hours_moves_to_the_morning(ctx):
    ctx.config["SMSCO_QUIET_RULE"] = parse_quiet_hours(None)
    night = datetime(2030, 1, 8, 23, 30, tzinfo=TBILISI)  # a Tuesday night
    night_utc = night.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    marketing = make(1, key="m", mode="gateway", send_at=night_utc)
    transactional = make(1, key="t", mode="gateway", send_at=night_utc, marketing=False)
    [moved] = db.session.scalars(db.select(Message.gateway_schedule).where(
        Message.campaign_id == marketing.id)).all()
    [kept] = db.session.scalars(db.select(Message.gateway_schedule).where(
        Message.campaign_id == transactional.id)).all()
    assert moved == datetime(2030, 1, 9, 4, 0)  # 08:00 in Tbilisi
    assert kept == night_utc
