"""Reports: figures per period and per sender ID, operator or campaign; the balance.

Every figure comes from ``queries.count_rows`` (day tallies plus pending
deltas) and is defined in ``figures``, so the reports page, the overview and
the campaign pages say the same thing about the same messages.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _

from ..models import utcnow
from ..sending.tallies import day_start_utc
from ..ui.formatting import day_label, local_zone, month_label
from . import queries
from .figures import Figures
from .forms import ReportFilters
from .queries import Scope

MAX_BARS = 92  # more periods than this and the grouping gets coarser
DAYS_BY_DAY = 62  # automatic grouping: by day up to two months, by week up to half a year
DAYS_BY_WEEK = 26 * 7
BREAKDOWN_LIMIT = 100  # rows shown; the CSV export has them all


@dataclass(frozen=True)
class Period:
    """Local days ``[start, end)`` shown as one bar."""

    start: date
    end: date
    label: str

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)


@dataclass
class Report:
    """The reports page's numbers: per period, in total, and the balance."""

    filters: ReportFilters
    start: date
    end: date
    group: str
    periods: list[Period]
    figures: list[Figures]
    total: Figures
    balances: list[Decimal | None]
    notes: list[str] = field(default_factory=list)


@dataclass
class BreakdownRow:
    """One sender ID, operator or campaign and its figures."""

    key: object
    name: str
    figures: Figures


@dataclass
class Breakdown:
    """The rows of one breakdown table, sorted; ``count`` before the display limit."""

    by: str
    rows: list[BreakdownRow]
    count: int


# -- periods -----------------------------------------------------------------------


GROUPS = ("day", "week", "month")


def choose_grouping(start: date, end: date, asked: str | None) -> tuple[str, str | None]:
    """The grouping to draw, and a note when the one asked for would make too many bars."""
    days = (end - start).days
    if asked is None:
        return ("day" if days <= DAYS_BY_DAY else "week" if days <= DAYS_BY_WEEK
                else "month"), None
    for group in GROUPS[GROUPS.index(asked):]:
        if group == "month" or len(_starts(start, end, group)) <= MAX_BARS:
            if group == asked:
                return group, None
            return group, _("Too many bars for one chart: grouped by %(group)s instead.",
                            group={"week": _("week"), "month": _("month")}[group])
    return "month", None


def _starts(start: date, end: date, group: str) -> list[date]:
    """The first day of each period in ``[start, end)``; weeks start on Monday."""
    starts, current = [], start
    while current < end:
        starts.append(current)
        if group == "day":
            current += timedelta(days=1)
        elif group == "week":
            current += timedelta(days=7 - current.weekday())
        else:
            current = (current.replace(day=1) + timedelta(days=32)).replace(day=1)
    return starts


def make_periods(start: date, end: date, group: str) -> list[Period]:
    """Consecutive periods covering ``[start, end)``; the first and last may be partial."""
    starts = _starts(start, end, group)
    ends = [*starts[1:], end]
    if group == "day":
        labels = [day_label(first) for first in starts]
    elif group == "week":
        labels = [_("Week of %(day)s", day=day_label(first)) for first in starts]
    else:
        labels = [month_label(first) for first in starts]
    return [Period(first, following, label)
            for first, following, label in zip(starts, ends, labels, strict=True)]


def describe_range(start: date, end: date) -> str:
    """The days counted, in words ("3 Mar 2030 – 1 Apr 2030")."""
    last = end - timedelta(days=1)
    if last == start:
        return day_label(start, year=True)
    return _("%(first)s – %(last)s", first=day_label(start, year=True),
             last=day_label(last, year=True))


# -- figures -----------------------------------------------------------------------


def period_figures(scope: Scope, periods: list[Period], group: str = "day"
                   ) -> tuple[list[Figures], Figures]:
    """Figures for each period and for all of them, from one query grouped by day (by
    month for whole months when grouping by month)."""
    figures = [Figures() for _ in periods]
    total = Figures()
    starts = [period.start for period in periods]
    for row in queries.count_rows(scope, by="day", months=group == "month"):
        index = bisect_right(starts, row.key) - 1
        if 0 <= index < len(periods) and row.key < periods[index].end:
            figures[index].add(row.values)
            total.add(row.values)
    return figures, total


def closing_balances(periods: list[Period]) -> list[Decimal | None]:
    """The balance at the end of each period (or now, for the current one)."""
    zone, now = local_zone(), utcnow()
    return queries.balances_at([min(day_start_utc(p.end, zone), now) for p in periods])


def build_report(filters: ReportFilters, today: date) -> Report:
    """Everything the reports page draws, for the filters asked."""
    start, end = filters.span(today)
    group, note = choose_grouping(start, end, filters.group)
    periods = make_periods(start, end, group)
    figures, total = period_figures(filters.scope(today), periods, group)
    return Report(filters=filters, start=start, end=end, group=group, periods=periods,
                  figures=figures, total=total, balances=closing_balances(periods),
                  notes=[note] if note else [])


def scope_figures(scope: Scope) -> Figures:
    """All the figures of one scope (e.g. one campaign, all time)."""
    total = Figures()
    for row in queries.count_rows(scope):
        total.add(row.values)
    return total


def last_days(today: date, days: int) -> list[Period]:
    """The last ``days`` days, today included, one period each."""
    return make_periods(today - timedelta(days=days - 1), today + timedelta(days=1), "day")


def recent_days(today: date, days: int = 30) -> tuple[list[Period], list[Figures]]:
    """Per-day figures of the last ``days`` days, today included (the overview's chart)."""
    periods = last_days(today, days)
    figures, _total = period_figures(Scope(start=periods[0].start, end=periods[-1].end),
                                     periods)
    return periods, figures


# -- breakdowns ----------------------------------------------------------------------


def _sort_value(sort: str, row: BreakdownRow):
    """The value a breakdown is sorted on (None: no delivery rate yet)."""
    if sort == "name":
        return row.name.lower()
    if sort == "spend":
        return row.figures.credits
    return getattr(row.figures, sort)


def breakdown(filters: ReportFilters, today: date, limit: int | None = BREAKDOWN_LIMIT
              ) -> Breakdown:
    """Figures per sender ID, operator or campaign (``filters.by``), sorted as asked."""
    by = filters.by
    grouped: dict[object, Figures] = {}
    for row in queries.count_rows(filters.scope(today), by=by):
        grouped.setdefault(row.key, Figures()).add(row.values)
    names = _names(by, list(grouped))
    rows = [BreakdownRow(key, names[key], figures) for key, figures in grouped.items()]
    valued = [row for row in rows if _sort_value(filters.sort, row) is not None]
    valued.sort(key=lambda row: _sort_value(filters.sort, row), reverse=filters.descending)
    rows = valued + [row for row in rows if _sort_value(filters.sort, row) is None]
    return Breakdown(by, rows if limit is None else rows[:limit], len(rows))


def _names(by: str, keys: list) -> dict[object, str]:
    if by == "sender":
        return {key: key or _("No sender ID") for key in keys}
    if by == "operator":
        found = queries.operator_names([key for key in keys if key])
        return {key: found.get(key) or (_("Deleted account #%(id)d", id=key) if key
                                        else _("No operator")) for key in keys}
    found = queries.campaign_names([key for key in keys if key])
    return {key: found.get(key) or (_("Campaign #%(id)d", id=key) if key
                                    else _("Single messages")) for key in keys}
