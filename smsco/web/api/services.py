"""What the API does, over the dashboard's own services: the outbox, campaigns, history.

A message sent here is a message like any other: its owner is the key's
owner (history, audit log), it honours opt-outs and quiet hours when it is
marketing, and the dispatcher's at-most-once promise holds for it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, lazyload, selectinload

from smsco import DeliveryStatus, text

from ..admin.settings import optout_footer, with_footer
from ..bulk import campaigns
from ..compose import rules
from ..contacts.services import opted_out_among
from ..extensions import db
from ..history import queries
from ..models import (
    ApiIdempotency,
    Campaign,
    ContactGroup,
    Message,
    ScheduleMode,
    State,
    contact_group_member,
    utcnow,
)
from ..sending.outbox import NewMessages, OutboxError, cancel_message, create_messages
from ..sending.quiet_hours import quiet_until
from ..text_analysis.analysis import price_per_part
from ..ui.formatting import local_zone
from . import schemas
from .keys import Caller
from .problems import ApiProblem, FieldError, refusal_errors, validation_problem

OPTED_OUT = campaigns.OPTED_OUT
# The range of days history can hold; dates beyond it are clamped (no overflow).
EARLIEST_DAY, LATEST_DAY = date(1970, 1, 1), date(9000, 1, 1)


def utc(moment: datetime | None) -> datetime | None:
    """A stored naive-UTC time as an aware one, for answers."""
    return moment.replace(tzinfo=UTC) if moment is not None else None


# -- sending -----------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """A request's recipients, text and sender after compose's rules."""

    numbers: list[str]
    body: str
    sender: str | None


def check_request(recipients: list[str] | None, body: str, sender: str | None,
                  transliterate: str | None, placeholders: bool = False) -> Checked:
    """Apply compose's rules to all three (no numbers: a group's, checked when imported);
    one 422 naming every offender, else the values."""
    refusals: list[rules.Refusal] = []
    numbers: list[str] = []
    try:
        numbers = rules.recipients_from_list(recipients) if recipients is not None else []
    except rules.Refused as refused:
        refusals += refused.refusals
    try:
        body = rules.gateway_text(body, transliterate=transliterate, placeholders=placeholders)
    except rules.TextRefused as refused:
        refusals += refused.characters or refused.refusals
    try:
        sender = rules.sender_id(sender)
    except rules.Refused as refused:
        refusals += refused.refusals
    if refusals:
        raise validation_problem(refusal_errors(refusals), "Some recipients or characters are "
                                 "refused; nothing was sent. See errors.")
    return Checked(numbers, body, sender)


def schedule(send_at: datetime | None, mode: str) -> tuple[str, datetime | None]:
    """How and when (naive UTC): a missing or past time is now."""
    if send_at is None:
        return ScheduleMode.NOW, None
    try:
        moment = send_at.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise validation_problem([FieldError("This time is out of range.",
                                             pointer="/send_at")]) from None
    if moment <= utcnow():
        return ScheduleMode.NOW, None
    return mode, moment


def prepare_messages(data: schemas.MessageCreate, key: Caller) -> NewMessages:
    """Check and shape a send request (reads only: run it before the write transaction)."""
    checked = check_request(data.recipients, data.text, data.sender, data.transliterate)
    body, skipped = checked.body, {}
    mode, send_at = schedule(data.send_at, data.schedule)
    if data.marketing:
        body = with_footer(body, optout_footer())
        skipped = dict.fromkeys(opted_out_among(checked.numbers), OPTED_OUT)
        if mode == ScheduleMode.GATEWAY:  # the gateway sends at that time on its own
            send_at = quiet_until(current_app.config.get("SMSCO_QUIET_RULE"), send_at,
                                  local_zone()) or send_at
    return NewMessages(recipients=checked.numbers, body=body, sender=checked.sender,
                       mode=mode, send_at=send_at, quiet_hours=data.marketing,
                       skipped=skipped, api_key_id=key.id, via=key_label(key))


def queue_messages(request: NewMessages, key: Caller, commit: bool = True) -> dict:
    """Queue one message per distinct recipient; the 202 answer's body."""
    messages = create_messages(request, key.owner, commit=commit)
    sending = sum(1 for m in messages if m.state != State.SKIPPED)
    return {"messages": [{"id": m.id, "recipient": m.recipient, "state": m.state}
                         for m in messages],
            "text": request.body, "parts": text.segments(request.body),
            "cost": text.cost(request.body, sending, price_per_part())}


def key_label(key: Caller) -> str:
    return f"API key #{key.id} {key.name!r}"


# -- idempotency -------------------------------------------------------------------


def fingerprint(method: str, path: str, payload: Any) -> str:
    """What makes two requests the same: method, path and the JSON body (key order ignored)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


_RECORD = ApiIdempotency.__table__
_FIND_RECORD = (select(_RECORD.c.request_hash, _RECORD.c.status_code, _RECORD.c.response)
                .where(_RECORD.c.api_key_id == bindparam("key_id"),
                       _RECORD.c.key == bindparam("key")))
_INSERT_RECORD = insert(_RECORD)


def _find_record(key: Caller, idempotency_key: str):
    """The stored (request_hash, status_code, response) of this key's Idempotency-Key."""
    return db.session.execute(_FIND_RECORD, {"key_id": key.id, "key": idempotency_key}).first()


def _replay(record, request_hash: str) -> tuple[int, dict, bool]:
    if record.request_hash != request_hash:
        raise ApiProblem(422, "Idempotency-Key reused", "This Idempotency-Key was already used "
                         "with a different request; use a new key for a new request.",
                         kind="idempotency-key-reused",
                         errors=[FieldError("used before with another body",
                                            parameter="Idempotency-Key")])
    if record.response is None:
        raise ApiProblem(409, "Request in progress", "A request with this Idempotency-Key is "
                         "still being processed; try again in a moment.",
                         kind="idempotency-in-progress", headers={"Retry-After": "1"})
    return record.status_code or 200, json.loads(record.response), True


def idempotent(key: Caller, idempotency_key: str | None, request_hash: str,
               produce: Callable[[Any, bool], dict], prepare: Callable[[], Any] = lambda: None,
               status: int = 202, one_transaction: bool = True) -> tuple[int, dict, bool]:
    """Run ``produce`` once per key and Idempotency-Key; later calls get the first answer.

    Returns (status, body, replayed). ``prepare()`` checks and reads before any
    write; its result goes to ``produce(prepared, commit)``.

    ``one_transaction``: ``produce`` adds its rows without committing and the
    record (with the answer) is inserted last in the same transaction, so a
    crash leaves neither. Two requests with one key at once: the second's
    insert waits on the unique index, fails when the first commits, and its
    transaction (its rows too) is rolled back; it answers the first's answer.
    Otherwise (campaigns commit in chunks) the record is committed first and
    ``produce`` must itself be idempotent.
    """
    if idempotency_key is None:
        return status, produce(prepare(), True), False
    existing = _find_record(key, idempotency_key)
    if existing is not None:
        return _replay(existing, request_hash)
    prepared = prepare()
    if not one_transaction:
        record = ApiIdempotency(api_key_id=key.id, key=idempotency_key,
                                request_hash=request_hash, created_at=utcnow())
        return _record_first(record, key, request_hash, lambda: produce(prepared, True), status)
    body = produce(prepared, False)
    try:
        db.session.execute(_INSERT_RECORD, [{
            "api_key_id": key.id, "key": idempotency_key, "request_hash": request_hash,
            "status_code": status, "response": json.dumps(body), "created_at": utcnow()}])
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _replay(_find_record(key, idempotency_key), request_hash)
    return status, body, False


def _record_first(record: ApiIdempotency, key: Caller, request_hash: str,
                  produce: Callable[[], dict], status: int) -> tuple[int, dict, bool]:
    """The record committed before ``produce`` runs (a concurrent twin then gets 409)."""
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _replay(_find_record(key, record.key), request_hash)
    try:
        body = produce()
    except Exception:
        db.session.rollback()
        db.session.delete(db.session.merge(record))  # nothing was made: a retry may try again
        db.session.commit()
        raise
    record.status_code, record.response = status, json.dumps(body)
    db.session.commit()
    return status, body, False


# -- reading messages ----------------------------------------------------------------


def gateway_status_label(code: int | None) -> str | None:
    if code is None:
        return None
    try:
        return DeliveryStatus(code).label
    except ValueError:
        return f"Status {code}"


def message_out(message: Message, timeline: bool = False) -> dict:
    """A message as the API shows it."""
    data = {
        "id": message.id, "recipient": message.recipient, "text": message.body,
        "sender": message.sender, "state": message.state,
        "schedule": message.schedule_mode,
        "send_at": utc(message.gateway_schedule or message.send_at),
        "created_at": utc(message.created_at), "sent_at": utc(message.sent_at),
        "gateway_status": message.gateway_status,
        "gateway_status_label": gateway_status_label(message.gateway_status),
        "credits": message.credits, "error": message.error_text,
        "campaign_id": message.campaign_id,
        "created_by": message.created_by.username if message.created_by else None,
    }
    if timeline:
        data["timeline"] = [{"at": utc(e.at), "state": e.state,
                             "gateway_status": e.gateway_status, "detail": e.detail}
                            for e in message.events]
    return data


def get_message(message_id: int) -> Message:
    """The message, or a 404 problem."""
    message = db.session.get(Message, message_id) if 0 < message_id <= schemas.MAX_ID else None
    if message is None:
        raise ApiProblem(404, "Not Found", f"There is no message {message_id}.")
    return message


def _clamp(day: date | None) -> date | None:
    return None if day is None else min(max(day, EARLIEST_DAY), LATEST_DAY)


def list_messages(query: schemas.MessageQuery) -> dict:
    """History's filters, newest first, a keyset page before ``cursor``."""
    clamp = _clamp
    first, last = clamp(query.date_from), clamp(query.date_to)
    filters = queries.HistoryFilters(
        state=query.state, sender=query.sender,
        start=datetime.combine(first, time.min) if first else None,
        end=datetime.combine(last, time.min) + timedelta(days=1) if last else None)
    statement = queries.filtered(filters, select(Message).options(
        joinedload(Message.created_by), lazyload(Message.events)))
    if query.recipient:
        number = queries.number_condition(query.recipient)
        if number is None:
            return {"messages": [], "next_cursor": None}
        statement = statement.where(number[0])
    if query.campaign:
        statement = statement.where(Message.campaign_id == query.campaign)
    if query.cursor:
        statement = statement.where(Message.id < query.cursor)
    rows = list(db.session.scalars(statement.order_by(Message.id.desc()).limit(query.limit + 1)))
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    return {"messages": [message_out(m) for m in rows],
            "next_cursor": rows[-1].id if more and rows else None}


def cancel(message_id: int, key: Caller) -> dict:
    """Cancel a message still waiting here; 409 once it may have left."""
    message = get_message(message_id)
    try:
        cancel_message(message, key.owner)
    except OutboxError as error:
        raise ApiProblem(409, "Conflict", str(error), kind="not-cancellable") from None
    return message_out(message, timeline=True)


# -- campaigns -----------------------------------------------------------------------


def get_campaign(campaign_id: int) -> Campaign:
    campaign = (db.session.get(Campaign, campaign_id)
                if 0 < campaign_id <= schemas.MAX_ID else None)
    if campaign is None:
        raise ApiProblem(404, "Not Found", f"There is no campaign {campaign_id}.")
    return campaign


def campaign_out(campaign: Campaign) -> dict:
    """A campaign with its progress counts."""
    progress = campaigns.campaign_progress(campaign.id)
    waiting = any(progress.counts.get(s) for s in (State.QUEUED, State.PAUSED, State.SENDING,
                                                   State.SENT))
    status = ("canceled" if campaign.canceled else "paused" if campaign.paused
              else "running" if waiting else "finished")
    return {"id": campaign.id, "name": campaign.name, "text": campaign.body,
            "sender": campaign.sender, "status": status, "marketing": campaign.marketing,
            "created_at": utc(campaign.created_at), "recipients": campaign.recipient_count,
            "counts": {state: progress.counts.get(state, 0) for state in State.ALL},
            "credits": progress.credits, "percent": progress.percent}


def _group_recipients(group_id: int) -> list[campaigns.CampaignRecipient]:
    if db.session.get(ContactGroup, group_id) is None:
        raise ApiProblem(404, "Not Found", f"There is no contact group {group_id}.",
                         errors=[FieldError("no such contact group", pointer="/group_id",
                                            value=group_id)])
    from ..models import Contact

    rows = db.session.execute(
        select(Contact.phone, Contact.fields)
        .join(contact_group_member, contact_group_member.c.contact_id == Contact.id)
        .where(contact_group_member.c.group_id == group_id).order_by(Contact.id))
    return [campaigns.CampaignRecipient(phone, dict(fields or {})) for phone, fields in rows]


def create_campaign(data: schemas.CampaignCreate, key: Caller,
                    idempotency_key: str | None) -> dict:
    """A campaign from a list (checked as compose checks) or a group.

    It commits in chunks, so it is made idempotent by a campaign key derived
    from the API key and the Idempotency-Key: a retry finds the same campaign.
    """
    phones = [r.phone for r in data.recipients] if data.recipients is not None else None
    checked = check_request(phones, data.text, data.sender, data.transliterate,
                            placeholders=True)
    if data.recipients is not None:
        recipients = _distinct(checked.numbers, data.recipients)
        duplicates = len(data.recipients) - len(recipients)
    else:
        recipients, duplicates = _group_recipients(data.group_id), 0
    mode, send_at = schedule(data.send_at, data.schedule)
    spec = campaigns.CampaignSpec(
        name=data.name.strip() or "API campaign", body=checked.body, sender=checked.sender,
        marketing=data.marketing, quiet_hours=not data.transactional, mode=mode,
        send_at=send_at, footer=optout_footer() if data.marketing else "", api_key_id=key.id)
    token = idempotency_key or secrets.token_urlsafe(24)
    campaign_key = "api:" + hashlib.sha256(f"{key.id}:{token}".encode()).hexdigest()[:56]
    campaign = campaigns.create_campaign(spec, recipients, key.owner, campaign_key,
                                         duplicate_count=duplicates)
    return campaign_out(campaign)


def _distinct(numbers: list[str], given: list[schemas.CampaignRecipient]
              ) -> list[campaigns.CampaignRecipient]:
    """One recipient per normalized number (the first one's fields), in the order given."""
    from smsco.phones import normalize

    seen: dict[str, campaigns.CampaignRecipient] = {}
    for item in given:
        number = normalize(item.phone)
        seen.setdefault(number, campaigns.CampaignRecipient(number, dict(item.fields)))
    return [seen[number] for number in numbers]


CAMPAIGN_ACTIONS = {"pause": campaigns.pause_campaign, "resume": campaigns.resume_campaign,
                    "cancel": campaigns.cancel_campaign}


def campaign_action(campaign_id: int, action: str, key: Caller) -> dict:
    """Pause, resume or cancel; 409 when the campaign was cancelled."""
    campaign = get_campaign(campaign_id)
    try:
        CAMPAIGN_ACTIONS[action](campaign, key.owner)
    except OutboxError as error:
        raise ApiProblem(409, "Conflict", str(error), kind="campaign-cancelled") from None
    return campaign_out(campaign)


# -- balance and text ----------------------------------------------------------------


def balance() -> dict:
    """The latest reading of the balance job and the alerts that pause sending."""
    from ..models import GatewayAlert
    from ..ui.header import latest_balance_reading

    reading = latest_balance_reading()
    low = current_app.config["SMSCO_LOW_BALANCE"]
    return {"balance": f"{reading.balance:.2f}" if reading else None, "currency": "GEL",
            "read_at": utc(reading.at) if reading else None,
            "low": reading is not None and reading.balance < low,
            "alerts": sorted(db.session.scalars(select(GatewayAlert.kind)))}


def analyze_text(data: schemas.AnalyzeIn) -> dict:
    """The live counter's numbers (``text_analysis.analyze``), named for the API."""
    from ..text_analysis.analysis import analyze

    result = analyze(data.text, style=data.style, footer=data.footer,
                     placeholders=data.placeholders)
    return {"characters": result["characters"], "parts": result["parts"],
            "price_per_part": result["price_per_part"],
            "cost_per_recipient": result["cost_per_recipient"],
            "refused": [{"position": position + 1, "character": char}
                        for position, char in result["invalid"]],
            "needs_transliteration": result["needs_transliteration"],
            "transliterated": result["transliterated"],
            "transliterated_parts": result["transliterated_parts"],
            "footer": result["footer"], "placeholders": result["placeholders"]}


def message_with_events(message_id: int) -> Message:
    """A message with its timeline loaded in the same round trip."""
    message = db.session.scalar(select(Message).options(selectinload(Message.events))
                                .where(Message.id == message_id)) \
        if 0 < message_id <= schemas.MAX_ID else None
    if message is None:
        raise ApiProblem(404, "Not Found", f"There is no message {message_id}.")
    return message
