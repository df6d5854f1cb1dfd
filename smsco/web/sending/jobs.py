"""Scheduled jobs: dispatch, delivery-status polling, balance snapshots, report tallies.

The scheduler (APScheduler 3) runs in exactly one process (DESIGN §3): the
dev server of ``make run``, or ``flask --app app worker``. Jobs are
module-level functions with fixed ids, ``max_instances=1`` and
``coalesce=True``, each run inside an app context; they are idempotent.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import as_completed
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from flask import Flask, current_app
from sqlalchemy import select, update

from smsco import AuthError, DeliveryStatus, SmscoError

from ..extensions import db
from ..models import BalanceSnapshot, Message, State, utcnow
from .dispatch import (
    AlertKind,
    clear_alerts,
    dispatch_due_messages,
    lock_ids,
    next_check_delay,
    raise_alert,
    recover_interrupted_sends,
    runtime,
    stop_dispatcher,
)
from .gateway import get_client
from .outbox import record_event
from .tallies import fold_pending_tallies

log = logging.getLogger(__name__)

GIVE_UP_AFTER = timedelta(hours=72)
STATUS_BATCH = 200
# A row being checked is leased for this long so another worker skips it.
CHECK_LEASE = timedelta(seconds=60)
# After a dispatch run sent something, read the balance again this soon.
BALANCE_REFRESH_AFTER_SENDING = 5
# Seconds between folds of the reports' tally deltas (reports are exact either way;
# folding keeps the deltas they add up few).
TALLY_INTERVAL = 10


# -- status ----------------------------------------------------------------------


def apply_gateway_status(message: Message, status: DeliveryStatus) -> None:
    """Record a status read from the gateway: timeline, state, next check (commits)."""
    now = utcnow()
    if status != message.gateway_status:
        message.gateway_status = int(status)
        new_state = None
        if status is DeliveryStatus.DELIVERED:
            new_state = State.DELIVERED
        elif status.is_final:
            new_state = State.FAILED
            message.error_text = f"Gateway status: {status.label}"
        if new_state and message.state in (State.SENT, State.UNKNOWN):
            message.state = new_state
        record_event(message, new_state, int(status), f"Gateway status: {status.label}")
    message.checks += 1
    if status.is_final:
        message.next_check_at = None
    else:
        _schedule_next_check_or_give_up(message, now)
    db.session.commit()


def _schedule_next_check_or_give_up(message: Message, now: datetime) -> None:
    if message.sent_at and now - message.sent_at >= GIVE_UP_AFTER:
        message.state, message.next_check_at = State.UNKNOWN, None
        message.error_text = "No final delivery status from the gateway after 72 hours"
        record_event(message, State.UNKNOWN, None, message.error_text)
    else:
        message.next_check_at = now + next_check_delay(message.checks)


def lease_due_checks(limit: int = STATUS_BATCH) -> list[int]:
    """Ids of sent messages whose check is due, leased so no other worker takes them."""
    now = utcnow()
    ids = lock_ids(select(Message.id)
                   .where(Message.state == State.SENT, Message.next_check_at <= now)
                   .order_by(Message.next_check_at).limit(limit))
    leased = []
    if ids:
        leased = db.session.scalars(
            update(Message)
            .where(Message.id.in_(ids), Message.state == State.SENT,
                   Message.next_check_at <= now)
            .values(next_check_at=now + CHECK_LEASE)
            .returning(Message.id).execution_options(synchronize_session=False)).all()
    db.session.commit()
    return list(leased)


def poll_statuses() -> int:
    """Check every due ``sent`` message once; returns how many were checked."""
    ids = lease_due_checks()
    if not ids:
        return 0
    messages = db.session.scalars(select(Message).where(Message.id.in_(ids))).all()
    client, rt = get_client(), runtime()
    futures = {rt.status_pool.submit(client.status, m.mes_id): m
               for m in messages if m.mes_id}
    for future in as_completed(futures):
        message = futures[future]
        try:
            apply_gateway_status(message, future.result())
        except AuthError:
            raise_alert(AlertKind.AUTH, "Invalid username/password (2905)")
            message.next_check_at = utcnow() + next_check_delay(message.checks)
            db.session.commit()
        except SmscoError as error:
            message.checks += 1
            log.warning("Status check of message %s failed: %s", message.id, error)
            _schedule_next_check_or_give_up(message, utcnow())
            db.session.commit()
    return len(futures)


def check_status_now(message: Message) -> DeliveryStatus:
    """Read one message's status from the gateway and record it (the page's button)."""
    status = get_client().status(message.mes_id)
    apply_gateway_status(message, status)
    return status


# -- balance ---------------------------------------------------------------------


def record_balance() -> BalanceSnapshot | None:
    """Read the balance, keep a snapshot, lift alerts the reading disproves."""
    try:
        balance = get_client().balance()
    except AuthError:
        raise_alert(AlertKind.AUTH, "Invalid username/password (2905)")
        db.session.commit()
        return None
    except SmscoError as error:
        log.warning("Balance check failed: %s", error)
        return None
    snapshot = BalanceSnapshot(balance=balance, at=utcnow())
    db.session.add(snapshot)
    db.session.commit()
    kinds = [AlertKind.AUTH] + ([AlertKind.CREDIT] if balance > 0 else [])
    if clear_alerts(*kinds):
        kick_dispatcher()
    return snapshot


# -- the scheduler -----------------------------------------------------------------


class RunningJobs:
    """Counts the jobs running now, so stopping can wait for them to finish."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()
        self.stopping = False

    @contextmanager
    def running(self) -> Iterator[bool]:
        """Yields False once stopping: a job that starts then does nothing."""
        with self._changed:
            if self.stopping:
                yield False
                return
            self._count += 1
        try:
            yield True
        finally:
            with self._changed:
                self._count -= 1
                self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._changed:
            self.stopping = True
            return self._changed.wait_for(lambda: self._count == 0, timeout=timeout)


def _run_job(app: Flask, work: Callable[[], object]) -> None:
    """Run one job's work in an app context, unless the scheduler is stopping."""
    tracker = app.extensions.setdefault("smsco_jobs", RunningJobs())
    with tracker.running() as allowed:
        if allowed:
            with app.app_context():
                work()


def _dispatch_and_refresh() -> None:
    if dispatch_due_messages():
        refresh_balance_soon()


def dispatch_job(app: Flask) -> None:
    _run_job(app, _dispatch_and_refresh)


def status_job(app: Flask) -> None:
    _run_job(app, poll_statuses)


def balance_job(app: Flask) -> None:
    _run_job(app, record_balance)


def tally_job(app: Flask) -> None:
    _run_job(app, fold_pending_tallies)


def register_job(app: Flask, job_id: str, work: Callable[[], object], interval_key: str) -> None:
    """A job of a feature package (e.g. webhooks), run every ``config[interval_key]`` seconds
    by this scheduler; registered from the factory, so ``sending`` imports no feature."""
    app.extensions.setdefault("smsco_extra_jobs", {})[job_id] = (work, interval_key)


def start_scheduler(app: Flask) -> BackgroundScheduler:
    """Start this process's scheduler: the one place jobs run."""
    with app.app_context():
        runtime(app).start()
        recovered = recover_interrupted_sends()
        if recovered:
            log.warning("Sends interrupted by a stopped dispatcher: %s back in the queue, "
                        "%s unknown", recovered.requeued, recovered.unknown)
    scheduler = BackgroundScheduler(timezone=UTC, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    config = app.config
    now = datetime.now(UTC)
    scheduler.add_job(dispatch_job, "interval", args=[app], id="dispatch",
                      seconds=config["SMSCO_DISPATCH_INTERVAL"], next_run_time=now)
    scheduler.add_job(status_job, "interval", args=[app], id="status",
                      seconds=config["SMSCO_STATUS_INTERVAL"], next_run_time=now)
    scheduler.add_job(balance_job, "interval", args=[app], id="balance",
                      seconds=config["SMSCO_BALANCE_INTERVAL"], next_run_time=now)
    scheduler.add_job(tally_job, "interval", args=[app], id="tallies",
                      seconds=TALLY_INTERVAL, next_run_time=now)
    for job_id, (work, interval_key) in app.extensions.get("smsco_extra_jobs", {}).items():
        scheduler.add_job(_run_job, "interval", args=[app, work], id=job_id,
                          seconds=config[interval_key], next_run_time=now)
    app.extensions["smsco_jobs"] = RunningJobs()
    scheduler.start()
    app.extensions["smsco_scheduler"] = scheduler
    atexit.register(stop_scheduler, app, 5)
    return scheduler


def stop_scheduler(app: Flask, timeout: float = 30) -> None:
    """Stop the scheduler; wait up to ``timeout`` s for running jobs (a dispatch run
    recording its results) to finish.

    Not ``shutdown(wait=True)``: that holds the scheduler's job-store lock
    while it waits, and a finishing job that touches a job would wait for that
    lock for ever.
    """
    scheduler = app.extensions.get("smsco_scheduler")
    if scheduler is None or scheduler.state == STATE_STOPPED:
        return
    scheduler.shutdown(wait=False)
    tracker = app.extensions.setdefault("smsco_jobs", RunningJobs())
    if not tracker.wait_idle(timeout):
        log.warning("A job was still running %s s after the scheduler stopped", timeout)
        return  # its threads are still in use; the process is ending anyway
    stop_dispatcher(app)


def _running_scheduler() -> BackgroundScheduler | None:
    """This process's scheduler unless it is stopping (its job lock may then be held)."""
    scheduler = current_app.extensions.get("smsco_scheduler")
    return scheduler if scheduler is not None and scheduler.state != STATE_STOPPED else None


def refresh_balance_soon(delay: float = BALANCE_REFRESH_AFTER_SENDING) -> None:
    """Bring the next balance check forward after sending, so the header catches up."""
    scheduler = _running_scheduler()
    job = scheduler.get_job("balance") if scheduler is not None else None
    soon = datetime.now(UTC) + timedelta(seconds=delay)
    if job is not None and job.next_run_time and job.next_run_time > soon:
        scheduler.modify_job("balance", next_run_time=soon)


def kick_dispatcher() -> None:
    """Run the dispatch job now, if this process runs the scheduler."""
    scheduler = _running_scheduler()
    if scheduler is not None:
        scheduler.modify_job("dispatch", next_run_time=datetime.now(UTC))

