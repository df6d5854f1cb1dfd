"""Bulk campaigns: creating their messages, progress, pause, resume, cancel, resend failed.

A campaign's messages are ordinary outbox rows (``campaign_id`` set, lower
priority than single messages, quiet hours honoured by the dispatcher), so
everything the dispatcher promises holds for them too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from smsco import text

from ..contacts.services import opted_out_among
from ..extensions import db
from ..models import (
    Campaign,
    Message,
    MessageEvent,
    Priority,
    ScheduleMode,
    State,
    User,
    audit,
    utcnow,
)
from ..sending.outbox import OutboxError
from ..sending.quiet_hours import quiet_until
from ..ui.formatting import local_zone

CHUNK = 5000
PLACEHOLDER = re.compile(r"\{\s*([A-Za-z0-9_]+)\s*\}")
_PLACEHOLDER_WITH_SPACE = re.compile(r"( ?)\{\s*([A-Za-z0-9_]+)\s*\}")
# Stored in English, shown translated (ui.labels.stored_text).
OPTED_OUT = "Opted out of marketing messages"


@dataclass(frozen=True)
class CampaignRecipient:
    """One recipient: a normalized number and the fields its placeholders draw on."""

    phone: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CampaignSpec:
    """What the bulk form asked for."""

    name: str
    body: str
    sender: str | None = None
    marketing: bool = True
    quiet_hours: bool = True
    mode: str = ScheduleMode.NOW
    send_at: datetime | None = None  # naive UTC
    footer: str = ""  # appended to each message (opt-out text for marketing)
    api_key_id: int | None = None  # created through this API key (its webhook hears of it)


def placeholders(body: str) -> list[str]:
    """The placeholder names a text uses, lower-cased, in order of first use."""
    names: list[str] = []
    for name in PLACEHOLDER.findall(body):
        if name.lower() not in names:
            names.append(name.lower())
    return names


def render(body: str, fields: dict[str, str], footer: str = "") -> str:
    """The text one recipient gets: placeholders filled, made gateway-safe, footer added.

    Field values are transliterated when they need it (a Georgian name in a
    Latin message); a missing field leaves nothing behind.
    """
    lowered = {key.lower(): value for key, value in fields.items()}

    def fill(match: re.Match) -> str:
        space, name = match.group(1), match.group(2)
        value = str(lowered.get(name.lower(), "") or "")
        value = (text.transliterate(value, capitalize="words") if text.invalid_characters(value)
                 else value)
        return space + value if value else ""  # an empty field takes its space with it

    rendered = _PLACEHOLDER_WITH_SPACE.sub(fill, body)
    if rendered.startswith(" ") and not body.startswith(" "):  # "{name} hi" without a name
        rendered = rendered.lstrip(" ")
    return f"{rendered} {footer}".strip() if footer else rendered


def find_campaign(key: str) -> Campaign | None:
    """The campaign made by a form with this idempotency key, if any."""
    return db.session.scalar(select(Campaign).where(Campaign.idempotency_key == key))


def create_campaign(spec: CampaignSpec, recipients: Iterable[CampaignRecipient],
                    user: User | None, key: str, invalid_count: int = 0,
                    duplicate_count: int = 0, recipient_count: int | None = None) -> Campaign:
    """Create the campaign and one message row per recipient, in chunked transactions.

    Submitting the same form twice (same ``key``) returns the first campaign.
    Opted-out numbers get a ``skipped`` row with the reason when marketing.
    """
    existing = find_campaign(key)
    if existing is not None:
        return existing
    campaign = Campaign(name=spec.name, body=spec.body, sender=spec.sender,
                        marketing=spec.marketing, quiet_hours=spec.marketing and spec.quiet_hours,
                        schedule_mode=spec.mode, send_at=spec.send_at, idempotency_key=key,
                        invalid_count=invalid_count, duplicate_count=duplicate_count,
                        recipient_count=recipient_count or 0, api_key_id=spec.api_key_id,
                        created_by_id=user.id if user else None)
    db.session.add(campaign)
    try:
        db.session.commit()
    except IntegrityError:  # the same form submitted twice at once
        db.session.rollback()
        return find_campaign(key)
    total = _insert_messages(campaign, spec, recipients, user)
    campaign.recipient_count = total
    audit(user, "campaign", None, f"campaign #{campaign.id} {spec.name!r}: {total} recipients")
    db.session.commit()
    return campaign


def quiet_wait(moment: datetime | None = None) -> datetime | None:
    """When the quiet hours around ``moment`` (naive UTC, default now) end; None outside them."""
    return quiet_until(current_app.config.get("SMSCO_QUIET_RULE"), moment or utcnow(),
                       local_zone())


def _outside_quiet_hours(campaign: Campaign, moment: datetime | None) -> datetime | None:
    """A gateway-scheduled time moved to the end of quiet hours if it falls in them.

    The gateway sends at that time on its own, so the dispatcher cannot hold it.
    """
    if moment is None or not campaign.quiet_hours:
        return moment
    return quiet_wait(moment) or moment


def _insert_messages(campaign: Campaign, spec: CampaignSpec,
                     recipients: Iterable[CampaignRecipient], user: User | None) -> int:
    now = utcnow()
    held = spec.mode == ScheduleMode.HELD and spec.send_at
    base = {"campaign_id": campaign.id, "sender": spec.sender, "priority": Priority.CAMPAIGN,
            "quiet_hours": campaign.quiet_hours, "schedule_mode": spec.mode,
            "send_at": spec.send_at if held else now,
            "gateway_schedule": _outside_quiet_hours(campaign, spec.send_at)
            if spec.mode == ScheduleMode.GATEWAY else None,
            "created_at": now, "updated_at": now, "api_key_id": spec.api_key_id,
            "created_by_id": user.id if user else None}
    total = 0
    for chunk in _chunks(recipients, CHUNK):
        opted_out = opted_out_among({r.phone for r in chunk}) if spec.marketing else set()
        rows = []
        for recipient in chunk:
            skipped = recipient.phone in opted_out
            rows.append({**base, "recipient": recipient.phone,
                         "body": render(spec.body, recipient.fields, spec.footer),
                         "state": State.SKIPPED if skipped else State.QUEUED,
                         "error_text": OPTED_OUT if skipped else None})
        db.session.execute(insert(Message.__table__), rows)  # Core: no ORM work per row
        db.session.commit()
        total += len(rows)
    return total


def _chunks(items: Iterable[CampaignRecipient], size: int) -> Iterator[list[CampaignRecipient]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# -- progress --------------------------------------------------------------------


@dataclass
class Progress:
    """Counts by state and what they add up to."""

    counts: dict[str, int]
    credits: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        """Messages whose fate is settled here (no longer waiting to be sent)."""
        waiting = (State.QUEUED, State.PAUSED, State.SENDING)
        return self.total - sum(self.counts.get(s, 0) for s in waiting)

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.done / self.total)

    @property
    def delivery_rate(self) -> float | None:
        """Delivered as a share of messages the gateway reached a verdict on."""
        decided = sum(self.counts.get(s, 0) for s in (State.DELIVERED, State.FAILED))
        return None if not decided else self.counts.get(State.DELIVERED, 0) / decided


def campaign_progress(campaign_id: int) -> Progress:
    """Counts by state and credits spent, in one grouped query."""
    rows = db.session.execute(
        select(Message.state, func.count(), func.coalesce(func.sum(Message.credits), 0))
        .where(Message.campaign_id == campaign_id).group_by(Message.state)).all()
    return Progress({state: count for state, count, _ in rows},
                    int(sum(credits for *_, credits in rows)))


# -- actions ---------------------------------------------------------------------


def _move(campaign: Campaign, from_states: tuple[str, ...], to_state: str) -> int:
    return db.session.execute(
        update(Message).where(Message.campaign_id == campaign.id,
                              Message.state.in_(from_states))
        .values(state=to_state, updated_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount or 0


def pause_campaign(campaign: Campaign, user: User | None) -> int:
    """Hold the campaign's queued messages; nothing already sent is touched."""
    if campaign.canceled:
        raise OutboxError(_("This campaign was cancelled."))
    campaign.paused = True
    moved = _move(campaign, (State.QUEUED,), State.PAUSED)
    audit(user, "campaign_pause", None, f"campaign #{campaign.id}: {moved} held")
    db.session.commit()
    return moved


def resume_campaign(campaign: Campaign, user: User | None) -> int:
    """Queue the paused messages again."""
    if campaign.canceled:
        raise OutboxError(_("This campaign was cancelled."))
    campaign.paused = False
    moved = _move(campaign, (State.PAUSED,), State.QUEUED)
    audit(user, "campaign_resume", None, f"campaign #{campaign.id}: {moved} queued again")
    db.session.commit()
    return moved


def cancel_campaign(campaign: Campaign, user: User | None) -> int:
    """Cancel every message not yet handed to the gateway (each gets a timeline entry,
    which tells an API key's webhook too)."""
    campaign.canceled, campaign.paused = True, False
    now = utcnow()
    ids = db.session.scalars(
        update(Message).where(Message.campaign_id == campaign.id,
                              Message.state.in_((State.QUEUED, State.PAUSED)))
        .values(state=State.CANCELED, updated_at=now).returning(Message.id)
        .execution_options(synchronize_session=False)).all()
    detail = f"Cancelled with campaign #{campaign.id} by {user.username if user else 'the system'}"
    for chunk in _chunks(iter(ids), CHUNK):
        db.session.execute(insert(MessageEvent.__table__), [
            {"message_id": message_id, "at": now, "state": State.CANCELED, "detail": detail}
            for message_id in chunk])
    moved = len(ids)
    audit(user, "campaign_cancel", None, f"campaign #{campaign.id}: {moved} cancelled")
    db.session.commit()
    return moved


def _failed_not_resent(campaign_id: int):
    resent = aliased(Message)
    return (select(Message.id, Message.recipient, Message.body)
            .outerjoin(resent, resent.resend_of_id == Message.id)
            .where(Message.campaign_id == campaign_id, Message.state == State.FAILED,
                   resent.id.is_(None)))


def resendable_count(campaign_id: int) -> int:
    """How many failed messages "Resend failed" would queue again."""
    return db.session.scalar(select(func.count()).select_from(
        _failed_not_resent(campaign_id).subquery())) or 0


def resend_failed(campaign: Campaign, user: User | None) -> int:
    """One new message per failed recipient not resent before, linked to the original."""
    failed = db.session.execute(_failed_not_resent(campaign.id)).all()
    if not failed:
        return 0
    now = utcnow()
    rows = [{"campaign_id": campaign.id, "recipient": recipient, "body": body,
             "sender": campaign.sender, "state": State.QUEUED, "priority": Priority.CAMPAIGN,
             "quiet_hours": campaign.quiet_hours, "send_at": now, "created_at": now,
             "updated_at": now, "resend_of_id": original,
             "created_by_id": user.id if user else None}
            for original, recipient, body in failed]
    try:
        db.session.execute(insert(Message.__table__), rows)
    except IntegrityError:  # another operator resent them a moment ago
        db.session.rollback()
        raise OutboxError(_("These messages were resent a moment ago.")) from None
    audit(user, "campaign_resend", None, f"campaign #{campaign.id}: {len(rows)} resent")
    db.session.commit()
    return len(rows)

