"""The outbox, the dispatcher and the jobs, against the simulator over real HTTP.

These run on SQLite, and on PostgreSQL when ``TEST_DATABASE_URL`` is set (CI).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from smsco import Client, DeliveryStatus
from smsco.web.extensions import db
from smsco.web.models import (
    Dispatcher,
    GatewayAlert,
    Message,
    MessageEvent,
    ScheduleMode,
    State,
    User,
    utcnow,
)
from smsco.web.sending import dispatch, jobs
from smsco.web.sending.liveness import HOST
from smsco.web.sending.outbox import NewMessages, OutboxError, cancel_message, create_messages

from .waiting import wait_until


@pytest.fixture
def ctx(app, users):
    with app.app_context():
        yield app


def queue(numbers=("995599445448",), body="Hello", mode=ScheduleMode.NOW, send_at=None,
          sender=None):
    user = db.session.get(User, 1)
    return [m.id for m in create_messages(
        NewMessages(list(numbers), body, sender, mode, send_at), user)]


def message(message_id) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message_id)


def sends_to(gateway, number):
    return [r for r in gateway.simulator.requests
            if r.path.endswith("smsapi2.php") and r.params.get("recipient") == number]


def point_client_at(app, url):
    app.extensions["smsco_client"] = Client("tester", "s3cret-Pa55", base_url=url,
                                            timeout=(1, 0.5))


# -- sending -------------------------------------------------------------------------


def test_queued_messages_are_sent_one_request_per_recipient(ctx, gateway):
    ids = queue(["995599445448", "995555123456"])
    assert gateway.simulator.requests == []  # nothing is sent when queuing
    assert dispatch.dispatch_due_messages() == 2
    for message_id, number in zip(ids, ["995599445448", "995555123456"], strict=True):
        row = message(message_id)
        assert row.state == State.SENT
        assert row.mes_id and row.credits == 5 and row.sent_at is not None
        assert row.next_check_at is not None
        assert len(sends_to(gateway, number)) == 1
        assert [e.state for e in row.events] == [State.QUEUED, State.SENDING, State.SENT]


def test_a_held_message_waits_for_its_time(ctx, gateway):
    [held] = queue(mode=ScheduleMode.HELD, send_at=utcnow() + timedelta(hours=1))
    assert dispatch.dispatch_due_messages() == 0
    assert message(held).state == State.QUEUED
    message(held).send_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert dispatch.dispatch_due_messages() == 1
    assert message(held).state == State.SENT
    assert "schedule" not in gateway.simulator.requests[-1].params


def test_a_cancelled_held_message_never_reaches_the_gateway(ctx, gateway):
    [held] = queue(mode=ScheduleMode.HELD, send_at=utcnow() + timedelta(seconds=1))
    cancel_message(message(held), db.session.get(User, 1))
    message(held).send_at = utcnow() - timedelta(seconds=5)
    db.session.commit()
    assert dispatch.dispatch_due_messages() == 0
    assert message(held).state == State.CANCELED
    assert gateway.simulator.requests == []
    with pytest.raises(OutboxError):
        cancel_message(message(held), None)


def test_gateway_scheduled_message_is_sent_at_once_with_the_schedule(ctx, gateway):
    when = utcnow().replace(microsecond=0) + timedelta(hours=2)
    [row] = queue(mode=ScheduleMode.GATEWAY, send_at=when)
    assert dispatch.dispatch_due_messages() == 1
    params = gateway.simulator.requests[-1].params
    expected = (when + timedelta(hours=4)).strftime("%Y-%m-%d %H:%M:%S")  # Tbilisi is UTC+4
    assert params["schedule"] == expected
    assert message(row).next_check_at >= when


def test_sender_id_is_passed(ctx, gateway):
    queue(sender="MyShop")
    dispatch.dispatch_due_messages()
    assert gateway.simulator.requests[-1].params["sender"] == "MyShop"


# -- failures --------------------------------------------------------------------------


def test_unreachable_gateway_is_retried_with_backoff_then_fails(ctx, closed_port, gateway):
    point_client_at(ctx, f"http://127.0.0.1:{closed_port}")
    [row] = queue()
    for attempt in range(1, dispatch.MAX_ATTEMPTS):
        assert dispatch.dispatch_due_messages() == 1
        current = message(row)
        assert current.state == State.QUEUED and current.attempts == attempt
        assert current.send_at > utcnow()
        assert dispatch.dispatch_due_messages() == 0  # waits for its backoff
        current.send_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert dispatch.dispatch_due_messages() == 1
    assert message(row).state == State.FAILED
    assert "after 5 tries" in message(row).error_text


def test_gateway_unavailable_is_retried(ctx, gateway):
    gateway.simulator.configure(unavailable_rate=1.0)
    [row] = queue()
    dispatch.dispatch_due_messages()
    assert message(row).state == State.QUEUED and message(row).attempts == 1
    gateway.simulator.configure(unavailable_rate=0.0)
    message(row).send_at = utcnow()
    db.session.commit()
    dispatch.dispatch_due_messages()
    assert message(row).state == State.SENT
    assert len(sends_to(gateway, "995599445448")) == 2  # the first got 2907: nothing sent


@pytest.mark.parametrize("fault", [{"drop_rate": 1.0}, {"garbage_rate": 1.0},
                                   {"http_500_rate": 1.0},
                                   {"hang_rate": 1.0, "hang_seconds": 1.0}])
def test_a_send_that_may_have_gone_out_is_unknown_and_never_resent(ctx, gateway, fault):
    point_client_at(ctx, gateway.url)
    gateway.simulator.configure(**fault)
    [row] = queue()
    dispatch.dispatch_due_messages()
    assert message(row).state == State.UNKNOWN
    assert "may have been sent" in message(row).events[-1].detail
    if "hang_rate" in fault:
        assert "no answer came within 0.5 s" in message(row).error_text
    gateway.simulator.configure(drop_rate=0, garbage_rate=0, http_500_rate=0, hang_rate=0)
    assert dispatch.dispatch_due_messages() == 0
    assert message(row).state == State.UNKNOWN


def test_a_refused_message_fails_with_the_gateways_reason(ctx, gateway):
    gateway.simulator.configure(require_sender=True)
    [row] = queue()
    dispatch.dispatch_due_messages()
    assert message(row).state == State.FAILED
    assert message(row).error_code == 2914
    assert message(row).error_text == "Sender is empty"


def test_credit_exhausted_pauses_dispatch_until_credit_returns(ctx, gateway):
    gateway.simulator.set_balance(Decimal("0"))
    ids = queue(["995599445448", "995555123456"])
    dispatch.dispatch_due_messages()
    assert {message(i).state for i in ids} == {State.QUEUED}
    assert db.session.get(GatewayAlert, "credit") is not None
    assert dispatch.dispatch_due_messages() == 0  # paused
    jobs.record_balance()  # still no credit: the pause stays
    assert db.session.get(GatewayAlert, "credit") is not None
    gateway.simulator.set_balance(Decimal("10"))
    jobs.record_balance()
    assert db.session.get(GatewayAlert, "credit") is None
    assert dispatch.dispatch_due_messages() == 2
    assert {message(i).state for i in ids} == {State.SENT}


def test_rejected_account_pauses_dispatch_and_nothing_fails(ctx, gateway):
    ctx.extensions["smsco_client"] = Client("tester", "wrong", base_url=gateway.url)
    [row] = queue()
    dispatch.dispatch_due_messages()
    assert message(row).state == State.QUEUED
    assert db.session.get(GatewayAlert, "auth") is not None
    jobs.record_balance()
    assert db.session.get(GatewayAlert, "auth") is not None
    point_client_at(ctx, gateway.url)
    jobs.record_balance()
    assert db.session.get(GatewayAlert, "auth") is None
    dispatch.dispatch_due_messages()
    assert message(row).state == State.SENT


# -- crashes: marking requests, and recovery ----------------------------------------


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def left_sending(message_id, owner, started: bool, kept: dispatch.Outcome | None = None):
    current = message(message_id)
    current.state, current.claimed_by = State.SENDING, owner
    current.request_started_at = utcnow() if started else None
    current.journal = kept.to_json() if kept else None
    db.session.commit()


def ghost(hostname=HOST, pid=None, heartbeat_at=None) -> str:
    pid = dead_pid() if pid is None else pid
    ghost_id = f"{hostname}:{pid}:ghost"
    db.session.add(Dispatcher(id=ghost_id, hostname=hostname, pid=pid,
                              heartbeat_at=heartbeat_at or utcnow()))
    db.session.commit()
    return ghost_id


def test_a_dead_dispatchers_rows_are_settled_by_what_is_known_of_their_request(
        ctx, gateway):
    never_left, may_have_left, answered = queue(["995599000001", "995599000002",
                                                 "995599000003"])
    owner = ghost()
    accepted = dispatch.Outcome({"state": State.SENT, "mes_id": "777", "credits": 5,
                                 "sent_at": utcnow(), "next_check_at": utcnow()},
                                State.SENT, "Accepted by the gateway (mes_id 777, 5 tetri)")
    left_sending(never_left, owner, started=False)
    left_sending(may_have_left, owner, started=True)
    left_sending(answered, owner, started=True, kept=accepted)
    assert dispatch.recover_interrupted_sends() == dispatch.Recovered(
        requeued=1, unknown=1, answered=1)
    assert (message(answered).state, message(answered).mes_id) == (State.SENT, "777")
    assert message(answered).journal is None
    assert message(never_left).state == State.QUEUED
    assert message(never_left).events[-1].detail == dispatch.REQUEUED_DETAIL
    assert message(may_have_left).state == State.UNKNOWN
    assert "may have been sent" in message(may_have_left).events[-1].detail
    assert db.session.get(Dispatcher, owner) is None
    # Only the row whose request never started goes out, once.
    assert dispatch.dispatch_due_messages() == 1
    assert message(never_left).state == State.SENT
    assert [r.recipient for r in gateway.simulator.requests] == ["995599000001"]
    assert dispatch.dispatch_due_messages() == 0


def test_rows_of_a_live_dispatcher_are_left_alone(ctx):
    [row] = queue()
    # Our parent process is alive; its heartbeat is ten minutes old: on this host the
    # process decides, not the heartbeat.
    live = ghost(pid=os.getppid(), heartbeat_at=utcnow() - timedelta(minutes=10))
    left_sending(row, live, started=True)
    assert not dispatch.recover_interrupted_sends()
    assert message(row).state == State.SENDING


def test_a_dispatcher_of_this_process_is_alive_until_it_stops(ctx):
    [row] = queue()
    other = dispatch.DispatcherRuntime(ctx)
    other.start()
    try:
        left_sending(row, other.id, started=False)
        assert not dispatch.recover_interrupted_sends()
        assert message(row).state == State.SENDING
    finally:
        other.stop()
    assert dispatch.recover_interrupted_sends().requeued == 1


def test_another_hosts_dispatcher_is_dead_once_its_heartbeat_stood_still_for_the_timeout(ctx):
    ctx.config["SMSCO_HEARTBEAT_TIMEOUT"] = 0.5
    [row] = queue()
    # Its clock may be far behind ours: an old heartbeat alone proves nothing.
    elsewhere = ghost(hostname="elsewhere", pid=1, heartbeat_at=utcnow() - timedelta(hours=1))
    left_sending(row, elsewhere, started=True)
    assert not dispatch.recover_interrupted_sends()
    moved = time.monotonic()
    db.session.get(Dispatcher, elsewhere).heartbeat_at = utcnow() - timedelta(minutes=59)
    db.session.commit()
    assert not dispatch.recover_interrupted_sends()  # it moved: alive
    recovered = wait_until(dispatch.recover_interrupted_sends, what="the ghost taken as dead")
    assert time.monotonic() - moved >= 0.5
    assert recovered.unknown == 1 and message(row).state == State.UNKNOWN


def test_a_row_is_marked_just_before_its_request_leaves(ctx, gateway, monkeypatch):
    ctx.extensions.pop("smsco_dispatcher", None)
    ctx.config["SMSCO_CONCURRENCY"] = 2
    ids = queue([f"99559900{i:04d}" for i in range(40)])
    seen = started_at_each_request(ctx, gateway, monkeypatch)
    assert dispatch.dispatch_due_messages() == 40
    assert len(seen) == 40
    for recipient, started in seen:
        # The row being sent is marked; at most one row per sender may have left
        # without its outcome written (the one being sent among them).
        assert started[recipient]
        assert sum(started.values()) <= 2
    assert {message(i).state for i in ids} == {State.SENT}


def started_at_each_request(app, gateway, monkeypatch) -> list[tuple[str, dict]]:
    """Records, as each send reaches the simulator, which ``sending`` rows may have left
    without their outcome kept."""
    seen = []
    answer = gateway.simulator._accept

    def looking(message):
        with app.app_context():
            in_doubt = Message.request_started_at.is_not(None) & Message.journal.is_(None)
            rows = db.session.execute(db.select(Message.recipient, in_doubt)
                                      .where(Message.state == State.SENDING)).all()
            db.session.remove()
        seen.append((",".join(message.recipients), dict(rows)))
        return answer(message)

    monkeypatch.setattr(gateway.simulator, "_accept", looking)
    return seen


def test_a_row_recovered_by_another_dispatcher_is_not_sent(ctx, gateway):
    [row] = queue()
    rt = dispatch.runtime(ctx)
    rt.start()
    [claimed] = dispatch.claim_due_messages(rt.id, 1)
    # Another process takes the row back (it judged us dead) before our request leaves.
    db.session.execute(db.update(Message).values(state=State.QUEUED, claimed_by=None))
    db.session.commit()
    journal = dispatch.SendJournal(rt.id, rt.db_writes, db.engine.dialect)
    with journal.connection(db.engine) as connection:
        assert journal.note(connection, None, claimed) is False
    assert message(row).request_started_at is None and gateway.simulator.requests == []


def test_a_request_that_cannot_be_marked_is_not_sent(ctx, gateway, monkeypatch):
    [row] = queue()
    monkeypatch.setitem(dispatch.SendJournal.SQL, "mark", "UPDATE no_such_table SET x = 1")
    monkeypatch.setattr(dispatch.time, "sleep", lambda seconds: None)
    with pytest.raises(dispatch.JournalError):
        dispatch.dispatch_due_messages()
    assert gateway.simulator.requests == []
    assert message(row).state == State.SENDING and message(row).request_started_at is None
    monkeypatch.undo()
    assert dispatch.dispatch_due_messages() == 1  # the next run puts it back and sends it
    assert message(row).state == State.SENT and len(gateway.simulator.requests) == 1


def test_recovery_leaves_a_row_that_moved_on_since_it_was_read(ctx):
    [row] = queue()
    owner = ghost()
    left_sending(row, owner, started=False)
    stale = db.session.execute(db.select(Message.id, Message.claimed_by,
                                         Message.request_started_at, Message.journal)
                               .where(Message.id == row)).one()
    left_sending(row, owner, started=True)  # its request started meanwhile
    assert dispatch._settle(stale, dispatch.REQUEUED) is False
    assert message(row).state == State.SENDING


def test_the_heartbeat_beats_on_its_own_through_a_long_run(ctx, gateway):
    ctx.config.update(SMSCO_HEARTBEAT_TIMEOUT=0.4, SMSCO_CONCURRENCY=1)
    gateway.simulator.configure(latency=0.02)
    queue([f"99559900{i:04d}" for i in range(60)])  # about 1.2 s in one run
    rt = dispatch.runtime(ctx)

    def one_run():
        with ctx.app_context():
            assert dispatch.dispatch_due_messages() == 60

    run = threading.Thread(target=one_run)
    run.start()
    beats = set()

    def heartbeat_moved_three_times():
        db.session.expire_all()
        row = db.session.get(Dispatcher, rt.id)
        if row is not None:
            beats.add(row.heartbeat_at)
        return len(beats) >= 4

    wait_until(heartbeat_moved_three_times, timeout=5, what="three heartbeats")
    assert run.is_alive()  # all within one run
    run.join()


def test_concurrent_claims_never_overlap(ctx):
    ids = set(queue([f"99559{i:07d}" for i in range(60)]))
    claimed: list[list[int]] = []
    barrier = threading.Barrier(3)

    def claim(worker):
        with ctx.app_context():
            barrier.wait()
            got = []
            while batch := dispatch.claim_due_messages(f"w{worker}:1:x", 7):
                got.extend(c.id for c in batch)
            claimed.append(got)
            db.session.remove()

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for got in claimed for i in got]
    assert sorted(everything) == sorted(ids)  # each row claimed exactly once


def test_rate_cap_spaces_out_sends(ctx, gateway):
    ctx.config["SMSCO_RATE"] = 20
    queue([f"9955994454{i:02d}" for i in range(10)])
    started = time.monotonic()
    assert dispatch.dispatch_due_messages() == 10
    assert time.monotonic() - started >= 0.4  # 10 sends at 20/s take at least 0.45 s


# -- status ----------------------------------------------------------------------------


def sent_message(gateway):
    [row] = queue()
    dispatch.dispatch_due_messages()
    current = message(row)
    current.next_check_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    return row


def test_status_job_records_delivery_on_the_timeline(ctx, gateway):
    row = sent_message(gateway)
    gateway.simulator.set_status(int(message(row).mes_id), int(DeliveryStatus.SENT))
    assert jobs.poll_statuses() == 1
    current = message(row)
    assert current.state == State.SENT and current.gateway_status == 0
    assert current.next_check_at > utcnow()
    gateway.simulator.set_status(int(current.mes_id), int(DeliveryStatus.DELIVERED))
    current.next_check_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    jobs.poll_statuses()
    current = message(row)
    assert current.state == State.DELIVERED and current.next_check_at is None
    details = [e.detail for e in current.events if e.gateway_status is not None]
    assert details == ["Gateway status: Sent", "Gateway status: Delivered"]


@pytest.mark.parametrize("status", [DeliveryStatus.FAILED, DeliveryStatus.REJECTED,
                                    DeliveryStatus.EXPIRED])
def test_final_failures_fail_the_message(ctx, gateway, status):
    row = sent_message(gateway)
    gateway.simulator.set_status(int(message(row).mes_id), int(status))
    jobs.poll_statuses()
    assert message(row).state == State.FAILED
    assert status.label in message(row).error_text


def test_status_checks_back_off(ctx, gateway):
    assert [dispatch.next_check_delay(n).total_seconds() for n in range(11)] == [
        15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 3600, 3600]


def test_status_gives_up_after_72_hours(ctx, gateway):
    row = sent_message(gateway)
    gateway.simulator.set_status(int(message(row).mes_id), int(DeliveryStatus.IN_PROCESS))
    message(row).sent_at = utcnow() - timedelta(hours=73)
    db.session.commit()
    jobs.poll_statuses()
    assert message(row).state == State.UNKNOWN
    assert "72 hours" in message(row).error_text


def test_balance_job_keeps_snapshots(ctx, gateway):
    gateway.simulator.set_balance(Decimal("12.34"))
    snapshot = jobs.record_balance()
    assert snapshot.balance == Decimal("12.34")


def test_events_are_kept_for_every_change(ctx, gateway):
    row = sent_message(gateway)
    count = db.session.scalar(db.select(db.func.count(MessageEvent.id)).where(
        MessageEvent.message_id == row))
    assert count == 3


def test_status_checks_follow_a_shorter_interval(ctx):
    ctx.config["SMSCO_STATUS_INTERVAL"] = 2
    assert [dispatch.next_check_delay(n).total_seconds() for n in range(4)] == [1, 2, 4, 8]


def test_sending_brings_the_next_balance_check_forward(ctx, gateway):
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(jobs.balance_job, "interval", seconds=3600, args=[ctx], id="balance")
    scheduler.start(paused=True)
    ctx.extensions["smsco_scheduler"] = scheduler
    try:
        queue()
        jobs.dispatch_job(ctx)
        wait = scheduler.get_job("balance").next_run_time - datetime.now(UTC)
        assert wait.total_seconds() <= jobs.BALANCE_REFRESH_AFTER_SENDING
    finally:
        scheduler.shutdown(wait=False)


def test_a_claim_takes_no_more_than_its_limit(ctx):
    queue([f"995599{i:06d}" for i in range(20)])
    assert len(dispatch.claim_due_messages("me:1:x", 5)) == 5
    states = db.session.scalars(db.select(Message.state)).all()
    assert states.count(State.SENDING) == 5 and states.count(State.QUEUED) == 15


def test_an_answer_that_cannot_be_written_leaves_the_row_unknown_never_resent(
        ctx, gateway, monkeypatch):
    [row] = queue()
    monkeypatch.setitem(dispatch.SendJournal.SQL, "answer", "UPDATE no_such_table SET x = 1")
    monkeypatch.setattr(dispatch.time, "sleep", lambda seconds: None)
    with pytest.raises(dispatch.JournalError):
        dispatch.dispatch_due_messages()
    assert message(row).state == State.SENDING and message(row).request_started_at
    monkeypatch.undo()
    assert dispatch.dispatch_due_messages() == 0
    assert message(row).state == State.UNKNOWN
    assert len(sends_to(gateway, "995599445448")) == 1


def test_a_message_too_long_for_a_url_fails_and_is_not_unknown(ctx, gateway):
    [row] = queue(body="x" * 70_000)
    assert dispatch.dispatch_due_messages() == 1
    assert message(row).state == State.FAILED
    assert "HTTP 414" in message(row).error_text
