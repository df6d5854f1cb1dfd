"""The reports' tallies always equal a recount of the messages, whatever happens meanwhile.

Triggers write a signed delta with every change of a message; a fold moves
deltas into day and month rows. These tests change messages from several
threads while folds run, then compare the tallies (plus pending deltas) with
a recount — on SQLite, and on PostgreSQL when ``TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import OperationalError

from smsco.web.extensions import db
from smsco.web.models import Message, MessageTallyDelta, State, utcnow
from smsco.web.sending import tallies

SENDERS = [None, "Shop", "Bank"]


def add_messages(rng: random.Random, count: int, when: datetime | None = None) -> None:
    """Queued rows as campaigns create them (Core insert, no ORM)."""
    now = when or utcnow()
    db.session.execute(insert(Message.__table__), [
        {"recipient": f"99559{rng.randrange(10**7):07d}", "body": "x", "state": State.QUEUED,
         "sender": rng.choice(SENDERS), "campaign_id": None, "send_at": now,
         "created_at": now - timedelta(hours=rng.randrange(0, 24 * 40)), "updated_at": now,
         "priority": 0, "quiet_hours": False, "attempts": 0, "checks": 0,
         "schedule_mode": "now"} for _ in range(count)])
    db.session.commit()


# What the dispatcher, the status job and operators do to a message, as plain updates.
CHANGES = [
    {"state": State.SENDING},
    {"state": State.SENT, "mes_id": "1", "credits": 5, "gateway_status": 0},
    {"state": State.DELIVERED, "gateway_status": 1},
    {"state": State.FAILED, "gateway_status": 3},
    {"state": State.FAILED, "gateway_status": 5},
    {"state": State.FAILED, "error_code": 2904, "mes_id": None, "credits": None},
    {"state": State.UNKNOWN},
    {"state": State.CANCELED},
    {"state": State.QUEUED, "next_check_at": None},
    {"sender": "Clinic"},
    {"next_check_at": datetime(2030, 1, 1)},  # no tally key changes: no delta
]


def change_messages(rng: random.Random) -> None:
    """One transaction: an update of a few messages, sometimes a deletion.

    Two writers may lock the same rows in opposite orders (a deadlock on
    PostgreSQL): like the dispatcher's recording, such a transaction is tried again.
    """
    ids = db.session.scalars(select(Message.id)).all()
    if not ids:
        return
    chosen = sorted(rng.sample(ids, min(len(ids), rng.randrange(1, 6))))
    values = rng.choice(CHANGES)
    gone = rng.choice(ids) if rng.random() < 0.1 else None
    for attempt in range(5):
        try:
            db.session.execute(update(Message).where(Message.id.in_(chosen)).values(**values))
            if gone is not None:
                db.session.execute(delete(Message).where(Message.id == gone))
            db.session.commit()
            return
        except OperationalError:
            db.session.rollback()
            if attempt == 4:
                raise


def month_sums(sums: dict) -> dict:
    """Each month's totals added up from its day rows, to compare with the month rows."""
    months: dict = defaultdict(lambda: [0] * len(tallies.VALUE_COLUMNS))
    for (span, start, *dims), values in sums.items():
        if span == tallies.DAY:
            total = months[(tallies.MONTH, start.replace(day=1), *dims)]
            for index, value in enumerate(values):
                total[index] += value
    return {key: values for key, values in months.items() if any(values)}


def assert_exact() -> None:
    current = tallies.current_tallies()
    recount = {key: values for key, values in tallies.recount_tallies().items() if any(values)}
    assert current == recount
    assert month_sums(current) == {key: values for key, values in current.items()
                                   if key[0] == tallies.MONTH}


def test_tallies_equal_a_recount_under_concurrent_changes(app):
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            with app.app_context():
                for step in range(40):
                    if step % 5 == 0:
                        add_messages(rng, rng.randrange(1, 30))
                    else:
                        change_messages(rng)
                db.session.remove()
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    def folder() -> None:
        try:
            with app.app_context():
                while not stop.is_set():
                    tallies.fold_pending_tallies(batch=7)  # small batches: many boundaries
                db.session.remove()
        except BaseException as error:
            errors.append(error)

    writers = [threading.Thread(target=writer, args=(seed,)) for seed in range(3)]
    folding = threading.Thread(target=folder)
    folding.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=90)
    stop.set()
    folding.join(timeout=30)
    assert not errors, errors
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Message)) > 0
        assert_exact()
        tallies.fold_pending_tallies()
        assert db.session.scalar(select(func.count()).select_from(MessageTallyDelta)) == 0
        assert_exact()


def test_rebuild_rollups_recounts_everything(app, runner):
    rng = random.Random(5)
    with app.app_context():
        add_messages(rng, 50)
        change_messages(rng)
        tallies.fold_pending_tallies()
        db.session.execute(text("DELETE FROM message_tally"))  # lose the tallies
        db.session.commit()
    result = runner.invoke(args=["rebuild-rollups"])
    assert result.exit_code == 0, result.output
    assert "Report tallies rebuilt" in result.output
    with app.app_context():
        assert_exact()


def test_another_time_zone_recounts_the_days(app):
    with app.app_context():
        db.session.add(Message(recipient="995599000001", body="x", state=State.DELIVERED,
                               created_at=datetime(2030, 3, 1, 22)))  # 2 March in Tbilisi
        db.session.commit()
        tallies.fold_pending_tallies()
        days = {key[1] for key in tallies.current_tallies() if key[0] == tallies.DAY}
        assert days == {datetime(2030, 3, 2).date()}
        app.config["SMSCO_TIMEZONE"] = "UTC"
        tallies.fold_pending_tallies()
        days = {key[1] for key in tallies.current_tallies() if key[0] == tallies.DAY}
        assert days == {datetime(2030, 3, 1).date()}
        assert_exact()


def test_missing_triggers_are_put_back_and_the_tallies_recounted(app):
    from smsco.web.database import drop_tally_trigger_ddl

    rng = random.Random(9)
    with app.app_context():
        add_messages(rng, 5)
        for statement in drop_tally_trigger_ddl(db.engine.dialect.name):
            db.session.execute(text(statement))
        db.session.commit()
        add_messages(rng, 5)  # not seen by any trigger
        assert tallies.ensure_tally_triggers() is True
        assert_exact()
        add_messages(rng, 3)
        assert tallies.ensure_tally_triggers() is False
        assert_exact()


def test_a_change_that_touches_no_counted_column_writes_no_delta(app):
    rng = random.Random(3)
    with app.app_context():
        add_messages(rng, 4)
        tallies.fold_pending_tallies()
        db.session.execute(update(Message).values(next_check_at=utcnow(), checks=3,
                                                  state=State.SENDING))
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(MessageTallyDelta)) == 0
