"""The dispatcher: claims due messages atomically, sends them, records what happened.

At most once, never lost (DESIGN §3). A row is claimed (``queued`` →
``sending``) and committed before its request leaves; whatever happens next
is recorded truthfully. Only failures where no request can have reached the
gateway (no connection, or 2907) are retried, with capped jittered backoff.
A send that may have gone out becomes ``unknown`` and is never re-sent here.

Crashes: each sender writes, in one short commit just before its next
request leaves, the outcome of its previous request and the mark
``request_started_at`` on the row about to be sent. So after a kill -9 at
most one row per sender (``SMSCO_CONCURRENCY`` in all) may have left without
its outcome on disk: recovery makes those ``unknown`` and puts the rows whose
request never started back in the queue.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from sqlalchemy import DateTime, Select, delete, insert, select, update

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
from .liveness import Heartbeat, LivenessJudge, new_dispatcher_id
from .outbox import N_
from .quiet_hours import quiet_until

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_BASE_SECONDS = 5
RETRY_CAP_SECONDS = 300
# Status checks of one message back off in steps of the status interval: with
# the default 30 s that is 15 s, 30 s, 1, 2, 5, 10, 20, 30 min, then hourly.
CHECK_BACKOFF_STEPS = [0.5, 1, 2, 4, 10, 20, 40, 60, 120]
MAX_CHECK_DELAY = timedelta(hours=1)
WRITE_ATTEMPTS = 3  # a sender's write, tried again on a database error
# Rows' states and timelines are written every WRITE_EVERY seconds, or once
# WRITE_BATCH timeline entries wait (until then outcomes are kept in the journal).
WRITE_EVERY = 0.25
WRITE_BATCH = 128
# On SQLite a claim waits at most this long for a moment when no sender writes.
CLAIM_TURN_WAIT = 0.005


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
    """What to write for one claimed row; kept as JSON in its journal until written."""

    values: dict
    event_state: str | None
    detail: str
    alert: tuple[str, str] | None = None

    def to_json(self) -> str:
        return json.dumps({"values": self.values, "event_state": self.event_state,
                           "detail": self.detail, "alert": self.alert},
                          default=datetime.isoformat)

    @classmethod
    def from_json(cls, text: str) -> Outcome:
        data = json.loads(text)
        values = {key: datetime.fromisoformat(value)
                  if key in _DATETIME_COLUMNS and value is not None else value
                  for key, value in data["values"].items()}
        alert = tuple(data["alert"]) if data["alert"] else None
        return cls(values, data["event_state"], data["detail"], alert)


_DATETIME_COLUMNS = {column.name for column in Message.__table__.columns
                     if isinstance(column.type, DateTime)}


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


class DispatcherRuntime:
    """Per-process dispatcher state: identity, heartbeat, threads, rate limiter."""

    def __init__(self, app: Flask):
        config = app.config
        self.concurrency = max(1, int(config["SMSCO_CONCURRENCY"]))
        self.id = new_dispatcher_id()
        # SQLite has one writer at a time and makes a blocked writer sleep for whole
        # milliseconds; this process's writers on the send path take turns on a lock.
        self.sqlite = str(config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite")
        self.db_writes = threading.Lock() if self.sqlite else nullcontext()
        self.lock = threading.Lock()  # one dispatch run at a time
        self.limiter = RateLimiter(float(config["SMSCO_RATE"]))
        self.senders = ThreadPoolExecutor(max_workers=self.concurrency,
                                          thread_name_prefix="smsco-send")
        self.status_pool = ThreadPoolExecutor(max_workers=self.concurrency,
                                              thread_name_prefix="smsco-status")
        timeout = float(config["SMSCO_HEARTBEAT_TIMEOUT"])
        self.heartbeat = Heartbeat(app, self.id, timeout, self.db_writes)
        self.judge = LivenessJudge(self.id, timeout)

    def start(self) -> None:
        """Register and start the heartbeat (in an app context; once)."""
        self.heartbeat.start()

    def stop(self) -> None:
        """Stop the heartbeat and the threads."""
        self.heartbeat.stop()
        self.senders.shutdown(wait=True, cancel_futures=True)
        self.status_pool.shutdown(wait=True, cancel_futures=True)


def runtime(app: Flask | None = None) -> DispatcherRuntime:
    """This process's dispatcher runtime, made on first use."""
    app = app or current_app._get_current_object()
    if "smsco_dispatcher" not in app.extensions:
        app.extensions["smsco_dispatcher"] = DispatcherRuntime(app)
    return app.extensions["smsco_dispatcher"]


def stop_dispatcher(app: Flask) -> None:
    """Stop this app's dispatcher threads (the scheduler stopping, a test's app torn down)."""
    rt = app.extensions.pop("smsco_dispatcher", None)
    if rt is not None:
        rt.stop()


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


def claim_due_messages(dispatcher_id: str, limit: int,
                       write_lock: AbstractContextManager | None = None) -> list[Claimed]:
    """Atomically move up to ``limit`` due rows from queued to sending; commit.

    ``write_lock`` is held around the write only: choosing the rows and reading
    them back are reads.
    """
    now = utcnow()
    # Single messages first, so a big campaign never starves them.
    ids = lock_ids(select(Message.id)
                   .where(Message.state == State.QUEUED, Message.send_at <= now)
                   .order_by(Message.priority, Message.send_at, Message.id)
                   .limit(limit))
    if not ids:
        db.session.commit()
        return []
    table = Message.__table__
    with write_lock or nullcontext():
        # The state condition makes the claim safe where nothing was locked (SQLite).
        db.session.execute(
            update(table).where(table.c.id.in_(ids), table.c.state == State.QUEUED)
            .values(state=State.SENDING, claimed_by=dispatcher_id, claimed_at=now,
                    request_started_at=None, journal=None, updated_at=now))
        db.session.commit()
    rows = db.session.execute(
        select(table.c.id, table.c.recipient, table.c.body, table.c.sender,
               table.c.gateway_schedule, table.c.attempts)
        .where(table.c.id.in_(ids), table.c.state == State.SENDING,
               table.c.claimed_by == dispatcher_id).order_by(table.c.id)).all()
    db.session.commit()
    return [Claimed(*row) for row in rows]


# -- sending -----------------------------------------------------------------------


def send_one(client: Client, message: Claimed) -> SendResult | Exception:
    """Send one claimed message; returns the result or the exception (never raises)."""
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


# -- the journal and the record ---------------------------------------------------


@dataclass
class JournalNote:
    """One sender's write: the outcome of its last request and the row it sends next."""

    answered: tuple[Claimed, Outcome] | None
    leaving: Claimed | None
    ours: bool = True  # False: the row to send is no longer this dispatcher's
    written: bool = False
    error: BaseException | None = None


class JournalError(Exception):
    """A sender's write failed: it must not send."""


SENDING_DETAIL = N_("Sending to the gateway")


class SendJournal:
    """The one write on the send path: one short commit just before each request leaves.

    It keeps the outcome of the sender's previous request as JSON in its row's
    ``journal`` and sets ``request_started_at`` on the row about to be sent,
    touching only unindexed columns of rows still ``sending`` and claimed by
    this dispatcher, so it stays cheap. The rows' states and timeline entries,
    which touch many indexes, are written in batches by the same commits every
    WRITE_EVERY seconds. Group commit: senders that arrive while another writes
    wait, and the next of them writes for all. Plain driver SQL built once per
    shape: this runs for every message, and SQLAlchemy's own work per statement
    would cost more than the database's.
    """

    def __init__(self, dispatcher_id: str, write_lock: AbstractContextManager, dialect):
        self.dispatcher_id, self.write_lock = dispatcher_id, write_lock
        self._mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}[dialect.paramstyle]
        self._to_db = {column.name: column.type.bind_processor(dialect)
                       for column in Message.__table__.columns}
        self._event_at = MessageEvent.__table__.c.at.type.bind_processor(dialect)
        self._db_error = dialect.loaded_dbapi.Error
        self._statements: dict[tuple, str] = {}
        self._waiting: list[JournalNote] = []
        self._waiting_lock = threading.Lock()
        self._writer = threading.Lock()
        # Kept in journals, not yet written to rows (touched by the writer only).
        self._answers: list[tuple[int, Outcome]] = []
        self._events: list[tuple[int, datetime, str | None, str]] = []
        self.committed = threading.Event()  # set after each commit

    @contextmanager
    def connection(self, engine) -> Iterator:
        """A driver connection from the pool, for ``note``."""
        pooled = engine.raw_connection()
        try:
            yield pooled.driver_connection
        finally:
            pooled.close()

    def note(self, connection, answered: tuple[Claimed, Outcome] | None,
             leaving: Claimed | None) -> bool:
        """Write ``answered`` and mark ``leaving``; returns once committed (on
        ``connection``, or on another waiting sender's).

        False when ``leaving`` is no longer this dispatcher's (another one recovered
        it): it must not be sent.
        """
        if answered is None and leaving is None:
            return True
        note = JournalNote(answered, leaving)
        with self._waiting_lock:
            self._waiting.append(note)
        with self._writer:
            if not note.written:
                with self._waiting_lock:
                    batch, self._waiting = self._waiting, []
                self._write(connection, batch)
        if note.error is not None:
            raise JournalError("Could not write the results of sending") from note.error
        return note.ours

    def _write(self, connection, batch: list[JournalNote]) -> None:
        try:
            marked = set(self._write_with_retry(connection, batch))
            for n in batch:
                n.ours = n.leaving is None or n.leaving.id in marked
        except BaseException as error:
            for n in batch:  # nothing was written: no sender of the batch sends
                n.error = error
        finally:
            for n in batch:
                n.written = True

    def _write_with_retry(self, connection, batch: list[JournalNote]) -> list[int]:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self.write_lock:
                    marked = self._write_once(connection, batch)
                self.committed.set()
                return marked
            except self._db_error:
                with suppress(Exception):
                    connection.rollback()
                if attempt == WRITE_ATTEMPTS:
                    raise
                log.warning("Could not write the results of sending; trying again")
                time.sleep(0.2 * attempt)
        raise AssertionError("unreachable")

    def _write_once(self, connection, batch: list[JournalNote]) -> list[int]:
        """One transaction; returns the ids of the leaving rows marked."""
        now = utcnow()
        answered = [n.answered for n in batch if n.answered is not None]
        cursor = connection.cursor()
        try:
            if answered:
                cursor.execute(self._statement("keep", len(answered)),
                               [value for message, outcome in answered
                                for value in (message.id, outcome.to_json())]
                               + [message.id for message, _ in answered] + [self.dispatcher_id])
            marked = self._mark_leaving(cursor, [n.leaving.id for n in batch if n.leaving], now)
            answers = self._answers + [(message.id, outcome) for message, outcome in answered]
            events = self._events + [(message.id, now, outcome.event_state, outcome.detail[:300])
                                     for message, outcome in answered]
            events += [(message_id, now, State.SENDING, SENDING_DETAIL) for message_id in marked]
            finishing = any(n.leaving is None for n in batch)
            if events and (finishing or len(events) >= WRITE_BATCH
                           or (now - events[0][1]).total_seconds() >= WRITE_EVERY):
                self._write_rows(cursor, answers, events, now)
                answers, events = [], []
            connection.commit()
            self._answers, self._events = answers, events
            return marked
        finally:
            cursor.close()

    def _write_rows(self, cursor, answers: list[tuple[int, Outcome]], events: list,
                    now: datetime) -> None:
        """Write kept outcomes to their rows (one UPDATE per set of columns) and the
        waiting timeline entries."""
        groups: dict[tuple[str, ...], list[list]] = {}
        for message_id, outcome in answers:
            columns = tuple(sorted(outcome.values))
            groups.setdefault(columns, []).append(
                [self._db(column, outcome.values[column]) for column in columns]
                + [self._db("updated_at", now), message_id, self.dispatcher_id])
        for columns, rows in groups.items():
            cursor.executemany(self._statement("answer", columns), rows)
        if events:
            cursor.execute(self._statement("events", len(events)), [
                value for message_id, at, state, detail in events
                for value in (message_id, self._event_at(at) if self._event_at else at, state,
                              detail)])

    def _mark_leaving(self, cursor, leaving: list[int], now: datetime) -> list[int]:
        if not leaving:
            return []
        cursor.execute(self._statement("mark", len(leaving)),
                       [self._db("request_started_at", now), *leaving, self.dispatcher_id])
        if cursor.rowcount == len(leaving):
            return leaving
        # Some row was no longer ours: which ones are marked?
        cursor.execute(self._statement("marked", len(leaving)), [*leaving, self.dispatcher_id])
        return [row[0] for row in cursor.fetchall()]

    def _db(self, column: str, value):
        processor = self._to_db[column]
        return processor(value) if processor is not None else value

    # {p} is the driver's placeholder; the other fields get placeholders and our own
    # column names, never values.
    SQL: ClassVar[dict[str, str]] = {
        "keep": "UPDATE message SET journal = CASE id {cases} END WHERE id IN ({ids}) "
                "AND state = 'sending' AND claimed_by = {p}",
        "answer": "UPDATE message SET {columns}, claimed_by = NULL, journal = NULL, "
                  "updated_at = {p} WHERE id = {p} AND state = 'sending' AND claimed_by = {p}",
        "mark": "UPDATE message SET request_started_at = {p} WHERE id IN ({ids}) "
                "AND state = 'sending' AND claimed_by = {p} AND request_started_at IS NULL",
        "marked": "SELECT id FROM message WHERE id IN ({ids}) AND state = 'sending' "
                  "AND claimed_by = {p} AND request_started_at IS NOT NULL",
        "events": "INSERT INTO message_event (message_id, at, state, detail) VALUES {rows}",
    }

    def _statement(self, kind: str, shape) -> str:
        """The driver SQL of one kind and shape (columns set, or how many rows), built once."""
        key = (kind, shape)
        if key not in self._statements:
            p = self._mark
            if kind == "answer":
                parts = {"columns": ", ".join(f"{column} = {p}" for column in shape)}
            elif kind == "keep":
                parts = {"cases": " ".join([f"WHEN {p} THEN {p}"] * shape),
                         "ids": ", ".join([p] * shape)}
            elif kind == "events":
                parts = {"rows": ", ".join([f"({p}, {p}, {p}, {p})"] * shape)}
            else:
                parts = {"ids": ", ".join([p] * shape)}
            self._statements[key] = self.SQL[kind].format(p=p, **parts)
        return self._statements[key]


def applied_values(outcome: Outcome, now: datetime) -> dict:
    """The columns a row gets when ``outcome`` is written and its claim ends."""
    return {"claimed_by": None, "journal": None, "updated_at": now, **outcome.values}


# -- the pipeline ------------------------------------------------------------------


class Feed:
    """Claimed rows waiting for a free sender; ``take`` gives None once closed and empty."""

    def __init__(self) -> None:
        self._rows: deque[Claimed] = deque()
        self._changed = threading.Condition()
        self._closed = False

    def __len__(self) -> int:
        return len(self._rows)

    def put(self, rows: list[Claimed]) -> None:
        with self._changed:
            self._rows.extend(rows)
            self._changed.notify(len(rows))

    def close(self, drop: bool = False) -> None:
        """No more rows will come; with ``drop``, rows not yet taken are not sent either."""
        with self._changed:
            self._closed = True
            if drop:
                self._rows.clear()
            self._changed.notify_all()

    def take(self) -> Claimed | None:
        with self._changed:
            self._changed.wait_for(lambda: self._rows or self._closed)
            return self._rows.popleft() if self._rows else None


class SendPipeline:
    """One dispatch run: this thread claims rows into a feed as it runs low; up to
    ``concurrency`` sender threads send them one at a time, each writing its previous
    answer and marking its next row in one commit before the request leaves."""

    def __init__(self, app: Flask, rt: DispatcherRuntime, client: Client,
                 max_messages: int | None):
        self.app, self.rt, self.client, self.max_messages = app, rt, client, max_messages
        self.feed = Feed()
        self.journal = SendJournal(rt.id, rt.db_writes, db.engine.dialect)
        self.alerts: queue.SimpleQueue = queue.SimpleQueue()
        self.wake = threading.Event()  # senders wake this thread only when there is work
        self.senders: list[Future] = []
        self.finished = 0
        self._finished_lock = threading.Lock()
        self.handled, self.exhausted = 0, False
        # Claim little at a time under a rate cap, so rows are not "sending" for long.
        self.claim_size = max(32, rt.concurrency * 16)
        if rt.limiter.interval:
            self.claim_size = max(1, min(self.claim_size, int(2 / rt.limiter.interval)))
        self.low_water = max(self.claim_size // 2, rt.concurrency)

    def run(self) -> int:
        try:
            self.top_up()
            while self.finished < len(self.senders):
                self.wake.wait(1.0)
                self.wake.clear()
                self.raise_alerts()
                self.top_up()
        finally:
            # After an error, rows not yet sent stay claimed without a started
            # request: the next run puts them back in the queue.
            self.feed.close(drop=True)
            wait(self.senders)
            self.raise_alerts()
        for sender in self.senders:
            sender.result()  # a sender's error, raised here
        return self.handled

    def top_up(self) -> None:
        """Claim another group when the feed runs low; close it when nothing is due."""
        if self.exhausted or len(self.feed) > self.low_water:
            return
        size = self.claim_size
        if self.max_messages is not None:
            size = min(size, self.max_messages - self.handled)
        batch = []
        if size > 0 and not dispatch_paused():
            batch = claim_due_messages(self.rt.id, size, self.claim_turn())
        if not batch:
            self.exhausted = True
            self.feed.close()
            return
        self.feed.put(batch)
        self.handled += len(batch)
        while len(self.senders) < min(self.rt.concurrency, self.handled):
            self.senders.append(self.rt.senders.submit(self.send_from_feed))

    @contextmanager
    def claim_turn(self) -> Iterator[None]:
        """Hold the database for a claim. On SQLite senders wait while it writes, so it
        starts just after a sender's commit, while the senders wait for the gateway."""
        if self.rt.sqlite and self.senders:
            self.journal.committed.clear()
            self.journal.committed.wait(CLAIM_TURN_WAIT)
        with self.rt.db_writes:
            yield

    def raise_alerts(self) -> None:
        """Pause dispatch for the conditions the gateway reported (credit, account)."""
        if self.alerts.empty():
            return
        with self.rt.db_writes:
            while not self.alerts.empty():
                raise_alert(*self.alerts.get())
            db.session.commit()

    def send_from_feed(self) -> None:
        """A sender thread: one row at a time until the feed ends."""
        try:
            with self.app.app_context(), self.journal.connection(db.engine) as connection:
                self._send_rows(connection)
        finally:
            with self._finished_lock:
                self.finished += 1
            self.wake.set()

    def _send_rows(self, connection) -> None:
        answered = None
        while True:
            message = self.feed.take()
            if not self.exhausted and len(self.feed) <= self.low_water:
                self.wake.set()
            if message is not None:
                self.rt.limiter.wait()
            ours = self.journal.note(connection, answered, message)
            answered = None
            if message is None:
                return
            if not ours:
                log.warning("Message %s was recovered by another dispatcher before it was "
                            "sent; not sending it", message.id)
                continue
            outcome = outcome_for(message, send_one(self.client, message), utcnow())
            if outcome.alert:
                self.alerts.put(outcome.alert)
                self.wake.set()
            answered = (message, outcome)


def dispatch_due_messages(max_messages: int | None = None) -> int:
    """Send every due message (or up to ``max_messages``); returns how many were handled."""
    app = current_app._get_current_object()
    rt = runtime(app)
    if not rt.lock.acquire(blocking=False):
        return 0  # another thread of this process is already dispatching
    try:
        rt.start()
        recover_interrupted_sends(include_own=True)
        hold_for_quiet_hours()
        return SendPipeline(app, rt, get_client(), max_messages).run()
    finally:
        rt.lock.release()


# -- crash recovery ----------------------------------------------------------------


@dataclass
class Recovered:
    """What recovery did with the rows a dispatcher left ``sending``."""

    requeued: int = 0  # their request had not started: they go out again
    unknown: int = 0  # their request may have left: never re-sent automatically
    answered: int = 0  # their outcome was kept in the journal: written now

    def __bool__(self) -> bool:
        return bool(self.requeued or self.unknown or self.answered)


REQUEUED_DETAIL = N_("Sending stopped before this message's request left, so nothing was "
                     "sent; it is back in the queue.")
INTERRUPTED_TEXT = N_("Interrupted while sending; it may have been sent")
INTERRUPTED_DETAIL = N_("Interrupted while this message was being sent (the dashboard stopped "
                        "or could not record the answer); it may have been sent. It will not "
                        "be re-sent automatically.")
REQUEUED = Outcome({"state": State.QUEUED}, State.QUEUED, REQUEUED_DETAIL)
INTERRUPTED = Outcome({"state": State.UNKNOWN, "error_code": None,
                       "error_text": INTERRUPTED_TEXT}, State.UNKNOWN, INTERRUPTED_DETAIL)


def recover_interrupted_sends(include_own: bool = False) -> Recovered:
    """Settle the rows left ``sending`` by dispatchers that are gone (commits).

    A row whose request had not started goes back to ``queued``; one whose
    outcome was kept in the journal gets it; one whose request may have left
    without an outcome becomes ``unknown``. ``include_own`` also takes this
    dispatcher's own rows: right for a caller that knows none is in flight (a
    dispatch run, under its lock), e.g. after an earlier run could not write.
    """
    rt = runtime()
    dead = rt.judge.dead(db.session.scalars(select(Dispatcher)).all())
    owners = dead + ([rt.id] if include_own else [])
    stranded = db.session.execute(
        select(Message.id, Message.claimed_by, Message.request_started_at, Message.journal)
        .where(
            Message.state == State.SENDING,
            Message.claimed_by.in_(owners) | Message.claimed_by.is_(None)
            | Message.claimed_by.not_in(select(Dispatcher.id)))).all()
    recovered = Recovered()
    with rt.db_writes:
        for row in stranded:
            kind, outcome = _recovery_outcome(row)
            if _settle(row, outcome):
                setattr(recovered, kind, getattr(recovered, kind) + 1)
        if dead:
            db.session.execute(delete(Dispatcher).where(Dispatcher.id.in_(dead)))
        db.session.commit()
    return recovered


def _recovery_outcome(row) -> tuple[str, Outcome]:
    if row.journal is not None:
        return "answered", Outcome.from_json(row.journal)
    if row.request_started_at is not None:
        return "unknown", INTERRUPTED
    return "requeued", REQUEUED


def _settle(row, outcome: Outcome) -> bool:
    """Write ``outcome`` unless the row changed since it was read (its dispatcher
    was alive after all and went on); True when written."""
    now = utcnow()
    changed = db.session.execute(
        update(Message).where(
            Message.id == row.id, Message.state == State.SENDING,
            Message.claimed_by.is_not_distinct_from(row.claimed_by),
            Message.request_started_at.is_not_distinct_from(row.request_started_at),
            Message.journal.is_not_distinct_from(row.journal))
        .values(applied_values(outcome, now)).execution_options(synchronize_session=False))
    if not changed.rowcount:
        return False
    db.session.execute(insert(MessageEvent.__table__), [
        {"message_id": row.id, "at": now, "state": outcome.event_state,
         "detail": outcome.detail[:300]}])
    if outcome.alert:
        raise_alert(*outcome.alert)
    return True
