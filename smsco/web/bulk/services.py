"""Bulk sending: gather recipients from groups, a file and pasted numbers; preview; queue.

Each request reads the sources once (``collect``): the same list feeds the
preview (counts, samples, cost) and ``campaigns.create_campaign``. A number
that appears twice (in any two sources) is sent once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from smsco import text
from smsco.phones import split_numbers

from ..contacts.importing import (
    ColumnMap,
    Sheet,
    Tally,
    check_number,
    inspect,
    parse_file,
    save_report,
)
from ..contacts.services import ContactSelection
from ..extensions import db
from ..models import (
    Campaign,
    Contact,
    ScheduleMode,
    State,
    User,
    contact_group_member,
    utcnow,
)
from ..text_analysis.analysis import max_parts
from ..ui.exports import Table, phone_cell
from ..ui.formatting import local_iso, localtime
from ..ui.header import latest_balance_reading
from ..ui.labels import gateway_label
from . import campaigns
from .campaigns import CampaignRecipient, CampaignSpec

SAMPLES = 5
CHUNK = 2000


@dataclass(frozen=True)
class Sources:
    """Where the recipients come from."""

    group_ids: tuple[int, ...] = ()
    file: Path | None = None
    phone_column: int | None = None  # None: guess from the first rows
    pasted: str = ""
    sheet: Sheet | None = None  # the file's first rows, once read
    # The fields the message uses (lower-case); None keeps every field. Keeping only
    # these keeps 200,000 recipients of a 100-column file small in memory.
    wanted: frozenset[str] | None = None

    def keep(self, fields: dict[str, str]) -> dict[str, str]:
        """The fields of one recipient that the message can use."""
        if self.wanted is None:
            return dict(fields)
        return {k: v for k, v in fields.items() if k.lower() in self.wanted}
    contacts: ContactSelection = field(default_factory=ContactSelection)


def iter_recipients(sources: Sources, tally: Tally) -> Iterator[CampaignRecipient]:
    """Every distinct valid recipient with its fields: groups, chosen contacts, then the file,
    then pasted."""
    seen: set[str] = set()
    if sources.group_ids:
        members = (select(Contact.phone, Contact.fields).join(
            contact_group_member, contact_group_member.c.contact_id == Contact.id)
            .where(contact_group_member.c.group_id.in_(sources.group_ids))
            .order_by(Contact.id))
        yield from _contacts_once(members, seen, tally, sources.keep)
    if sources.contacts:
        chosen = sources.contacts.narrow(select(Contact.phone, Contact.fields))
        yield from _contacts_once(chosen.order_by(Contact.id), seen, tally, sources.keep)
    if sources.file is not None:
        for row in parse_file(sources.file, file_columns(sources), tally, seen):
            yield CampaignRecipient(row.phone, row.fields)
    for line, raw in enumerate(split_numbers(sources.pasted), start=1):
        phone = check_number(raw.strip(), line, seen, tally)
        if phone is not None:
            yield CampaignRecipient(phone)


def _contacts_once(statement, seen: set[str], tally: Tally,
                   keep=dict) -> Iterator[CampaignRecipient]:
    """The contacts a query finds, each number once (a contact may be in two groups)."""
    for phone, fields in db.session.execute(statement).yield_per(CHUNK):
        if phone in seen:
            tally.duplicates += 1
            continue
        seen.add(phone)
        tally.valid += 1
        yield CampaignRecipient(phone, keep(fields or {}))


def file_columns(sources: Sources) -> ColumnMap:
    """The file's number column (chosen or guessed); the other columns the message uses
    are fields."""
    columns = ColumnMap.for_sheet(sources.sheet or inspect(sources.file), sources.phone_column)
    if sources.wanted is None:
        return columns
    return replace(columns, fields={index: name for index, name in columns.fields.items()
                                    if name in sources.wanted})


@dataclass
class Collected:
    """The recipients read once per request, shared by the preview and the queueing."""

    recipients: list[CampaignRecipient]
    tally: Tally


def collect(sources: Sources) -> Collected:
    """Read every source once (a 100,000-row file is a few tens of MB as a list)."""
    tally = Tally()
    return Collected(list(iter_recipients(sources, tally)), tally)


@dataclass
class Preview:
    """What "Send to all" would do."""

    valid: int = 0
    invalid: int = 0
    duplicates: int = 0
    opted_out: int = 0
    samples: list[tuple[str, str]] = field(default_factory=list)
    parts: int = 0
    cost: int = 0  # tetri
    balance: Decimal | None = None
    report_token: str | None = None
    too_long: int = 0  # messages over SMSCO_MAX_PARTS once their placeholders are filled
    quiet_start: datetime | None = None  # quiet hours hold a marketing send until then

    @property
    def to_send(self) -> int:
        return self.valid - self.opted_out

    @property
    def affordable(self) -> bool:
        """False when the latest balance reading cannot cover the cost."""
        return self.balance is None or self.balance * 100 >= self.cost


def _latest_balance() -> Decimal | None:
    reading = latest_balance_reading()
    return reading.balance if reading else None


def preview(collected: Collected, body: str, marketing: bool, footer: str = "",
            keep_report: bool = True) -> Preview:
    """Count valid, invalid, duplicate and opted-out recipients; samples, parts and cost."""
    tally, result = collected.tally, Preview(balance=_latest_balance())
    price = current_app.config.get("SMSCO_PRICE_PER_PART", text.PRICE_PER_PART)
    limit = max_parts()
    recipients = iter(collected.recipients)
    while chunk := list(islice(recipients, CHUNK)):
        opted = campaigns.opted_out_among({r.phone for r in chunk}) if marketing else set()
        result.opted_out += len(opted)
        for recipient in chunk:
            if recipient.phone in opted:
                continue
            rendered = campaigns.render(body, recipient.fields, footer)
            parts = text.segments(rendered)
            result.parts += parts
            if parts > limit:
                result.too_long += 1
            if len(result.samples) < SAMPLES:
                result.samples.append((recipient.phone, rendered))
    result.cost = result.parts * price
    result.valid, result.duplicates, result.invalid = (tally.valid, tally.duplicates,
                                                       len(tally.invalid))
    if keep_report:
        result.report_token = save_report(tally.invalid)
    return result


def send(collected: Collected, spec: CampaignSpec, user: User | None, key: str) -> Campaign:
    """Create the campaign (idempotent by ``key``) from the collected recipients."""
    tally = collected.tally
    return campaigns.create_campaign(spec, collected.recipients, user, key,
                                     invalid_count=len(tally.invalid),
                                     duplicate_count=tally.duplicates)


# -- campaign pages ----------------------------------------------------------------


def progress_for(campaign_ids: list[int]) -> dict[int, campaigns.Progress]:
    """Progress of several campaigns in one grouped query (the campaign list)."""
    from sqlalchemy import func

    from ..models import Message

    result = {cid: campaigns.Progress({}, 0) for cid in campaign_ids}
    if not campaign_ids:
        return result
    rows = db.session.execute(
        select(Message.campaign_id, Message.state, func.count(),
               func.coalesce(func.sum(Message.credits), 0))
        .where(Message.campaign_id.in_(campaign_ids))
        .group_by(Message.campaign_id, Message.state)).all()
    for campaign_id, state, count, credits in rows:
        result[campaign_id].counts[state] = count
        result[campaign_id].credits += int(credits)
    return result


@dataclass(frozen=True)
class CampaignStatus:
    """What the campaign list says a campaign is doing: a state style and words."""

    key: str  # a .state-* style: canceled, paused, delivered, scheduled, waiting, sent
    label: str


def campaign_status(campaign: Campaign, progress: campaigns.Progress,
                    now: datetime | None = None) -> CampaignStatus:
    """Canceled, paused, done, scheduled, waiting for quiet hours to end, or sending."""
    now = now or utcnow()
    if campaign.canceled:
        return CampaignStatus("canceled", _("Canceled"))
    if campaign.paused:
        return CampaignStatus("paused", _("Paused"))
    if progress.percent == 100:
        return CampaignStatus("delivered", _("Done"))
    if (campaign.schedule_mode == ScheduleMode.HELD and campaign.send_at
            and campaign.send_at > now):
        return CampaignStatus("scheduled", _("Scheduled for %(time)s",
                                             time=localtime(campaign.send_at, "%Y-%m-%d %H:%M")))
    queued = progress.counts.get(State.QUEUED, 0)
    until = campaigns.quiet_wait(now) if campaign.quiet_hours and queued else None
    if until is not None:
        return CampaignStatus("waiting", _("Waiting until %(time)s", time=start_text(until, now)))
    return CampaignStatus("sent", _("Sending"))


def start_text(moment: datetime, now: datetime | None = None) -> str:
    """A coming local time: "08:00" today, else with its date ("2026-11-28 09:00")."""
    same_day = localtime(moment, "%Y-%m-%d") == localtime(now or utcnow(), "%Y-%m-%d")
    return localtime(moment, "%H:%M" if same_day else "%Y-%m-%d %H:%M")


def quiet_start(marketing: bool, send_at: datetime | None) -> datetime | None:
    """When a marketing campaign starting at ``send_at`` (None: now) really starts, if quiet
    hours hold it back; None when they do not."""
    return campaigns.quiet_wait(send_at) if marketing else None


def campaign_page(before: int | None, page_size: int = 25) -> tuple[list[Campaign], int | None]:
    """Campaigns newest first, a keyset page before ``before``."""
    statement = select(Campaign).order_by(Campaign.id.desc()).limit(page_size + 1)
    if before:
        statement = statement.where(Campaign.id < before)
    rows = list(db.session.scalars(statement))
    more = len(rows) > page_size
    rows = rows[:page_size]
    return rows, rows[-1].id if more and rows else None


def campaign_messages(campaign_id: int, before: int | None, page_size: int = 50):
    """One keyset page of a campaign's messages, newest first (history's ``Page``)."""
    from sqlalchemy.orm import joinedload, lazyload

    from ..history.queries import Page
    from ..models import Message

    statement = (select(Message).options(joinedload(Message.created_by),
                                         lazyload(Message.events))
                 .where(Message.campaign_id == campaign_id))
    if before:
        statement = statement.where(Message.id < before)
    rows = list(db.session.scalars(statement.order_by(Message.id.desc()).limit(page_size + 1)))
    more = len(rows) > page_size
    rows = rows[:page_size]
    return Page(rows, older_than=rows[-1].id if more and rows else None,
                newer_than=None)


RESULT_COLUMNS = ("id", "recipient", "state", "gateway_status", "sent_at", "credits", "error",
                  "message")


def results_table(campaign: Campaign, batch: int = 5000) -> Table:
    """The campaign's messages, in keyset batches."""
    return Table(f"campaign-{campaign.id}", RESULT_COLUMNS, _result_rows(campaign.id, batch))


def _result_rows(campaign_id: int, batch: int) -> Iterator[list[tuple[object, ...]]]:
    from ..models import Message

    after = 0
    while True:
        rows = db.session.execute(
            select(Message.id, Message.recipient, Message.state, Message.gateway_status,
                   Message.sent_at, Message.credits, Message.error_code, Message.error_text,
                   Message.body)
            .where(Message.campaign_id == campaign_id, Message.id > after)
            .order_by(Message.id).limit(batch)).all()
        if not rows:
            return
        yield [(r.id, phone_cell(r.recipient), r.state, gateway_label(r.gateway_status),
                local_iso(r.sent_at), r.credits, r.error_text, r.body) for r in rows]
        after = rows[-1].id
