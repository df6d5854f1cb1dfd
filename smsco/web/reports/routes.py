"""The reports page and its CSV exports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _

from . import presenters, queries, services, tables
from .forms import BREAKDOWNS, GROUPINGS, KINDS, NO_SENDER, PRESETS, SORTS, ReportFilters

bp = Blueprint("reports", __name__)

PERIOD_TABLES = {"outcomes": presenters.outcome_table, "rate": presenters.rate_table,
                 "spend": presenters.spend_table, "balance": presenters.balance_table}


def _campaign_links() -> Callable[[object], str | None]:
    """Each campaign's page URL (none for single messages); url_for once, not per row."""
    marker = 987654321
    pattern = url_for("bulk.campaign", campaign_id=marker)
    return lambda key: pattern.replace(str(marker), str(key)) if key else None


def _request_filters() -> tuple[ReportFilters, date]:
    today = queries.local_today()
    return ReportFilters.from_args(request.args), today


def filter_options(filters: ReportFilters) -> dict[str, list[tuple[str, str]]]:
    """(value, text) pairs for each list of the filter form."""
    choices = queries.filter_choices()
    senders = sorted(set(choices["senders"]) | ({filters.sender} - {None, NO_SENDER}))
    campaigns = list(choices["campaigns"])
    if filters.campaign_id and filters.campaign_id not in {i for i, _name in campaigns}:
        # An older campaign than the list shows stays selected (e.g. from its own page).
        name = queries.campaign_names([filters.campaign_id]).get(filters.campaign_id)
        campaigns.append((filters.campaign_id, name or f"#{filters.campaign_id}"))
    return {
        "presets": [(key, str(text)) for key, text in PRESETS.items()],
        "groupings": [("", _("Automatic"))] + [(k, str(t)) for k, t in GROUPINGS.items()],
        "senders": [("", _("All sender IDs")), (NO_SENDER, _("No sender ID"))]
        + [(sender, sender) for sender in senders],
        "operators": [("", _("Everyone"))] + [(str(i), name) for i, name in choices["operators"]],
        "campaigns": [("", _("All campaigns"))]
        + [(str(i), name) for i, name in campaigns],
        "kinds": [("", _("Single and campaign"))] + [(k, str(t)) for k, t in KINDS.items()],
    }


def sort_links(filters: ReportFilters):
    """For a breakdown column: the link that sorts by it and its aria-sort state."""
    def sorting(key: str) -> dict[str, str | None] | None:
        if key not in SORTS:
            return None
        current = filters.sort == key
        descending = not filters.descending if current else key != "name"
        args = filters.to_args(sort=key, descending=descending)
        state = ("descending" if filters.descending else "ascending") if current else None
        return {"url": url_for("reports.report", **args, _anchor="breakdown"), "state": state}
    return sorting


@bp.get("/reports")
def report():
    """Charts and tables for the period and filters asked (the last 30 days by default)."""
    filters, today = _request_filters()
    report = services.build_report(filters, today)
    split = services.breakdown(filters, today)
    link = _campaign_links() if split.by == "campaign" else lambda _key: None
    return render_template(
        "reports/report.html", report=report, filters=filters,
        sections=presenters.report_sections(report),
        breakdown=presenters.breakdown_table(split, report.total, link), split=split,
        range_text=services.describe_range(report.start, report.end),
        options=filter_options(filters), breakdowns=BREAKDOWNS, table_html=tables.html,
        sort=sort_links(filters))


@bp.get("/reports/<name>.csv")
def export(name: str):
    """One table of the reports page as CSV (breakdowns with every row)."""
    filters, today = _request_filters()
    if name in PERIOD_TABLES or name == "causes":
        report = services.build_report(filters, today)
        table = (presenters.cause_table(report.total) if name == "causes"
                 else PERIOD_TABLES[name](report))
        start, end = report.start, report.end
    elif name in presenters.BREAKDOWN_TABLES.values():
        by = next(by for by, table in presenters.BREAKDOWN_TABLES.items() if table == name)
        filters = replace(filters, by=by)
        split = services.breakdown(filters, today, limit=None)
        total = services.scope_figures(filters.scope(today))
        table = presenters.breakdown_table(split, total, lambda _key: None)
        start, end = filters.span(today)
    else:
        abort(404)
    last = end - timedelta(days=1)
    filename = f"smsco-report-{name}-{start.isoformat()}-{last.isoformat()}.csv"
    return Response(tables.csv_lines(table), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})
