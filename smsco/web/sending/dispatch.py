"""The dispatcher: claims due messages atomically, sends them, records what happened.

At most once, never lost (DESIGN §3). A row is claimed (``queued`` →
``sending``) and committed before its request leaves; whatever happens next
is recorded truthfully. Only failures where no request can have reached the
gateway (no connection, or 2907) are retried, with capped jittered backoff.
A send that may have gone out becomes ``unknown`` and is never re-sent here.

Crashes: just before a request leaves, its row's ``journal`` is marked, in
the same short commit that keeps the outcome of the same sender's previous
request. So after a kill -9 at most one row per sender (``SMSCO_CONCURRENCY``
in all) may have left without its outcome on disk; recovery makes those
``unknown``, applies kept outcomes, and puts rows whose request never
started back in the queue. Row states are written in batches, as before.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from sqlalchemy import DateTime, Select, bindparam, delete, insert, select, update
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
RECORD_EVERY = 0.25  # seconds between commits of results while a batch runs
RECORD_BATCH = 64  # ... or sooner once this many wait
RECORD_CHUNK = 32  # rows per transaction, so senders never wait long for the database
# On SQLite the dispatch thread writes just after a sender's journal commit (see
# SendPipeline.write_turn), waiting at most this long for one.
WRITE_TURN_WAIT = 0.005
RECORD_ATTEMPTS = 3
# A message's journal once its request may have left (see Message.journal).
LEAVING = ""


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

    ``write_lock`` is held around the writes only (the choice of rows reads).
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
        rows = db.session.execute(
            update(table)
            .where(table.c.id.in_(ids), table.c.state == State.QUEUED)
            .values(state=State.SENDING, claimed_by=dispatcher_id, claimed_at=now,
                    updated_at=now)
            .returning(table.c.id, table.c.recipient, table.c.body, table.c.sender,
                       table.c.gateway_schedule, table.c.attempts)).all()
        if rows:
            db.session.execute(insert(MessageEvent.__table__), [
                {"message_id": row.id, "at": now, "state": State.SENDING,
                 "detail": N_("Picked up for sending")} for row in rows])
        db.session.commit()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


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
    """One sender's note: the outcome of its last request and the row it sends next."""

    answered: tuple[int, str] | None  # (id, outcome JSON)
    leaving: Claimed | None
    ours: bool = True  # False: the row to send is no longer this dispatcher's
    written: bool = False
    error: BaseException | None = None


class JournalError(Exception):
    """Another sender could not write the journal note of this one: do not send."""


class SendJournal:
    """The one write on the send path, made just before each request leaves.

    One statement, its own transaction, marks the row about to be sent (its
    request may have left) and keeps the outcome of the same sender's previous
    request as JSON. Only the unindexed ``journal`` column changes; the rows'
    states are written in batches by ``record_outcomes``. A row is touched only
    while it is still ``sending`` and claimed by this dispatcher.

    Group commit: senders that arrive while a note is being written wait, and
    the next of them writes all their notes in one statement. Plain driver SQL
    in autocommit on a driver connection: this runs once per message, and both
    SQLAlchemy's work per statement and each extra round trip to the driver
    (each lets other threads take the interpreter) would cost more than SQLite's.
    """

    def __init__(self, dispatcher_id: str, write_lock, paramstyle: str):
        self._mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}[paramstyle]
        self.dispatcher_id, self.write_lock = dispatcher_id, write_lock
        self._statements: dict[tuple[int, int], str] = {}
        self._waiting: list[JournalNote] = []
        self._waiting_lock = threading.Lock()
        self._writer = threading.Lock()
        self.committed = threading.Event()  # set after each commit

    @contextmanager
    def connection(self, engine) -> Iterator:
        """A driver connection in autocommit, for ``note``."""
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            yield connection.connection.driver_connection

    def note(self, connection, answered: tuple[int, str] | None,
             leaving: Claimed | None) -> bool:
        """Keep ``answered`` (id, outcome JSON) and mark ``leaving``; returns once written
        (on ``connection``, from ``connection()``, or on another waiting sender's).

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
            raise JournalError("The send journal could not be written") from note.error
        return note.ours

    def _write(self, connection, batch: list[JournalNote]) -> None:
        answers = [n.answered for n in batch if n.answered is not None]
        leaving = [n.leaving.id for n in batch if n.leaving is not None]
        params = [value for answer in answers for value in answer]
        params += [i for i, _ in answers] + leaving + [self.dispatcher_id]
        params += [i for i, _ in answers]
        cursor = connection.cursor()
        try:
            with self.write_lock:
                cursor.execute(self._statement(len(answers), len(leaving)), params)
            self.committed.set()
            marked = set(leaving)
            if cursor.rowcount != len(answers) + len(leaving):
                # Some row was not ours any more (or already written): which ones?
                marked = self._marked(cursor, leaving)
            for n in batch:
                n.ours = n.leaving is None or n.leaving.id in marked
        except BaseException as error:
            for n in batch:  # nothing was written: no sender of the batch sends
                n.error = error
        finally:
            cursor.close()
            for n in batch:
                n.written = True

    def _marked(self, cursor, leaving: list[int]) -> set[int]:
        if not leaving:
            return set()
        rows = ", ".join([self._mark] * len(leaving))
        cursor.execute(f"SELECT id FROM message WHERE id IN ({rows}) "  # noqa: S608
                       f"AND state = 'sending' AND claimed_by = {self._mark} AND journal = ''",
                       [*leaving, self.dispatcher_id])
        return {row[0] for row in cursor.fetchall()}

    def _statement(self, answers: int, leaving: int) -> str:
        """UPDATE setting each answered row's outcome and '' on each leaving row (only
        if still unmarked). Only placeholders vary. No RETURNING: each step of a
        statement lets other threads take the interpreter, and one is enough."""
        key = (answers, leaving)
        if key not in self._statements:
            mark = self._mark
            value, unmarked = "''", "journal IS NULL"
            if answers:
                cases = " ".join([f"WHEN {mark} THEN {mark}"] * answers)
                value = f"CASE id {cases} ELSE '' END"
                unmarked = f"(journal IS NULL OR id IN ({', '.join([mark] * answers)}))"
            rows = ", ".join([mark] * (answers + leaving))
            self._statements[key] = (
                f"UPDATE message SET journal = {value} WHERE id IN ({rows}) "  # noqa: S608
                f"AND state = 'sending' AND claimed_by = {mark} AND {unmarked}")
        return self._statements[key]


def applied_values(outcome: Outcome, now: datetime) -> dict:
    """The columns a row gets when ``outcome`` is written and its claim ends."""
    return {"claimed_by": None, "journal": None, "updated_at": now, **outcome.values}


def record_outcomes(dispatcher_id: str, done: Iterable[tuple[Claimed, Outcome]]) -> None:
    """Write a group of outcomes (states and timeline) in one transaction."""
    now = utcnow()
    groups: dict[frozenset[str], list[dict]] = {}
    events = []
    for message, outcome in done:
        row = {"id": message.id, **applied_values(outcome, now)}
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
        statement = update(table).where(
            table.c.id == bindparam("v_id"), table.c.state == State.SENDING,
            table.c.claimed_by == dispatcher_id).values(columns)
        db.session.execute(statement,
                           [{f"v_{key}": value for key, value in row.items()} for row in rows])
    db.session.execute(insert(MessageEvent.__table__), events)
    db.session.commit()


def record_with_retry(dispatcher_id: str, done: list[tuple[Claimed, Outcome]],
                      write_turn: Callable[[], AbstractContextManager]) -> None:
    """Record outcomes, RECORD_CHUNK rows per transaction (each in a ``write_turn``),
    trying again on a database error (a busy SQLite, a dropped link).

    If it still fails the rows stay ``sending`` with their outcomes in the
    journal, and the next run writes them.
    """
    for start in range(0, len(done), RECORD_CHUNK):
        chunk = done[start:start + RECORD_CHUNK]
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                with write_turn():
                    record_outcomes(dispatcher_id, chunk)
                break
            except SQLAlchemyError:
                db.session.rollback()
                if attempt == RECORD_ATTEMPTS:
                    raise
                log.warning("Could not record %s send result(s); trying again", len(chunk))
                time.sleep(0.5 * attempt)


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


SENDER_DONE = None  # what a sender thread puts on the answer queue when it ends


class SendPipeline:
    """One dispatch run: this thread claims rows into a feed and records outcomes in
    batches; up to ``concurrency`` sender threads journal and send one row at a time."""

    def __init__(self, app: Flask, rt: DispatcherRuntime, client: Client,
                 max_messages: int | None):
        self.app, self.rt, self.client, self.max_messages = app, rt, client, max_messages
        self.feed = Feed()
        self.journal = SendJournal(rt.id, rt.db_writes, db.engine.dialect.paramstyle)
        self.answers: queue.SimpleQueue = queue.SimpleQueue()
        self.wake = threading.Event()  # senders wake this thread only when there is work
        self.senders: list[Future] = []
        self.finished_senders = 0
        self.done: list[tuple[Claimed, Outcome]] = []
        self.handled, self.exhausted = 0, False
        self.last_write = time.monotonic()
        # Claim little at a time under a rate cap, so rows are not "sending" for long.
        self.claim_size = max(32, rt.concurrency * 16)
        if rt.limiter.interval:
            self.claim_size = max(1, min(self.claim_size, int(2 / rt.limiter.interval)))
        self.low_water = max(self.claim_size // 2, rt.concurrency)

    def run(self) -> int:
        try:
            self.top_up()
            while self.finished_senders < len(self.senders):
                self.collect()
                self.top_up()
        finally:
            # After an error, rows not yet sent stay claimed with an empty journal:
            # the next run puts them back in the queue.
            self.feed.close(drop=True)
            wait(self.senders)
            while not self.answers.empty():
                self._take_answer(self.answers.get())
            if self.done:
                record_with_retry(self.rt.id, self.done, self.write_turn)
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
            batch = claim_due_messages(self.rt.id, size, self.write_turn())
        if not batch:
            self.exhausted = True
            self.feed.close()
            return
        self.feed.put(batch)
        self.handled += len(batch)
        while len(self.senders) < min(self.rt.concurrency, self.handled):
            self.senders.append(self.rt.senders.submit(self.send_from_feed))

    def collect(self) -> None:
        """Take answers; record them in batches, or at once when no more rows will come."""
        self.wake.wait(RECORD_EVERY)
        self.wake.clear()
        with suppress(queue.Empty):
            while True:
                self._take_answer(self.answers.get_nowait())
        due = (len(self.done) >= RECORD_BATCH or self.exhausted
               or time.monotonic() - self.last_write >= RECORD_EVERY)
        if self.done and due:
            record_with_retry(self.rt.id, self.done, self.write_turn)
            self.done, self.last_write = [], time.monotonic()

    @contextmanager
    def write_turn(self) -> Iterator[None]:
        """Hold the database for a write of this thread.

        On SQLite a sender waits for the database while this thread writes, so
        the write starts just after a sender's journal commit, while the senders
        wait for the gateway.
        """
        if self.rt.sqlite:
            self.journal.committed.clear()
            self.journal.committed.wait(WRITE_TURN_WAIT)
        with self.rt.db_writes:
            yield

    def _take_answer(self, answer: tuple[Claimed, Outcome] | None) -> None:
        if answer is SENDER_DONE:
            self.finished_senders += 1
        else:
            self.done.append(answer)

    def send_from_feed(self) -> None:
        """A sender thread: journal, send, answer; one row at a time until the feed ends."""
        try:
            with self.app.app_context(), self.journal.connection(db.engine) as connection:
                self._send_rows(connection)
        finally:
            self.answers.put(SENDER_DONE)
            self.wake.set()

    def _send_rows(self, connection) -> None:
        answered = None
        while True:
            message = self.feed.take()
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
            self.answers.put((message, outcome))
            if (self.exhausted or len(self.feed) <= self.low_water
                    or self.answers.qsize() >= RECORD_BATCH):
                self.wake.set()
            answered = (message.id, outcome.to_json())


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
    answered: int = 0  # their outcome was in the journal: written now

    def __bool__(self) -> bool:
        return bool(self.requeued or self.unknown or self.answered)


REQUEUED_DETAIL = N_("Sending stopped before this message's request left, so nothing was "
                     "sent; it is back in the queue.")
INTERRUPTED_TEXT = N_("Interrupted while sending; it may have been sent")
INTERRUPTED_DETAIL = N_("Interrupted while this message was being sent (the dashboard stopped "
                        "or could not record the answer); it may have been sent. It will not "
                        "be re-sent automatically.")


def recover_interrupted_sends(include_own: bool = False) -> Recovered:
    """Settle the rows left ``sending`` by dispatchers that are gone (commits).

    By each row's journal: no request started → back to ``queued``; a request
    may have left → ``unknown``; an outcome kept → written. ``include_own``
    also takes this dispatcher's own rows: right for a caller that knows none
    is in flight (a dispatch run, under its lock), e.g. after an earlier run
    could not record its answers.
    """
    rt = runtime()
    dead = rt.judge.dead(db.session.scalars(select(Dispatcher)).all())
    owners = dead + ([rt.id] if include_own else [])
    stranded = db.session.execute(select(Message.id, Message.claimed_by, Message.journal).where(
        Message.state == State.SENDING,
        Message.claimed_by.in_(owners) | Message.claimed_by.is_(None)
        | Message.claimed_by.not_in(select(Dispatcher.id)))).all()
    recovered = Recovered()
    with rt.db_writes:
        for row in stranded:
            if _settle(row, _recovery_outcome(row.journal)):
                kind = ("requeued" if row.journal is None else
                        "unknown" if row.journal == LEAVING else "answered")
                setattr(recovered, kind, getattr(recovered, kind) + 1)
        if dead:
            db.session.execute(delete(Dispatcher).where(Dispatcher.id.in_(dead)))
        db.session.commit()
    return recovered


def _recovery_outcome(journal: str | None) -> Outcome:
    if journal is None:
        return Outcome({"state": State.QUEUED}, State.QUEUED, REQUEUED_DETAIL)
    if journal == LEAVING:
        return Outcome({"state": State.UNKNOWN, "error_code": None,
                        "error_text": INTERRUPTED_TEXT}, State.UNKNOWN, INTERRUPTED_DETAIL)
    return Outcome.from_json(journal)


def _settle(row, outcome: Outcome) -> bool:
    """Write ``outcome`` unless the row changed since it was read (its dispatcher
    was alive after all and went on); True when written."""
    now = utcnow()
    changed = db.session.execute(
        update(Message).where(Message.id == row.id, Message.state == State.SENDING,
                              Message.claimed_by.is_not_distinct_from(row.claimed_by),
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
