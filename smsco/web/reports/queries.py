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

from sqlalchemy import Date, DateTime, Select, and_, cast, func, null, or_, select

from ..extensions import db
from ..models import BalanceSnapshot, Campaign, MessageTallyDelta, User, message_tally
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


def _tally_ranges(scope: Scope, months: bool):
    """Which tally rows cover the scope's days: month rows for whole months (``months``),
    day rows for the rest."""
    table = message_tally
    if scope.start is None or scope.end is None:
        return table.c.span == MONTH  # every month row: all time
    whole_from = scope.start if scope.start.day == 1 else _first_of_next_month(scope.start)
    whole_to = scope.end.replace(day=1)
    if not months or whole_from >= whole_to:
        return and_(table.c.span == DAY, table.c.start >= scope.start,
                    table.c.start < scope.end)
    return or_(
        and_(table.c.span == MONTH, table.c.start >= whole_from, table.c.start < whole_to),
        and_(table.c.span == DAY, table.c.start >= scope.start, table.c.start < whole_from),
        and_(table.c.span == DAY, table.c.start >= whole_to, table.c.start < scope.end))


def _filters(columns, scope: Scope) -> list:
    conditions = []
    if scope.sender is not None:
        conditions.append(columns.sender == scope.sender)
    if scope.operator_id is not None:
        conditions.append(columns.operator_id == scope.operator_id)
    if scope.campaign_id is not None:
        conditions.append(columns.campaign_id == scope.campaign_id)
    if scope.kind == "single":
        conditions.append(columns.campaign_id == 0)
    elif scope.kind == "campaign":
        conditions.append(columns.campaign_id != 0)
    return conditions


def _tally_side(scope: Scope, by: str | None, months: bool) -> Select:
    columns = message_tally.c
    if by == "day":
        keys = [columns.start.label("day"), cast(null(), DateTime).label("moment")]
        grouping = [columns.start]
    elif by is not None:
        keys = [columns[DIMENSIONS[by]].label("key")]
        grouping = [columns[DIMENSIONS[by]]]
    else:
        keys, grouping = [], []
    sums = [func.sum(columns[name]).label(name) for name in VALUE_COLUMNS]
    return (select(*keys, *sums).where(_tally_ranges(scope, months), *_filters(columns, scope))
            .group_by(*grouping))


def _delta_side(scope: Scope, by: str | None) -> Select:
    delta = MessageTallyDelta
    zone = local_zone()
    if by == "day":
        # A delta's local day is worked out from its UTC time after reading.
        keys = [cast(null(), Date).label("day"), delta.created_at.label("moment")]
        grouping = [delta.created_at]
    elif by is not None:
        keys = [getattr(delta, DIMENSIONS[by]).label("key")]
        grouping = [getattr(delta, DIMENSIONS[by])]
    else:
        keys, grouping = [], []
    conditions = _filters(delta, scope)
    if scope.start is not None:
        conditions.append(delta.created_at >= day_start_utc(scope.start, zone))
    if scope.end is not None:
        conditions.append(delta.created_at < day_start_utc(scope.end, zone))
    sums = [func.sum(sql).label(name) for name, sql in counter_expressions().items()]
    return select(*keys, *sums).where(*conditions).group_by(*grouping)


def count_rows(scope: Scope, by: str | None = None, months: bool = True) -> list[CountRow]:
    """Counts per group (``by``: None, "day" or a ``DIMENSIONS`` key), from the tallies and
    the pending deltas in one statement. With ``months``, whole months come from month
    rows (keyed by their first day when ``by`` is "day")."""
    statement = _tally_side(scope, by, months).union_all(_delta_side(scope, by))
    zone = local_zone()
    rows = []
    for row in db.session.execute(statement):
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


def balances_at(moments: Sequence[datetime]) -> list[Decimal | None]:
    """The latest balance reading at or before each moment (naive UTC), in one statement
    of indexed look-ups; None where there was no reading yet."""
    if not moments:
        return []
    reading = BalanceSnapshot
    columns = [select(reading.balance).where(reading.at <= moment)
               .order_by(reading.at.desc()).limit(1).scalar_subquery().label(f"b{index}")
               for index, moment in enumerate(moments)]
    return list(db.session.execute(select(*columns)).one())


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
