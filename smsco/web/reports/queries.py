"""Report queries: the day tallies plus the deltas not yet folded, read in one statement.

A million messages are never counted row by row: ``message_tally`` holds one
row per local day and kind of message (sender ID, operator, campaign,
outcome), and ``message_tally_delta`` the changes since the last fold
(``sending/tallies.py``). One ``UNION ALL`` reads both under one snapshot,
so a fold that commits meanwhile can neither count a change twice nor lose
it. The figures are exact at every moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Select, cast, func, null, select

from ..extensions import db
from ..models import BalanceSnapshot, Campaign, MessageTally, MessageTallyDelta, User
from ..sending.tallies import day_start_utc, local_day
from ..ui.formatting import local_zone

OUTCOME_COLUMNS = ("state", "final_status", "error_code", "accepted")
# What a breakdown groups by, and the column holding it.
DIMENSIONS = {"sender": "sender", "operator": "operator_id", "campaign": "campaign_id"}


@dataclass(frozen=True)
class Scope:
    """Which messages to count: local days ``[start, end)`` and optional filters."""

    start: date | None = None
    end: date | None = None
    sender: str | None = None  # "" counts messages sent without a sender ID
    operator_id: int | None = None
    campaign_id: int | None = None
    kind: str | None = None  # "single" or "campaign"


@dataclass(frozen=True)
class CountRow:
    """Messages of one outcome within one group (a day, a sender ID, …) and their credits."""

    key: object
    state: str
    final_status: int
    error_code: int
    accepted: int
    messages: int
    credits: int


def _conditions(model, scope: Scope, pending: bool) -> list:
    zone = local_zone()
    conditions = []
    if scope.start is not None:
        conditions.append(model.created_at >= day_start_utc(scope.start, zone) if pending
                          else model.day >= scope.start)
    if scope.end is not None:
        conditions.append(model.created_at < day_start_utc(scope.end, zone) if pending
                          else model.day < scope.end)
    if scope.sender is not None:
        conditions.append(model.sender == scope.sender)
    if scope.operator_id is not None:
        conditions.append(model.operator_id == scope.operator_id)
    if scope.campaign_id is not None:
        conditions.append(model.campaign_id == scope.campaign_id)
    if scope.kind == "single":
        conditions.append(model.campaign_id == 0)
    elif scope.kind == "campaign":
        conditions.append(model.campaign_id != 0)
    return conditions


def _side(model, scope: Scope, by: str | None, pending: bool) -> Select:
    """One half of the union: tallies (``pending`` False) or pending deltas."""
    if by == "day" and pending:
        # A delta's local day is worked out from its UTC time after reading.
        keys = [cast(null(), Date).label("day"), model.created_at.label("moment")]
        grouping = [model.created_at]
    elif by == "day":
        keys = [model.day.label("day"), cast(null(), DateTime).label("moment")]
        grouping = [model.day]
    elif by is not None:
        column = getattr(model, DIMENSIONS[by])
        keys, grouping = [column.label("key")], [column]
    else:
        keys, grouping = [], []
    outcome = [getattr(model, column) for column in OUTCOME_COLUMNS]
    return (select(*keys, *outcome, func.sum(model.messages).label("messages"),
                   func.sum(model.credits).label("credits"))
            .where(*_conditions(model, scope, pending))
            .group_by(*grouping, *outcome))


def count_rows(scope: Scope, by: str | None = None) -> list[CountRow]:
    """Messages and credits per group (``by``: None, "day" or a ``DIMENSIONS`` key) and
    outcome, in one statement over tallies and pending deltas."""
    statement = _side(MessageTally, scope, by, False).union_all(
        _side(MessageTallyDelta, scope, by, True))
    zone = local_zone()
    rows = []
    for row in db.session.execute(statement):
        mapping = row._mapping
        if by == "day":
            key = mapping["day"] if mapping["day"] is not None else local_day(
                mapping["moment"], zone)
        else:
            key = mapping["key"] if by is not None else None
        messages, credits = int(mapping["messages"] or 0), int(mapping["credits"] or 0)
        if messages or credits:
            rows.append(CountRow(key, mapping["state"], mapping["final_status"],
                                 mapping["error_code"], mapping["accepted"], messages, credits))
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
    senders = db.session.scalars(select(MessageTally.sender).distinct()
                                 .where(MessageTally.sender != "")
                                 .order_by(MessageTally.sender)).all()
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
