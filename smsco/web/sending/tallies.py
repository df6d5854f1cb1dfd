"""Day tallies of messages for the reports: folding deltas in, recounting from scratch.

Database triggers (``database.py``) add signed delta rows for every change of
a message, in the same transaction as the change, so the tallies plus the
deltas not yet folded always equal a recount of the message table, whatever
the dispatcher or the status job do at the same time. This module folds
pending deltas into per-day rows (days in ``SMSCO_TIMEZONE``), and recounts
every tally from the messages when asked (``flask --app app rebuild-rollups``)
or when the display zone changed.

Folding and recounting exclude each other: on PostgreSQL both first take a
lock on ``message_tally`` that plain reads never wait for; on SQLite their
first statement is a write, and SQLite has one writer at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import delete, exists, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from ..database import (
    TALLY_KEY_COLUMNS,
    TALLY_TRIGGERS,
    drop_tally_trigger_ddl,
    is_postgres,
    tally_key_sql,
    tally_trigger_ddl,
)
from ..extensions import db
from ..models import Message, MessageTally, MessageTallyDelta, Setting

FOLD_BATCH = 20_000
# The zone whose days the tally rows use; a different SMSCO_TIMEZONE means a recount.
ZONE_SETTING = "reports.tally_zone"
# Tally key without created_at: what one row of a day counts.
OUTCOME_COLUMNS = TALLY_KEY_COLUMNS[1:]

# (day, sender, operator_id, campaign_id, state, final_status, error_code, accepted)
TallyKey = tuple


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["SMSCO_TIMEZONE"])


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The day in ``zone`` of a stored naive-UTC time."""
    return moment.replace(tzinfo=UTC).astimezone(zone).date()


def day_start_utc(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of ``day`` in ``zone`` as the naive UTC the columns store."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def _lock_tallies() -> None:
    if is_postgres():
        db.session.execute(text("LOCK TABLE message_tally IN SHARE ROW EXCLUSIVE MODE"))


def _stored_zone() -> str | None:
    return db.session.scalar(select(Setting.value).where(Setting.key == ZONE_SETTING))


def _store_zone(zone: ZoneInfo) -> None:
    setting = db.session.get(Setting, ZONE_SETTING)
    if setting is None:
        db.session.add(Setting(key=ZONE_SETTING, value=zone.key))
    elif setting.value != zone.key:
        setting.value = zone.key


# -- folding ---------------------------------------------------------------------


def fold_pending_tallies(batch: int = FOLD_BATCH) -> int:
    """Fold every pending delta into the day tallies, one batch per transaction.

    Returns how many delta rows were folded. Recounts everything instead
    when the tallies were made for another time zone.
    """
    zone = _zone()
    if _stored_zone() not in (None, zone.key):
        rebuild_tallies()
        return 0
    folded = 0
    while db.session.scalar(select(exists().select_from(MessageTallyDelta))):
        count = _fold_batch(batch, zone)
        folded += count
        if count < batch:
            break
    db.session.commit()
    return folded


def _fold_batch(batch: int, zone: ZoneInfo) -> int:
    _lock_tallies()
    delta = MessageTallyDelta
    oldest = select(delta.id).order_by(delta.id).limit(batch)
    # Delete-and-return: the rows folded are exactly the rows removed, so a
    # delta committed meanwhile by a concurrent change waits for the next batch.
    rows = db.session.execute(
        delete(delta).where(delta.id.in_(oldest))
        .returning(*(getattr(delta, column) for column in TALLY_KEY_COLUMNS),
                   delta.messages, delta.credits)
        .execution_options(synchronize_session=False)).all()
    sums: dict[TallyKey, list[int]] = {}
    for *key, messages, credits in rows:
        day_key = (local_day(key[0], zone), *key[1:])
        total = sums.setdefault(day_key, [0, 0])
        total[0] += messages
        total[1] += credits
    _add_to_tallies(sums)
    _store_zone(zone)
    db.session.commit()
    return len(rows)


def _add_to_tallies(sums: dict[TallyKey, list[int]]) -> None:
    """Add counts to the tally rows (creating them), then drop rows that became empty."""
    if not sums:
        return
    table = MessageTally.__table__
    dialect_insert = postgresql.insert if is_postgres() else sqlite.insert
    statement = dialect_insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=[column.name for column in table.primary_key.columns],
        set_={"messages": table.c.messages + statement.excluded.messages,
              "credits": table.c.credits + statement.excluded.credits})
    names = ("day", *OUTCOME_COLUMNS)
    db.session.execute(statement, [
        {**dict(zip(names, key, strict=True)), "messages": messages, "credits": credits}
        for key, (messages, credits) in sorted(sums.items())])
    days = sorted({key[0] for key in sums})
    db.session.execute(delete(MessageTally).where(
        MessageTally.day.in_(days), MessageTally.messages == 0, MessageTally.credits == 0))


# -- recounting ------------------------------------------------------------------


def _message_days(zone: ZoneInfo) -> Iterator[tuple[date, datetime, datetime]]:
    """Every local day from the oldest message to the newest, with its UTC bounds."""
    first, last = db.session.execute(
        select(func.min(Message.created_at), func.max(Message.created_at))).one()
    if first is None:
        return
    day, end = local_day(first, zone), local_day(last, zone)
    while day <= end:
        following = day + timedelta(days=1)
        yield day, day_start_utc(day, zone), day_start_utc(following, zone)
        day = following


_DAY_RECOUNT = text(
    f"SELECT {', '.join(tally_key_sql('message')[1:])}, count(*), "  # noqa: S608 - constants
    f"sum(COALESCE(message.credits, 0)) FROM message "
    f"WHERE message.created_at >= :start AND message.created_at < :end "
    f"GROUP BY {', '.join(str(i + 1) for i in range(len(OUTCOME_COLUMNS)))}")


def recount_tallies() -> Iterator[tuple[TallyKey, int, int]]:
    """What every tally row should hold, counted from the messages: one indexed range of
    ``created_at`` per local day, in the database's own aggregation."""
    zone = _zone()
    for day, start, end in _message_days(zone):
        for *outcome, messages, credits in db.session.execute(
                _DAY_RECOUNT, {"start": start, "end": end}):
            yield (day, *outcome), int(messages), int(credits or 0)


def rebuild_tallies() -> int:
    """Replace every tally by a recount of the messages; returns the rows written.

    Exact while messages keep changing: on PostgreSQL the recount and the
    removal of deltas see one snapshot (REPEATABLE READ), so a change
    committed later keeps its delta rows; on SQLite the first statement takes
    the write lock, so no change commits until the recount does.
    """
    db.session.commit()
    if is_postgres():
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    _lock_tallies()
    db.session.execute(delete(MessageTally))
    db.session.execute(delete(MessageTallyDelta))
    written = 0
    for rows in _batched(recount_tallies(), 5000):
        db.session.execute(MessageTally.__table__.insert(), [
            {**dict(zip(("day", *OUTCOME_COLUMNS), key, strict=True)),
             "messages": messages, "credits": credits} for key, messages, credits in rows])
        written += len(rows)
    _store_zone(_zone())
    db.session.commit()
    return written


def installed_tally_triggers() -> set[str]:
    """The names of the tally triggers the message table has."""
    if is_postgres():
        found = text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'message'::regclass")
    else:
        found = text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                     "AND tbl_name = 'message'")
    return set(db.session.scalars(found)) & set(TALLY_TRIGGERS)


def ensure_tally_triggers() -> bool:
    """Put back tally triggers a table rebuild removed (SQLite's batch migrations copy a
    table without its triggers), then recount; True when they had to be put back."""
    if installed_tally_triggers() == set(TALLY_TRIGGERS):
        return False
    dialect = db.engine.dialect.name
    for statement in drop_tally_trigger_ddl(dialect) + tally_trigger_ddl(dialect):
        db.session.execute(text(statement))
    db.session.commit()
    rebuild_tallies()
    return True


def _batched(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def current_tallies() -> dict[TallyKey, tuple[int, int]]:
    """The tallies as reports see them (folded rows plus pending deltas), for checks."""
    zone = _zone()
    sums: dict[TallyKey, list[int]] = {}
    tally = MessageTally
    for row in db.session.execute(select(tally.day, *(getattr(tally, c) for c in OUTCOME_COLUMNS),
                                         tally.messages, tally.credits)):
        *key, messages, credits = row
        total = sums.setdefault(tuple(key), [0, 0])
        total[0] += messages
        total[1] += credits
    delta = MessageTallyDelta
    for row in db.session.execute(select(*(getattr(delta, c) for c in TALLY_KEY_COLUMNS),
                                         delta.messages, delta.credits)):
        created_at, *outcome, messages, credits = row
        total = sums.setdefault((local_day(created_at, zone), *outcome), [0, 0])
        total[0] += messages
        total[1] += credits
    return {key: (m, c) for key, (m, c) in sums.items() if m or c}
