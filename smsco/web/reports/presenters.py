"""How reports look: one table per chart (for the page and its CSV export) and the charts.

A chart and its table are drawn from the same numbers: each ``Table``
(``tables.py``) holds the raw values, and the page, the CSV export and the
chart format them with the shared formatters (``ui.formatting``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup

from ..ui.charts import Axis, Series, bar_chart, hbar_chart, line_chart
from ..ui.formatting import lari, number, percent
from .figures import Figures, Outcome, cause_label
from .forms import BREAKDOWNS
from .services import Breakdown, Period, Report, describe_range
from .tables import Column, Table

RATE_COLOR, OVERALL_COLOR, SPEND_COLOR, BALANCE_COLOR = "#175cd3", "#c8102e", "#6938ef", "#175cd3"
CAUSE_COLOR = Outcome.COLORS[Outcome.FAILED]
BREAKDOWN_TABLES = {"sender": "senders", "operator": "operators", "campaign": "campaigns"}


# -- tables --------------------------------------------------------------------------


def _period_columns() -> list[Column]:
    return [Column("period", _("Period"), "text"), Column("first", _("First day"), "date", False),
            Column("last", _("Last day"), "date", False)]


def _period_rows(report: Report, values: Callable[[Figures], dict]) -> list[dict]:
    return [{"period": period.label, "first": period.start, "last": period.last,
             **values(figures)} for period, figures in zip(report.periods, report.figures,
                                                           strict=True)]


def _total_row(report: Report, values: Callable[[Figures], dict]) -> dict:
    return {"period": _("Total"), "first": report.start, "last": report.periods[-1].last
            if report.periods else report.start, **values(report.total)}


def _outcome_values(figures: Figures) -> dict:
    return {"messages": figures.messages,
            **{outcome: figures.outcomes[outcome] for outcome in Outcome.ORDER}}


def outcome_table(report: Report) -> Table:
    columns = [*_period_columns(), Column("messages", _("Messages")),
               *(Column(outcome, str(Outcome.LABELS[outcome])) for outcome in Outcome.ORDER)]
    return Table("outcomes", _("Messages by outcome"), columns,
                 _period_rows(report, _outcome_values), _total_row(report, _outcome_values))


def _rate_values(figures: Figures) -> dict:
    return {"sent": figures.sent, "final": figures.final, "delivered": figures.delivered,
            "rate": figures.rate}


def rate_table(report: Report) -> Table:
    columns = [*_period_columns(), Column("sent", _("Sent")),
               Column("final", _("Sent with a final status")),
               Column("delivered", _("Delivered")), Column("rate", _("Delivery rate"), "rate")]
    return Table("rate", _("Delivery rate"), columns, _period_rows(report, _rate_values),
                 _total_row(report, _rate_values))


def _spend_values(figures: Figures) -> dict:
    return {"sent": figures.sent, "credits": figures.credits, "spend": figures.spend}


def spend_table(report: Report) -> Table:
    columns = [*_period_columns(), Column("sent", _("Sent")),
               Column("credits", _("Credits (tetri)")), Column("spend", _("Spend"), "money")]
    return Table("spend", _("Spend"), columns, _period_rows(report, _spend_values),
                 _total_row(report, _spend_values))


def balance_table(report: Report) -> Table:
    columns = [*_period_columns(), Column("balance", _("Balance at the end"), "money")]
    rows = [{"period": period.label, "first": period.start, "last": period.last,
             "balance": balance} for period, balance in zip(report.periods, report.balances,
                                                             strict=True)]
    return Table("balance", _("Balance"), columns, rows)


def outcome_share_table(figures: Figures, name: str = "campaign-outcomes") -> Table:
    """Messages per outcome (a campaign's, or any set's)."""
    columns = [Column("outcome", _("Outcome"), "text"), Column("messages", _("Messages")),
               Column("share", _("Share"), "rate")]
    rows = [{"outcome": str(Outcome.LABELS[outcome]), "messages": figures.outcomes[outcome],
             "share": figures.outcomes[outcome] / figures.messages}
            for outcome in Outcome.ORDER if figures.outcomes[outcome]]
    total = {"outcome": _("Total"), "messages": figures.messages, "share": 1.0}
    return Table(name, _("Messages by outcome"), columns, rows, total if rows else None)


def cause_table(figures: Figures, name: str = "causes") -> Table:
    columns = [Column("cause", _("Cause"), "text"), Column("messages", _("Messages")),
               Column("share", _("Share of failures"), "rate")]
    failed = figures.failed
    rows = [{"cause": cause_label(cause), "messages": count,
             "share": count / failed if failed else None}
            for cause, count in figures.ranked_causes()]
    total = {"cause": _("Total"), "messages": failed, "share": 1.0 if failed else None}
    return Table(name, _("Failures by cause"), columns, rows, total if rows else None)


def breakdown_table(split: Breakdown, total: Figures,
                    link: Callable[[object], str | None]) -> Table:
    """One row per sender ID, operator or campaign, with the columns operators compare."""
    name = {"sender": _("Sender ID"), "operator": _("Operator"), "campaign": _("Campaign")}
    columns = [Column("name", name[split.by], "text"), Column("messages", _("Messages")),
               Column("sent", _("Sent")), Column("delivered", _("Delivered")),
               Column("rate", _("Delivery rate"), "rate"), Column("failed", _("Failed")),
               Column("unknown", _("Unknown")), Column("spend", _("Spend"), "money")]

    def values(figures: Figures) -> dict:
        return {"messages": figures.messages, "sent": figures.sent,
                "delivered": figures.delivered, "rate": figures.rate,
                "failed": figures.failed, "unknown": figures.unknown, "spend": figures.spend}

    rows = [{"name": row.name, **values(row.figures)} for row in split.rows]
    links = {index: url for index, row in enumerate(split.rows) if (url := link(row.key))}
    return Table(BREAKDOWN_TABLES[split.by], str(BREAKDOWNS[split.by]), columns, rows,
                 {"name": _("Total"), **values(total)}, links)


# -- charts --------------------------------------------------------------------------


def _count_axis(label: str | None = None) -> Axis:
    return Axis(label or _("Messages"), number, whole=True)


def _rate_axis() -> Axis:
    return Axis(_("Delivery rate (%)"), lambda value: percent(value, 0), 0.0, 1.0)


def _group_label(report: Report) -> str:
    return {"day": _("Day"), "week": _("Week"), "month": _("Month")}[report.group]


def _no_messages() -> str:
    return _("No messages in this period")


def outcome_chart(report: Report) -> Markup:
    labels = [period.label for period in report.periods]
    present = [o for o in Outcome.ORDER if report.total.outcomes[o]] or [Outcome.DELIVERED]
    series = [Series(str(Outcome.LABELS[o]), [f.outcomes[o] for f in report.figures],
                     Outcome.COLORS[o]) for o in present]
    parts = ", ".join(f"{number(report.total.outcomes[o])} {str(Outcome.LABELS[o]).lower()}"
                      for o in present)
    description = _("%(total)s messages from %(range)s: %(parts)s. The table below the chart "
                    "has every number.", total=number(report.total.messages),
                    range=describe_range(report.start, report.end), parts=parts)
    title = _("Messages per %(group)s by outcome", group=_group_label(report).lower())
    return bar_chart("chart-outcomes", title, description, labels, series, _count_axis(),
                     _group_label(report), empty_note=_no_messages())


def rate_chart(report: Report) -> Markup:
    labels = [period.label for period in report.periods]
    overall = report.total.rate
    lines = [] if overall is None else [Series(
        _("Overall %(rate)s", rate=percent(overall)), [overall], OVERALL_COLOR, dashed=True)]
    description = _("Delivered as a share of sent messages with a final gateway status, "
                    "per %(group)s; overall %(rate)s (%(delivered)s of %(final)s).",
                    group=_group_label(report).lower(), rate=percent(overall),
                    delivered=number(report.total.delivered), final=number(report.total.final))
    return bar_chart("chart-rate", _("Delivery rate per %(group)s",
                                     group=_group_label(report).lower()), description, labels,
                     [Series(_("Delivery rate"), [f.rate for f in report.figures], RATE_COLOR)],
                     _rate_axis(), _group_label(report), lines=lines,
                     empty_note=_("No message has a final status in this period"))


def spend_chart(report: Report) -> Markup:
    labels = [period.label for period in report.periods]
    description = _("%(spend)s spent on %(sent)s sent messages from %(range)s.",
                    spend=lari(report.total.spend), sent=number(report.total.sent),
                    range=describe_range(report.start, report.end))
    return bar_chart("chart-spend", _("Spend per %(group)s", group=_group_label(report).lower()),
                     description, labels,
                     [Series(_("Spend"), [float(f.spend) for f in report.figures], SPEND_COLOR)],
                     Axis(_("Spend (GEL)"), lari), _group_label(report),
                     empty_note=_("Nothing spent in this period"))


def balance_chart(report: Report) -> Markup:
    labels = [period.label for period in report.periods]
    known = [b for b in report.balances if b is not None]
    description = _("The gateway balance at the end of each %(group)s, from %(first)s to "
                    "%(last)s.", group=_group_label(report).lower(),
                    first=lari(known[0]) if known else "—", last=lari(known[-1]) if known else "—")
    return line_chart("chart-balance", _("Balance at the end of each %(group)s",
                                         group=_group_label(report).lower()), description, labels,
                      [Series(_("Balance"), [None if b is None else float(b)
                                             for b in report.balances], BALANCE_COLOR)],
                      Axis(_("Balance (GEL)"), lari), _group_label(report),
                      empty_note=_("The balance has not been read yet"))


def balance_trend_chart(periods: list[Period], balances: list[Decimal | None]) -> Markup:
    """The overview's small balance chart: the balance at the end of each day (now, today)."""
    known = [b for b in balances if b is not None]
    if not known:
        return Markup("")
    description = _("The gateway balance at the end of each of the last %(days)d days, from "
                    "%(first)s to %(last)s.", days=len(periods), first=lari(known[0]),
                    last=lari(known[-1]))
    return line_chart("chart-balance-trend", _("Balance, last %(days)d days", days=len(periods)),
                      description, [period.label for period in periods],
                      [Series(_("Balance at the end of the day"),
                              [None if b is None else float(b) for b in balances],
                              BALANCE_COLOR)],
                      Axis(_("Balance (GEL)"), lari), _("Day"), width=480, height=240)


def cause_chart(figures: Figures, chart_id: str = "chart-causes") -> Markup:
    """One bar per failure cause, the most frequent first."""
    ranked = figures.ranked_causes()
    description = ngettext("%(num)d failed message.", "%(num)d failed messages.",
                           figures.failed) + " " + "; ".join(
        f"{cause_label(cause)}: {number(count)}" for cause, count in ranked)
    return hbar_chart(chart_id, _("Failures by cause"), description,
                      [cause_label(cause) for cause, _count in ranked],
                      [count for _cause, count in ranked], _count_axis(), CAUSE_COLOR,
                      empty_note=_("No failed messages"))


def outcome_share_chart(figures: Figures, chart_id: str = "chart-campaign-outcomes") -> Markup:
    """One bar per outcome: where a campaign's messages ended up."""
    present = [o for o in Outcome.ORDER if figures.outcomes[o]]
    description = _("%(total)s messages: %(parts)s.", total=number(figures.messages),
                    parts=", ".join(f"{number(figures.outcomes[o])} "
                                    f"{str(Outcome.LABELS[o]).lower()}" for o in present))
    return hbar_chart(chart_id, _("Messages by outcome"), description,
                      [str(Outcome.LABELS[o]) for o in present],
                      [figures.outcomes[o] for o in present], _count_axis(),
                      [Outcome.COLORS[o] for o in present], empty_note=_("No messages yet"))


def recent_chart(periods: list[Period], figures: list[Figures]) -> Markup:
    """The overview's chart: messages sent per day, with the delivery rate over them."""
    labels = [period.label for period in periods]
    sent = sum(f.sent for f in figures)
    total = Figures()
    for day in figures:
        total.merge(day)
    description = _("%(sent)s messages sent in the last %(days)d days; delivery rate "
                    "%(rate)s.", sent=number(sent), days=len(periods), rate=percent(total.rate))
    return bar_chart("chart-recent", _("Last %(days)d days", days=len(periods)), description,
                     labels, [Series(_("Sent"), [f.sent for f in figures], RATE_COLOR)],
                     _count_axis(), _("Day"),
                     lines=[Series(_("Delivery rate"), [f.rate for f in figures],
                                   Outcome.COLORS[Outcome.DELIVERED])],
                     line_axis=_rate_axis(), empty_note=_("No messages yet"), height=260)


@dataclass(frozen=True)
class Section:
    """A chart with its table and CSV, as the reports page shows it."""

    id: str
    heading: str
    chart: Markup
    table: Table


def report_sections(report: Report) -> list[Section]:
    """The reports page's charts, in order."""
    return [
        Section("outcomes", _("Messages by outcome"), outcome_chart(report),
                outcome_table(report)),
        Section("rate", _("Delivery rate"), rate_chart(report), rate_table(report)),
        Section("spend", _("Spend"), spend_chart(report), spend_table(report)),
        Section("balance", _("Balance"), balance_chart(report), balance_table(report)),
        Section("causes", _("Failures by cause"), cause_chart(report.total),
                cause_table(report.total)),
    ]


def campaign_sections(figures: Figures) -> list[Section]:
    """A campaign page's charts: where its messages ended up, and why some failed."""
    return [
        Section("campaign-outcomes", _("Outcomes"), outcome_share_chart(figures),
                outcome_share_table(figures)),
        Section("campaign-causes", _("Failures by cause"),
                cause_chart(figures, "chart-campaign-causes"),
                cause_table(figures, "campaign-causes")),
    ]
