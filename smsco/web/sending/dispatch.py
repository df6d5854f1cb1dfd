"""The dispatcher: claims due messages atomically, sends them, records what happened.

At most once, never lost (DESIGN §3). A row is claimed (``queued`` →
``sending``) and committed before its request leaves; whatever happens next
is recorded truthfully. Only failures where no request can have reached the
gateway (no connection, or 2907) are retried, with capped jittered backoff.
A send that may have gone out becomes ``unknown`` and is never re-sent here.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from sqlalchemy import Select, bindparam, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from smsco import (
    AmbiguousSend,
    AuthError,
    Client,
    CreditExhausted,
    GatewayError,
    GatewayUnavailable,
    ProtocolError,
    SendResult,
    SmscoError,
    TransportError,
    ValidationError,
)
from smsco.client import GATEWAY_TIMEZONE
from smsco.errors import describe_code

from ..extensions import db
from ..models import Dispatcher, GatewayAlert, Message, MessageEvent, Priority, State, utcnow
from .gateway import get_client
from .quiet_hours import quiet_until

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 5
RETRY_CAP_SECONDS = 300
# Status checks of one message back off in steps of the status interval: with
# the default 30 s that is 15 s, 30 s, 1, 2, 5, 10, 20, 30 min, then hourly.
CHECK_BACKOFF_STEPS = [0.5, 1, 2, 4, 10, 20, 40, 60, 120]
MAX_CHECK_DELAY = timedelta(hours=1)
# A dispatcher whose heartbeat is older than this is taken as dead.
HEARTBEAT_TIMEOUT = timedelta(seconds=60)
# How often a dispatcher writes its heartbeat (runs come every second; one write
# per run would be a database write a second for nothing).
HEARTBEAT_EVERY = 15
RECORD_EVERY = 0.25  # seconds between commits of results while a batch runs
RECORD_ATTEMPTS = 3


class AlertKind:
    """Conditions that pause dispatch until a balance check clears them."""

    CREDIT = "credit"
    AUTH = "auth"


@dataclass
class Claimed:
    """A claimed row, as plain data the sending threads may read."""

    id: int
    recipient: str
    body: str
    sender: str | None
    gateway_schedule: datetime | None
    attempts: int


@dataclass
class Outcome:
    """What to write for one claimed row."""

    values: dict
    event_state: str | None
    detail: str
    alert: tuple[str, str] | None = None


class RateLimiter:
    """At most ``rate`` sends per second across threads (0 = no cap)."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


@dataclass
class DispatcherRuntime:
    """Per-process dispatcher state: identity, thread pool, rate limiter."""

    concurrency: int
    rate: float
    id: str = field(default_factory=lambda: (
        f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"))
    pool: ThreadPoolExecutor = field(init=False)
    limiter: RateLimiter = field(init=False)
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_heartbeat: float = float("-inf")  # time.monotonic() of the last one written

    def __post_init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=max(1, self.concurrency),
                                       thread_name_prefix="smsco-send")
        self.limiter = RateLimiter(self.rate)


def runtime(app: Flask | None = None) -> DispatcherRuntime:
    """This process's dispatcher runtime, made on first use."""
    app = app or current_app._get_current_object()
    if "smsco_dispatcher" not in app.extensions:
        app.extensions["smsco_dispatcher"] = DispatcherRuntime(
            concurrency=app.config["SMSCO_CONCURRENCY"], rate=app.config["SMSCO_RATE"])
    return app.extensions["smsco_dispatcher"]


# -- alerts ------------------------------------------------------------------------


def dispatch_paused() -> bool:
    """True while credit is exhausted or the gateway rejects the account."""
    return db.session.scalar(select(GatewayAlert.kind).limit(1)) is not None


def raise_alert(kind: str, detail: str) -> None:
    """Record an alert once (caller commits)."""
    if db.session.get(GatewayAlert, kind) is None:
        db.session.add(GatewayAlert(kind=kind, detail=detail, since=utcnow()))


def clear_alerts(*kinds: str) -> int:
    """Remove alerts; returns how many were active (commits)."""
    removed = db.session.execute(delete(GatewayAlert).where(GatewayAlert.kind.in_(kinds))).rowcount
    db.session.commit()
    return removed or 0


def next_check_delay(checks: int) -> timedelta:
    """How long after the ``checks``-th status check (0-based) to check again."""
    step = CHECK_BACKOFF_STEPS[min(checks, len(CHECK_BACKOFF_STEPS) - 1)]
    delay = timedelta(seconds=step * current_app.config["SMSCO_STATUS_INTERVAL"])
    return min(delay, MAX_CHECK_DELAY)


# -- claiming ----------------------------------------------------------------------


def hold_for_quiet_hours() -> int:
    """In quiet hours, due campaign messages that honour them wait for the window to open."""
    now = utcnow()
    until = quiet_until(current_app.config.get("SMSCO_QUIET_RULE"), now,
                        ZoneInfo(current_app.config["SMSCO_TIMEZONE"]))
    if until is None:
        return 0
    held = db.session.execute(
        update(Message)
        .where(Message.state == State.QUEUED, Message.priority == Priority.CAMPAIGN,
               Message.send_at <= now, Message.quiet_hours.is_(True))
        .values(send_at=until).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return held or 0


def lock_ids(query: Select) -> list[int]:
    """Ids chosen by ``query``, row-locked on PostgreSQL (others skip them).

    Chosen first and updated by id afterwards: PostgreSQL may run an
    ``IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`` subquery more than once
    inside an UPDATE and so touch more than ``n`` rows.
    """
    return list(db.session.scalars(query.with_for_update(skip_locked=True)))


def claim_due_messages(dispatcher_id: str, limit: int) -> list[Claimed]:
    """Atomically move up to ``limit`` due rows from queued to sending; commit."""
    now = utcnow()
    # Single messages first, so a big campaign never starves them.
    ids = lock_ids(select(Message.id)
                   .where(Message.state == State.QUEUED, Message.send_at <= now)
                   .order_by(Message.priority, Message.send_at, Message.id)
                   .limit(limit))
    if not ids:
        db.session.commit()
        return []
    # The state condition makes the claim safe where nothing was locked (SQLite).
    rows = db.session.execute(
        update(Message)
        .where(Message.id.in_(ids), Message.state == State.QUEUED)
        .values(state=State.SENDING, claimed_by=dispatcher_id, claimed_at=now, updated_at=now)
        .returning(Message.id, Message.recipient, Message.body, Message.sender,
                   Message.gateway_schedule, Message.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    if rows:
        db.session.execute(insert(MessageEvent.__table__), [
            {"message_id": row.id, "at": now, "state": State.SENDING,
             "detail": "Handed to the gateway"} for row in rows])
    db.session.commit()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


# -- sending -----------------------------------------------------------------------


def send_one(client: Client, message: Claimed, limiter: RateLimiter) -> SendResult | Exception:
    """Send one claimed message; returns the result or the exception (never raises)."""
    limiter.wait()
    schedule = None
    if message.gateway_schedule is not None:
        # A gateway-scheduled time that passed while the row waited here is sent now.
        when = message.gateway_schedule.replace(tzinfo=UTC)
        if when.astimezone(GATEWAY_TIMEZONE) > datetime.now(GATEWAY_TIMEZONE) + timedelta(
                seconds=5):
            schedule = when
    try:
        return client.send(message.recipient, message.body, sender=message.sender,
                           schedule=schedule)
    except Exception as exc:  # recorded truthfully by the caller, never lost
        return exc


def outcome_for(message: Claimed, result: SendResult | Exception, now: datetime) -> Outcome:
    """Translate a send result into the row's new values and a timeline entry."""
    if isinstance(result, SendResult):
        first_check = now + next_check_delay(0)
        if message.gateway_schedule and message.gateway_schedule > now:
            first_check = message.gateway_schedule + next_check_delay(0)
        return Outcome(
            {"state": State.SENT, "mes_id": result.message_id, "credits": result.credits,
             "sent_at": now, "next_check_at": first_check, "error_code": None,
             "error_text": None},
            State.SENT, f"Accepted by the gateway (mes_id {result.message_id}, "
                        f"{result.credits} tetri)")
    if isinstance(result, (TransportError, GatewayUnavailable)):
        return _retry_outcome(message, result, now)
    if isinstance(result, CreditExhausted):
        return Outcome({"state": State.QUEUED, "send_at": now, "error_code": 2906},
                       State.QUEUED, "The gateway says the credit is exhausted; waiting for "
                       "credit before sending", (AlertKind.CREDIT, "Credit exhausted (2906)"))
    if isinstance(result, AuthError):
        return Outcome({"state": State.QUEUED, "send_at": now, "error_code": 2905},
                       State.QUEUED, "The gateway rejected the account; waiting until it "
                       "accepts it again", (AlertKind.AUTH, "Invalid username/password (2905)"))
    if isinstance(result, (AmbiguousSend, ProtocolError)) or not isinstance(result, SmscoError):
        text = str(result) if isinstance(result, SmscoError) else "Unexpected error while sending"
        return Outcome({"state": State.UNKNOWN, "error_code": None, "error_text": text[:300]},
                       State.UNKNOWN, f"{text} It may have been sent; it will not be re-sent "
                       "automatically.")
    code = result.code if isinstance(result, GatewayError) else None
    text = describe_code(code) or str(result)
    if isinstance(result, ValidationError):
        text = f"Refused before sending: {result}"
    return Outcome({"state": State.FAILED, "error_code": code, "error_text": text[:300]},
                   State.FAILED, f"Failed: {text}" + (f" ({code})" if code else ""))


def _retry_outcome(message: Claimed, error: SmscoError, now: datetime) -> Outcome:
    attempts = message.attempts + 1
    reason = "the gateway is unavailable (2907)" if isinstance(
        error, GatewayUnavailable) else "the gateway could not be reached"
    if attempts >= MAX_ATTEMPTS:
        return Outcome({"state": State.FAILED, "attempts": attempts,
                        "error_code": error.code, "error_text": f"Not sent: {reason} "
                        f"after {attempts} tries"},
                       State.FAILED, f"Not sent: {reason} after {attempts} tries")
    delay = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempts - 1))
    delay *= random.uniform(0.5, 1.0)  # jitter, so retries do not arrive all at once
    retry_at = now + timedelta(seconds=delay)
    return Outcome({"state": State.QUEUED, "attempts": attempts, "send_at": retry_at,
                    "error_code": error.code, "error_text": reason.capitalize()},
                   State.QUEUED, f"Not sent: {reason}; try {attempts + 1} of {MAX_ATTEMPTS} "
                   f"in {int(delay)} s")


def record_outcomes(done: list[tuple[Claimed, SendResult | Exception]]) -> None:
    """Write a group of results in one transaction."""
    now = utcnow()
    groups: dict[frozenset[str], list[dict]] = {}
    events = []
    for message, result in done:
        outcome = outcome_for(message, result, now)
        row = {"id": message.id, "claimed_by": None, "updated_at": now, **outcome.values}
        groups.setdefault(frozenset(row), []).append(row)
        events.append({"message_id": message.id, "at": now, "state": outcome.event_state,
                       "detail": outcome.detail[:300]})
        if outcome.alert:
            raise_alert(*outcome.alert)
    # Rows with the same columns to set go in one Core executemany (the ORM's
    # bulk path costs more than the gateway's answer).
    table = Message.__table__
    for rows in groups.values():
        columns = {key: bindparam(f"v_{key}") for key in rows[0] if key != "id"}
        db.session.execute(update(table).where(table.c.id == bindparam("v_id")).values(columns),
                           [{f"v_{key}": value for key, value in row.items()} for row in rows])
    db.session.execute(insert(MessageEvent.__table__), events)
    db.session.commit()


class SendPipeline:
    """Keeps the sending threads busy: claims more rows while earlier ones are in flight,
    and records answers in small groups as they arrive."""

    def __init__(self, rt: DispatcherRuntime, client: Client, max_messages: int | None):
        self.rt, self.client, self.max_messages = rt, client, max_messages
        self.pending: dict = {}
        self.done: list[tuple[Claimed, SendResult | Exception]] = []
        self.handled, self.exhausted = 0, False
        self.last_write = time.monotonic()
        # Claim little at a time under a rate cap, so rows are not "sending" for long.
        self.claim_size = max(32, rt.concurrency * 16)
        if rt.rate > 0:
            self.claim_size = max(1, min(self.claim_size, int(rt.rate * 2)))

    def top_up(self) -> None:
        """Claim another group when few sends are left in flight."""
        if self.exhausted or len(self.pending) > max(self.claim_size // 2, self.rt.concurrency):
            return
        size = self.claim_size
        if self.max_messages is not None:
            size = min(size, self.max_messages - self.handled)
        if size <= 0 or dispatch_paused():
            self.exhausted = True
            return
        batch = claim_due_messages(self.rt.id, size)
        self.exhausted = not batch
        for message in batch:
            future = self.rt.pool.submit(send_one, self.client, message, self.rt.limiter)
            self.pending[future] = message
        self.handled += len(batch)

    def collect(self) -> None:
        """Take finished sends; record them every RECORD_EVERY seconds or when idle."""
        finished, _ = wait(self.pending, timeout=RECORD_EVERY, return_when=FIRST_COMPLETED)
        for future in finished:
            self.done.append((self.pending.pop(future), future.result()))
        idle = not self.pending or self.exhausted
        if self.done and (idle or time.monotonic() - self.last_write >= RECORD_EVERY):
            record_with_retry(self.done)
            self.done, self.last_write = [], time.monotonic()

    def run(self) -> int:
        while True:
            self.top_up()
            if not self.pending:
                break
            self.collect()
        if self.done:
            record_with_retry(self.done)
        return self.handled


def record_with_retry(done: list[tuple[Claimed, SendResult | Exception]]) -> None:
    """Record results, trying again on a database error (a busy SQLite, a dropped link).

    If it still fails the rows stay ``sending`` and the next run makes them
    ``unknown``: the answers are lost, so that is the truth about them.
    """
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            record_outcomes(done)
            return
        except SQLAlchemyError:
            db.session.rollback()
            if attempt == RECORD_ATTEMPTS:
                raise
            log.warning("Could not record %s send result(s); trying again", len(done))
            time.sleep(0.5 * attempt)


def dispatch_due_messages(max_messages: int | None = None) -> int:
    """Send every due message (or up to ``max_messages``); returns how many were handled."""
    rt = runtime()
    if not rt.lock.acquire(blocking=False):
        return 0  # another thread of this process is already dispatching
    try:
        if time.monotonic() - rt.last_heartbeat >= HEARTBEAT_EVERY:
            heartbeat(rt.id)
            rt.last_heartbeat = time.monotonic()
        recover_interrupted_sends(rt.id, include_own=True)
        hold_for_quiet_hours()
        return SendPipeline(rt, get_client(), max_messages).run()
    finally:
        rt.lock.release()


# -- crash recovery ----------------------------------------------------------------


def heartbeat(dispatcher_id: str) -> None:
    """Tell other dispatchers this one is alive (commits)."""
    now = utcnow()
    row = db.session.get(Dispatcher, dispatcher_id)
    if row is None:
        host, pid, _ = dispatcher_id.rsplit(":", 2)
        db.session.add(Dispatcher(id=dispatcher_id, hostname=host, pid=int(pid),
                                  started_at=now, heartbeat_at=now))
    else:
        row.heartbeat_at = now
    db.session.commit()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_dispatchers(own_id: str | None = None) -> list[str]:
    """Dispatchers that cannot still be sending: gone from this host, or silent too long."""
    host = socket.gethostname()[:40]
    stale_before = utcnow() - HEARTBEAT_TIMEOUT
    dead = []
    for row in db.session.scalars(select(Dispatcher)):
        if row.id == own_id:
            continue
        # On this host a missing pid is proof; our own pid under another id is
        # an earlier run of this process (an app made again).
        same_host_gone = row.hostname == host and (
            not _pid_alive(row.pid) or row.pid == os.getpid())
        if same_host_gone or row.heartbeat_at < stale_before:
            dead.append(row.id)
    return dead


def recover_interrupted_sends(own_id: str | None = None, include_own: bool = False) -> int:
    """Rows left in ``sending`` by a dispatcher that died become ``unknown`` (commits).

    ``include_own`` also takes this process's own ``sending`` rows: right for a
    caller that knows none of them is in flight (a dispatch run, under its lock),
    e.g. after an earlier run could not record the gateway's answers.
    """
    own_id = own_id or runtime().id
    dead = dead_dispatchers(own_id) + ([own_id] if include_own else [])
    orphaned = select(Message.id).where(
        Message.state == State.SENDING,
        (Message.claimed_by.in_(dead)) | Message.claimed_by.is_(None)
        | ~Message.claimed_by.in_(select(Dispatcher.id)))
    now = utcnow()
    ids = db.session.scalars(orphaned).all()
    if ids:
        db.session.execute(
            update(Message).where(Message.id.in_(ids), Message.state == State.SENDING)
            .values(state=State.UNKNOWN, claimed_by=None, updated_at=now,
                    error_text="Interrupted while sending; it may have been sent")
            .execution_options(synchronize_session=False))
        db.session.execute(insert(MessageEvent.__table__), [
            {"message_id": i, "at": now, "state": State.UNKNOWN,
             "detail": "Interrupted while this message was being sent (the dashboard stopped "
                       "or could not record the answer); it may have been sent. It will not "
                       "be re-sent automatically."} for i in ids])
    gone = [d for d in dead if d != own_id]
    if gone:
        db.session.execute(delete(Dispatcher).where(Dispatcher.id.in_(gone)))
    db.session.commit()
    return len(ids)
