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

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import column, delete, exists, func, literal_column, select, text
from sqlalchemy.dialects import postgresql, sqlite

from ..database import (
    TALLY_COUNTERS,
    TALLY_KEY_COLUMNS,
    TALLY_TRIGGERS,
    drop_tally_trigger_ddl,
    is_postgres,
    tally_counter_sql,
    tally_key_sql,
    tally_trigger_ddl,
)
from ..extensions import db
from ..models import Message, MessageTallyDelta, Setting, message_tally

FOLD_BATCH = 20_000
# The zone whose days the tally rows use; a different SMSCO_TIMEZONE means a recount.
ZONE_SETTING = "reports.tally_zone"
DAY, MONTH = "day", "month"
KEY_COLUMNS = ("span", "start", "sender", "operator_id", "campaign_id")
VALUE_COLUMNS = (*TALLY_COUNTERS, "credits")
# (span, start, sender, operator_id, campaign_id) -> one sum per VALUE_COLUMNS
Sums = dict[tuple, list[int]]


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["SMSCO_TIMEZONE"])


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The day in ``zone`` of a stored naive-UTC time."""
    return moment.replace(tzinfo=UTC).astimezone(zone).date()


def day_start_utc(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of ``day`` in ``zone`` as the naive UTC the columns store."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def counter_expressions(messages: str = "messages", credits: str = "credits") -> dict:
    """SQL giving each of ``VALUE_COLUMNS`` for one delta (or message) row."""
    return {**{name: literal_column(tally_counter_sql(name, messages))
               for name in TALLY_COUNTERS}, "credits": literal_column(credits)}


def counter_columns(messages: str = "messages", credits: str = "credits") -> list:
    """``counter_expressions``, labelled with their names."""
    return [sql.label(name) for name, sql in counter_expressions(messages, credits).items()]


def _add(sums: Sums, key: tuple, values) -> None:
    total = sums.get(key)
    if total is None:
        sums[key] = list(values)
    else:
        for index, value in enumerate(values):
            total[index] += value


def _add_day_and_month(sums: Sums, day: date, dims: tuple, values) -> None:
    """A day's counts go to its day row and to its month's row."""
    _add(sums, (DAY, day, *dims), values)
    _add(sums, (MONTH, day.replace(day=1), *dims), values)


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
    """Fold every pending delta into the day and month tallies, a batch per transaction.

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
        .returning(delta.created_at, delta.sender, delta.operator_id, delta.campaign_id,
                   *counter_columns())
        .execution_options(synchronize_session=False)).all()
    sums: Sums = {}
    for created_at, sender, operator_id, campaign_id, *values in rows:
        _add_day_and_month(sums, local_day(created_at, zone),
                           (sender, operator_id, campaign_id), values)
    _add_to_tallies(sums)
    _store_zone(zone)
    db.session.commit()
    return len(rows)


def _add_to_tallies(sums: Sums) -> None:
    """Add counts to the tally rows (creating them), then drop rows that became empty."""
    if not sums:
        return
    table = message_tally
    dialect_insert = postgresql.insert if is_postgres() else sqlite.insert
    statement = dialect_insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS),
        set_={name: table.c[name] + statement.excluded[name] for name in VALUE_COLUMNS})
    db.session.execute(statement, _records(sums))
    starts = sorted({key[1] for key in sums})
    db.session.execute(delete(table).where(
        table.c.start.in_(starts), *(table.c[name] == 0 for name in VALUE_COLUMNS)))


def _records(sums: Sums) -> list[dict]:
    return [{**dict(zip(KEY_COLUMNS, key, strict=True)),
             **dict(zip(VALUE_COLUMNS, values, strict=True))}
            for key, values in sorted(sums.items())]


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


def _day_recount():
    """Counts per sender ID, operator and campaign of the messages created in one range."""
    # The same key the triggers give a message, so the same conditions apply.
    key = ", ".join(f"{sql} AS {name}" for sql, name in zip(
        tally_key_sql("message"), TALLY_KEY_COLUMNS, strict=True))
    keyed = text(
        f"SELECT {key}, 1 AS messages, COALESCE(message.credits, 0) AS credits "  # noqa: S608
        "FROM message WHERE message.created_at >= :start AND message.created_at < :end"
    ).columns(*(column(name) for name in (*TALLY_KEY_COLUMNS, "messages", "credits"))
              ).subquery("keyed")
    values = [func.sum(sql).label(name) for name, sql in counter_expressions(
        "keyed.messages", "keyed.credits").items()]
    dims = [keyed.c.sender, keyed.c.operator_id, keyed.c.campaign_id]
    return select(*dims, *values).group_by(*dims)


def recount_tallies() -> Sums:
    """What every tally row should hold, counted from the messages: one indexed range of
    ``created_at`` per local day, in the database's own aggregation."""
    zone = _zone()
    statement = _day_recount()
    sums: Sums = {}
    for day, start, end in _message_days(zone):
        for sender, operator_id, campaign_id, *values in db.session.execute(
                statement, {"start": start, "end": end}):
            _add_day_and_month(sums, day, (sender, operator_id, campaign_id),
                               [int(value or 0) for value in values])
    return sums


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
    db.session.execute(delete(message_tally))
    db.session.execute(delete(MessageTallyDelta))
    records = _records(recount_tallies())
    for index in range(0, len(records), 5000):
        db.session.execute(message_tally.insert(), records[index:index + 5000])
    _store_zone(_zone())
    db.session.commit()
    return len(records)


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


def current_tallies() -> Sums:
    """The tallies as reports see them (rows plus pending deltas), for checks."""
    zone = _zone()
    sums: Sums = {}
    for row in db.session.execute(select(message_tally)):
        _add(sums, tuple(row[:len(KEY_COLUMNS)]), row[len(KEY_COLUMNS):])
    delta = MessageTallyDelta
    for created_at, *dims_and_values in db.session.execute(
            select(delta.created_at, delta.sender, delta.operator_id, delta.campaign_id,
                   *counter_columns())):
        _add_day_and_month(sums, local_day(created_at, zone), tuple(dims_and_values[:3]),
                           dims_and_values[3:])
    return {key: values for key, values in sums.items() if any(values)}
