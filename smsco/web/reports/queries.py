"""Report queries: the tallies plus the deltas not yet folded, read in one statement.

A million messages are never counted row by row: ``message_tally`` holds one
row per local day, and one per month, for each sender ID, operator and
campaign, with a counter per outcome and cause; ``message_tally_delta`` holds
the changes since the last fold (``sending/tallies.py``). Whole months are
read from month rows, the days around them from day rows. One ``UNION ALL``
reads the tallies and the pending deltas under one snapshot, so a fold that
commits meanwhile can neither count a change twice nor lose it: the figures
are exact at every moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import (
    CompoundSelect,
    Date,
    DateTime,
    Numeric,
    Select,
    and_,
    bindparam,
    cast,
    column,
    func,
    null,
    or_,
    select,
    text,
)

from ..extensions import db
from ..models import Campaign, MessageTallyDelta, User, message_tally
from ..sending.tallies import (
    DAY,
    MONTH,
    VALUE_COLUMNS,
    counter_expressions,
    day_start_utc,
    local_day,
)
from ..ui.formatting import local_zone

# What a breakdown groups by, and the column holding it.
DIMENSIONS = {"sender": "sender", "operator": "operator_id", "campaign": "campaign_id"}


@dataclass(frozen=True)
class Scope:
    """Which messages to count: local days ``[start, end)`` (None: all) and filters."""

    start: date | None = None
    end: date | None = None
    sender: str | None = None  # "" counts messages sent without a sender ID
    operator_id: int | None = None
    campaign_id: int | None = None
    kind: str | None = None  # "single" or "campaign"


@dataclass(frozen=True)
class CountRow:
    """The counts (``VALUE_COLUMNS``) of one group: a day (or month), a sender ID, …"""

    key: object
    values: dict[str, int]


def _first_of_next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _shape(scope: Scope, months: bool) -> tuple[str, dict[str, object]]:
    """Which tally rows cover the scope's days, and the dates that bound them: every
    month row ("all"), day rows ("days"), or month rows for whole months with day rows
    around them ("months")."""
    if scope.start is None or scope.end is None:
        return "all", {}
    zone = local_zone()
    dates = {"start": scope.start, "end": scope.end,
             "start_utc": day_start_utc(scope.start, zone),
             "end_utc": day_start_utc(scope.end, zone)}
    whole_from = scope.start if scope.start.day == 1 else _first_of_next_month(scope.start)
    whole_to = scope.end.replace(day=1)
    if not months or whole_from >= whole_to:
        return "days", dates
    return "months", {**dates, "whole_from": whole_from, "whole_to": whole_to}


def _filter_values(scope: Scope) -> dict[str, object]:
    values = {"sender": scope.sender, "operator_id": scope.operator_id,
              "campaign_id": scope.campaign_id}
    return {name: value for name, value in values.items() if value is not None}


def count_rows(scope: Scope, by: str | None = None, months: bool = True) -> list[CountRow]:
    """Counts per group (``by``: None, "day" or a ``DIMENSIONS`` key), from the tallies and
    the pending deltas in one statement. With ``months``, whole months come from month
    rows (keyed by their first day when ``by`` is "day")."""
    shape, dates = _shape(scope, months)
    filters = _filter_values(scope)
    statement = _count_statement(by, shape, tuple(sorted(filters)), scope.kind)
    zone = local_zone()
    rows = []
    for row in db.session.execute(statement, {**dates, **filters}):
        mapping = row._mapping
        if by == "day":
            key = mapping["day"] if mapping["day"] is not None else local_day(
                mapping["moment"], zone)
        else:
            key = mapping["key"] if by is not None else None
        values = {name: int(mapping[name] or 0) for name in VALUE_COLUMNS}
        if any(values.values()):
            rows.append(CountRow(key, values))
    return rows


# -- the statement, built once per shape ------------------------------------------------
#
# A report runs the same few statements with other dates: each shape is built once
# with bound parameters, so SQLAlchemy neither rebuilds nor re-keys fifty columns.


@lru_cache(maxsize=256)
def _count_statement(by: str | None, shape: str, filters: tuple[str, ...],
                     kind: str | None) -> CompoundSelect:
    return _tally_side(by, shape, filters, kind).union_all(
        _delta_side(by, shape, filters, kind))


def _tally_ranges(shape: str):
    columns = message_tally.c

    def days(low: str, high: str):
        return and_(columns.span == DAY, columns.start >= bindparam(low, type_=Date),
                    columns.start < bindparam(high, type_=Date))
    if shape == "all":
        return columns.span == MONTH
    if shape == "days":
        return days("start", "end")
    return or_(and_(columns.span == MONTH, columns.start >= bindparam("whole_from", type_=Date),
                    columns.start < bindparam("whole_to", type_=Date)),
               days("start", "whole_from"), days("whole_to", "end"))


def _filters(columns, filters: tuple[str, ...], kind: str | None) -> list:
    conditions = [columns[name] == bindparam(name) for name in filters]
    if kind == "single":
        conditions.append(columns["campaign_id"] == 0)
    elif kind == "campaign":
        conditions.append(columns["campaign_id"] != 0)
    return conditions


def _tally_side(by: str | None, shape: str, filters: tuple[str, ...],
                kind: str | None) -> Select:
    columns = message_tally.c
    if by == "day":
        keys = [columns.start.label("day"), cast(null(), DateTime).label("moment")]
        grouping = [columns.start]
    elif by is not None:
        keys, grouping = [columns[DIMENSIONS[by]].label("key")], [columns[DIMENSIONS[by]]]
    else:
        keys, grouping = [], []
    sums = [func.sum(columns[name]).label(name) for name in VALUE_COLUMNS]
    return (select(*keys, *sums).where(_tally_ranges(shape), *_filters(columns, filters, kind))
            .group_by(*grouping))


def _delta_side(by: str | None, shape: str, filters: tuple[str, ...],
                kind: str | None) -> Select:
    delta = MessageTallyDelta.__table__
    columns = delta.c
    if by == "day":
        # A delta's local day is worked out from its UTC time after reading.
        keys = [cast(null(), Date).label("day"), columns.created_at.label("moment")]
        grouping = [columns.created_at]
    elif by is not None:
        keys, grouping = [columns[DIMENSIONS[by]].label("key")], [columns[DIMENSIONS[by]]]
    else:
        keys, grouping = [], []
    conditions = _filters(columns, filters, kind)
    if shape != "all":
        conditions += [columns.created_at >= bindparam("start_utc", type_=DateTime),
                       columns.created_at < bindparam("end_utc", type_=DateTime)]
    sums = [func.sum(sql).label(name) for name, sql in counter_expressions().items()]
    return select(*keys, *sums).where(*conditions).group_by(*grouping)


def balances_at(moments: Sequence[datetime]) -> list[Decimal | None]:
    """The latest balance reading at or before each moment (naive UTC), in one statement
    of indexed look-ups; None where there was no reading yet."""
    if not moments:
        return []
    latest = ("(SELECT balance FROM balance_snapshot WHERE at <= :m{0} "
              "ORDER BY at DESC LIMIT 1) AS b{0}")
    statement = text("SELECT " + ", ".join(latest.format(i) for i in range(len(moments)))
                     ).columns(*(column(f"b{i}", Numeric(12, 2)) for i in range(len(moments))))
    statement = statement.bindparams(*(bindparam(f"m{i}", type_=DateTime)
                                       for i in range(len(moments))))
    return list(db.session.execute(statement, {f"m{i}": moment for i, moment in
                                               enumerate(moments)}).one())


def operator_names(ids: Sequence[int]) -> dict[int, str]:
    """Usernames by id."""
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


def campaign_names(ids: Sequence[int]) -> dict[int, str]:
    """Campaign names by id."""
    if not ids:
        return {}
    return dict(db.session.execute(
        select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids))).all())


def filter_choices(limit: int = 200) -> dict[str, list]:
    """What the filter lists offer: operators, sender IDs used, the newest campaigns."""
    columns = message_tally.c
    senders = db.session.scalars(select(columns.sender).distinct()
                                 .where(columns.span == MONTH, columns.sender != "")
                                 .order_by(columns.sender)).all()
    return {
        "operators": db.session.execute(
            select(User.id, User.username).order_by(User.username)).all(),
        "senders": list(senders),
        "campaigns": db.session.execute(
            select(Campaign.id, Campaign.name).order_by(Campaign.id.desc()).limit(limit)).all(),
    }


def local_today() -> date:
    """Today in the display zone."""
    return datetime.now(local_zone()).date()
