"""Bulk sending: gather recipients from groups, a file and pasted numbers; preview; queue.

Each request reads the sources once (``collect``): the same list feeds the
preview (counts, samples, cost) and ``campaigns.create_campaign``. A number
that appears twice (in any two sources) is sent once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
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
from ..extensions import db
from ..models import Campaign, Contact, User, contact_group_member
from ..ui.formatting import local_iso
from ..ui.header import latest_balance_reading
from ..ui.labels import error_text, gateway_label, state_label
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


def iter_recipients(sources: Sources, tally: Tally) -> Iterator[CampaignRecipient]:
    """Every distinct valid recipient with its fields: groups, then the file, then pasted."""
    seen: set[str] = set()
    if sources.group_ids:
        members = (select(Contact.phone, Contact.fields).join(
            contact_group_member, contact_group_member.c.contact_id == Contact.id)
            .where(contact_group_member.c.group_id.in_(sources.group_ids))
            .order_by(Contact.id))
        for phone, fields in db.session.execute(members).yield_per(CHUNK):
            if phone in seen:
                tally.duplicates += 1  # the same contact in two groups
                continue
            seen.add(phone)
            tally.valid += 1
            yield CampaignRecipient(phone, dict(fields or {}))
    if sources.file is not None:
        for row in parse_file(sources.file, file_columns(sources), tally, seen):
            yield CampaignRecipient(row.phone, row.fields)
    for line, raw in enumerate(split_numbers(sources.pasted), start=1):
        phone = check_number(raw.strip(), line, seen, tally)
        if phone is not None:
            yield CampaignRecipient(phone)


def file_columns(sources: Sources) -> ColumnMap:
    """The file's number column (chosen or guessed); every other column is a field."""
    return ColumnMap.for_sheet(sources.sheet or inspect(sources.file), sources.phone_column)


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
    recipients = iter(collected.recipients)
    while chunk := list(islice(recipients, CHUNK)):
        opted = campaigns.opted_out_among({r.phone for r in chunk}) if marketing else set()
        result.opted_out += len(opted)
        for recipient in chunk:
            if recipient.phone in opted:
                continue
            rendered = campaigns.render(body, recipient.fields, footer)
            result.parts += text.segments(rendered)
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


def results_csv(campaign_id: int, batch: int = 5000) -> Iterator[str]:
    """The campaign's messages as CSV, in keyset batches, formula-safe."""
    import csv
    import io

    from ..models import Message
    from ..ui.exports import lari_cell, neutralize

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(neutralize(name) for name in (
        _("ID"), _("Recipient"), _("Status"), _("Gateway status"), _("Sent at"), _("Cost, ₾"),
        _("Error"), _("Message")))
    yield buffer.getvalue()
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
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([neutralize(v) for v in (
            r.id, r.recipient, state_label(r.state), gateway_label(r.gateway_status),
            local_iso(r.sent_at), lari_cell(r.credits), error_text(r.error_code, r.error_text),
            r.body)] for r in rows)
        yield buffer.getvalue()
        after = rows[-1].id
