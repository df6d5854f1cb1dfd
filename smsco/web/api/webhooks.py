"""Delivery webhooks: every change of state of a key's messages, POSTed, signed, retried.

The dispatcher is not touched: every change of a message's state is already a
``MessageEvent`` row (its timeline). A scheduler job (its own thread, its own
database session, its own HTTP pool) does two things:

1. **Collect.** Events after a stored floor, of messages sent through a key
   with a webhook, become ``WebhookDelivery`` rows (one per event, the unique
   ``source_event_id`` de-duplicates). On PostgreSQL an id is taken when a
   row is inserted but seen when its transaction commits, so a slow
   transaction can show a *lower* id after higher ones were read. The floor
   therefore trails the newest event by ``LOOKBACK``: every run re-reads that
   window and skips what it already has. Finished campaigns of such keys get
   one ``campaign.completed`` delivery.
2. **Deliver.** Due deliveries are POSTed with a short timeout, at most one
   per message at a time and in event order (a later event waits while an
   earlier one of the same message is pending). A 2xx takes it; anything
   else is retried with backoff for up to 24 hours (at least once). An
   endpoint that times out is skipped for the rest of the run, so a dead
   receiver costs one timeout per run, never dispatch time.

Each POST carries ``Smsco-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<body>">`` with the key's signing secret, and ``Smsco-Event-Id``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
from flask import Flask, current_app
from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import aliased, selectinload

from ..bulk.campaigns import campaign_progress
from ..database import is_postgres
from ..extensions import db
from ..models import (
    ApiIdempotency,
    ApiKey,
    Campaign,
    Message,
    MessageEvent,
    Setting,
    State,
    User,
    WebhookAttempt,
    WebhookDelivery,
    audit,
    utcnow,
)
from ..sending.dispatch import lock_ids

log = logging.getLogger(__name__)

EVENT_TYPES = {State.SENT: "message.sent", State.DELIVERED: "message.delivered",
               State.FAILED: "message.failed", State.UNKNOWN: "message.unknown",
               State.CANCELED: "message.canceled"}
CAMPAIGN_COMPLETED = "campaign.completed"
FLOOR_SETTING = "webhook_event_floor"
#: How long a transaction may take to commit after its event id was taken.
LOOKBACK = timedelta(seconds=60)
COLLECT_BATCH = 2000
DELIVER_BATCH = 100
DELIVER_BUDGET_SECONDS = 20  # per run; the next run goes on
TIMEOUT = (3.05, 5)  # connect, read
LEASE = timedelta(seconds=60)
GIVE_UP_AFTER = timedelta(hours=24)
BACKOFF_SECONDS = [10, 30, 60, 300, 900, 1800, 3600]
CAMPAIGN_WATCH = timedelta(days=8)  # campaigns older than this are not watched
IDEMPOTENCY_KEPT = timedelta(hours=24)
POOL_SIZE = 8
SIGNATURE_HEADER = "Smsco-Signature"


def init_webhooks(app: Flask) -> None:
    """Register the webhook job on this app's scheduler (from the factory)."""
    from ..sending.jobs import register_job

    app.config.setdefault("SMSCO_WEBHOOK_INTERVAL", 2.0)
    register_job(app, "webhooks", run_webhooks, "SMSCO_WEBHOOK_INTERVAL")


def run_webhooks() -> None:
    """One run of the job: collect new events, deliver what is due, forget old idempotency keys."""
    collect_events()
    collect_completed_campaigns()
    # Again while something went out: the next event of a message is due once its
    # predecessor is taken.
    deadline = time.monotonic() + DELIVER_BUDGET_SECONDS
    while deliver_due() and time.monotonic() < deadline:
        pass
    forget_idempotency_keys()


# -- signing -----------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: float | None = None,
           tolerance: int = 300) -> bool:
    """The receiver's check (the docs page shows the same recipe): a valid signature made
    within ``tolerance`` seconds."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# -- collecting ----------------------------------------------------------------------


def _floor() -> int:
    setting = db.session.get(Setting, FLOOR_SETTING)
    if setting is not None:
        return int(setting.value or 0)
    return _settled_id(0)  # first run: start now, not with the whole history


def _settled_id(floor: int) -> int:
    """The newest event id older than the look-back window (every lower id is committed)."""
    cutoff = utcnow() - LOOKBACK
    newest = db.session.scalar(select(func.max(MessageEvent.id))
                               .where(MessageEvent.id > floor, MessageEvent.at < cutoff))
    return max(floor, newest or 0)


def _store_floor(value: int) -> None:
    setting = db.session.get(Setting, FLOOR_SETTING) or Setting(key=FLOOR_SETTING)
    setting.value = str(value)
    db.session.add(setting)


def collect_events() -> int:
    """Deliveries for new events of messages sent through keys with a webhook (commits)."""
    floor = _floor()
    rows = db.session.execute(
        select(MessageEvent.id, MessageEvent.at, MessageEvent.state, MessageEvent.gateway_status,
               MessageEvent.detail, Message.id.label("message_id"), Message.recipient,
               Message.campaign_id, Message.credits, Message.error_text, Message.sent_at,
               Message.api_key_id)
        .join(Message, Message.id == MessageEvent.message_id)
        .join(ApiKey, ApiKey.id == Message.api_key_id)
        .where(MessageEvent.id > floor, MessageEvent.state.in_(list(EVENT_TYPES)),
               ApiKey.webhook_url.is_not(None),
               ~exists().where(WebhookDelivery.source_event_id == MessageEvent.id))
        .order_by(MessageEvent.id).limit(COLLECT_BATCH)).all()
    now = utcnow()
    if rows:
        _insert_deliveries([_message_delivery(row, now) for row in rows])
    settled = _settled_id(floor)
    if len(rows) == COLLECT_BATCH:  # not everything was read: the floor waits for it
        settled = min(settled, rows[-1].id)
    _store_floor(settled)
    db.session.commit()
    return len(rows)


def _message_delivery(row, now: datetime) -> dict:
    event_type = EVENT_TYPES[row.state]
    payload = {"id": f"evt_m{row.id}", "type": event_type, "created_at": _iso(row.at),
               "data": {"message": {
                   "id": row.message_id, "recipient": row.recipient, "state": row.state,
                   "gateway_status": row.gateway_status, "credits": row.credits,
                   "error": row.error_text if row.state in (State.FAILED, State.UNKNOWN)
                   else None,
                   "campaign_id": row.campaign_id, "sent_at": _iso(row.sent_at),
                   "detail": row.detail}}}
    return {"event_id": payload["id"], "event_type": event_type, "api_key_id": row.api_key_id,
            "message_id": row.message_id, "campaign_id": None, "source_event_id": row.id,
            "payload": json.dumps(payload), "state": WebhookDelivery.PENDING, "attempts": 0,
            "next_attempt_at": now, "created_at": now}


def _iso(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z") if moment else None


def _insert_deliveries(rows: list[dict]) -> None:
    """Insert, skipping any another worker inserted meanwhile (unique event ids)."""
    if is_postgres():
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.session.execute(insert(WebhookDelivery.__table__).on_conflict_do_nothing(), rows)


def collect_completed_campaigns() -> int:
    """One ``campaign.completed`` delivery for each finished campaign of a key with a webhook."""
    watched = db.session.execute(
        select(Campaign.id, Campaign.api_key_id, Campaign.name, Campaign.canceled)
        .join(ApiKey, ApiKey.id == Campaign.api_key_id)
        .where(ApiKey.webhook_url.is_not(None),
               Campaign.created_at >= utcnow() - CAMPAIGN_WATCH, Campaign.paused.is_(False),
               ~exists().where(WebhookDelivery.campaign_id == Campaign.id,
                               WebhookDelivery.event_type == CAMPAIGN_COMPLETED))
        .limit(50)).all()
    rows, now = [], utcnow()
    for campaign_id, key_id, name, canceled in watched:
        progress = campaign_progress(campaign_id)
        waiting = (State.QUEUED, State.PAUSED, State.SENDING, State.SENT)
        if any(progress.counts.get(state) for state in waiting):
            continue
        payload = {"id": f"evt_c{campaign_id}", "type": CAMPAIGN_COMPLETED,
                   "created_at": _iso(now), "data": {"campaign": {
                       "id": campaign_id, "name": name, "canceled": canceled,
                       "counts": progress.counts, "credits": progress.credits}}}
        rows.append({"event_id": payload["id"], "event_type": CAMPAIGN_COMPLETED,
                     "api_key_id": key_id, "message_id": None, "campaign_id": campaign_id,
                     "source_event_id": None, "payload": json.dumps(payload),
                     "state": WebhookDelivery.PENDING, "attempts": 0, "next_attempt_at": now,
                     "created_at": now})
    if rows:
        _insert_deliveries(rows)
    db.session.commit()
    return len(rows)


# -- delivering ----------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A leased delivery as plain data for a sending thread."""

    id: int
    event_id: str
    event_type: str
    url: str | None
    secret: str | None
    payload: str


@dataclass(frozen=True)
class Result:
    status: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def lease_due(limit: int = DELIVER_BATCH) -> list[Outgoing]:
    """Due deliveries that head their message's queue, leased so no other worker takes them."""
    now = utcnow()
    earlier = aliased(WebhookDelivery)
    heads_queue = ~exists().where(earlier.message_id == WebhookDelivery.message_id,
                                  earlier.state == WebhookDelivery.PENDING,
                                  earlier.source_event_id < WebhookDelivery.source_event_id)
    ids = lock_ids(select(WebhookDelivery.id)
                   .where(WebhookDelivery.state == WebhookDelivery.PENDING,
                          WebhookDelivery.next_attempt_at <= now, heads_queue)
                   .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit))
    if not ids:
        db.session.commit()
        return []
    leased = db.session.scalars(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids), WebhookDelivery.state == WebhookDelivery.PENDING,
               WebhookDelivery.next_attempt_at <= now)
        .values(next_attempt_at=now + LEASE).returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False)).all()
    rows = db.session.execute(
        select(WebhookDelivery.id, WebhookDelivery.event_id, WebhookDelivery.event_type,
               ApiKey.webhook_url, ApiKey.webhook_secret, WebhookDelivery.payload)
        .join(ApiKey, ApiKey.id == WebhookDelivery.api_key_id)
        .where(WebhookDelivery.id.in_(list(leased)))
        .order_by(WebhookDelivery.id)).all()
    db.session.commit()  # no transaction stays open while receivers answer
    return [Outgoing(*row) for row in rows]


class DeadHosts:
    """URLs that timed out or refused in this run: their other deliveries wait for the next."""

    def __init__(self) -> None:
        self._urls: set[str] = set()
        self._lock = threading.Lock()

    def __contains__(self, url: str) -> bool:
        with self._lock:
            return url in self._urls

    def add(self, url: str) -> None:
        with self._lock:
            self._urls.add(url)


def post(delivery: Outgoing, dead: DeadHosts, session: requests.Session | None = None
         ) -> Result | None:
    """POST one delivery; None when its URL already failed in this run (not attempted)."""
    if not delivery.url or not delivery.secret:
        return Result(None, "The key has no webhook URL any more", 0)
    if delivery.url in dead:
        return None
    body = delivery.payload.encode()
    headers = {"Content-Type": "application/json", "User-Agent": "smsco-dashboard-webhooks/1",
               "Smsco-Event-Id": delivery.event_id, "Smsco-Event-Type": delivery.event_type,
               SIGNATURE_HEADER: sign(delivery.secret, int(time.time()), body)}
    started = time.monotonic()
    try:
        answer = (session or requests).post(delivery.url, data=body, headers=headers,
                                            timeout=TIMEOUT, allow_redirects=False)
        answer.close()
        result = Result(answer.status_code, None if 200 <= answer.status_code < 300
                        else f"The receiver answered HTTP {answer.status_code}",
                        _ms(started))
    except requests.Timeout:
        dead.add(delivery.url)
        result = Result(None, "No answer within the timeout", _ms(started))
    except requests.RequestException as error:
        dead.add(delivery.url)
        result = Result(None, f"Could not connect: {type(error).__name__}", _ms(started))
    return result


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _pool() -> ThreadPoolExecutor:
    app = current_app._get_current_object()
    if "smsco_webhook_pool" not in app.extensions:
        app.extensions["smsco_webhook_pool"] = ThreadPoolExecutor(
            max_workers=POOL_SIZE, thread_name_prefix="smsco-webhook")
    return app.extensions["smsco_webhook_pool"]


def deliver_due(limit: int = DELIVER_BATCH) -> int:
    """POST every due delivery of one batch (in parallel) and record what happened."""
    batch = lease_due(limit)
    if not batch:
        return 0
    dead = DeadHosts()
    results = list(_pool().map(lambda delivery: post(delivery, dead), batch))
    record_results(list(zip(batch, results, strict=True)))
    return len(batch)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt (1-based)."""
    return timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


def record_results(done: list[tuple[Outgoing, Result | None]]) -> None:
    """Attempts and new states: delivered, retried later, or given up after 24 hours."""
    now = utcnow()
    deliveries = {d.id: d for d in db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.id.in_([o.id for o, _ in done])))}
    for outgoing, result in done:
        delivery = deliveries[outgoing.id]
        if result is None:  # its receiver failed earlier in this run
            delivery.next_attempt_at = now + timedelta(seconds=BACKOFF_SECONDS[0])
            continue
        db.session.add(WebhookAttempt(delivery_id=delivery.id, at=now,
                                      status_code=result.status, error=result.error,
                                      duration_ms=result.duration_ms))
        delivery.attempts += 1
        delivery.last_status, delivery.last_error = result.status, result.error
        if result.ok:
            delivery.state, delivery.delivered_at = WebhookDelivery.DELIVERED, now
        elif now - delivery.created_at >= GIVE_UP_AFTER or not outgoing.url:
            delivery.state = WebhookDelivery.FAILED
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
    db.session.commit()


def forget_idempotency_keys() -> int:
    """Idempotency records are kept 24 hours; the same key later is a new request."""
    removed = db.session.execute(
        ApiIdempotency.__table__.delete().where(
            ApiIdempotency.created_at < utcnow() - IDEMPOTENCY_KEPT)).rowcount
    db.session.commit()
    return removed or 0


# -- the delivery log ------------------------------------------------------------------


def delivery_page(state: str | None, before: int | None, limit: int = 50,
                  owner: User | None = None) -> tuple[list[WebhookDelivery], int | None]:
    """Deliveries newest first with their attempts, and the cursor of the next page;
    an operator (``owner``) sees only their own keys' deliveries."""
    query = (select(WebhookDelivery).options(selectinload(WebhookDelivery.attempt_log))
             .order_by(WebhookDelivery.id.desc()).limit(limit + 1))
    if state:
        query = query.where(WebhookDelivery.state == state)
    if before:
        query = query.where(WebhookDelivery.id < before)
    if owner is not None and not owner.is_admin:
        query = query.join(ApiKey, ApiKey.id == WebhookDelivery.api_key_id).where(
            ApiKey.owner_id == owner.id)
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].id if more and rows else None


def delivery_out(delivery: WebhookDelivery) -> dict:
    """A delivery as the API shows it."""
    return {"id": delivery.id, "event_id": delivery.event_id, "event_type": delivery.event_type,
            "api_key_id": delivery.api_key_id, "url": delivery.api_key.webhook_url,
            "state": delivery.state,
            "attempts": [{"at": a.at.replace(tzinfo=UTC), "status_code": a.status_code,
                          "error": a.error, "duration_ms": a.duration_ms}
                         for a in delivery.attempt_log],
            "next_attempt_at": (delivery.next_attempt_at.replace(tzinfo=UTC)
                                if delivery.state == WebhookDelivery.PENDING else None),
            "created_at": delivery.created_at.replace(tzinfo=UTC)}


def resend(delivery_id: int, by) -> WebhookDelivery | None:
    """Deliver again now (an administrator's button); the receiver sees the same event id."""
    delivery = db.session.get(WebhookDelivery, delivery_id) if 0 < delivery_id < 2**31 else None
    if delivery is None:
        return None
    delivery.state, delivery.next_attempt_at = WebhookDelivery.PENDING, utcnow()
    # The 24-hour window starts again, so a resent delivery gets its retries too.
    delivery.created_at = utcnow()
    audit(by, "webhook_resend", detail=f"delivery #{delivery.id} ({delivery.event_id})")
    db.session.commit()
    return delivery
