"""Report tables: the numbers under each chart and the breakdowns, for the page and as CSV.

A ``Table`` keeps raw values; ``shown`` writes them for people (shared
formatters), ``csv_lines`` for spreadsheets (plain numbers, ISO dates, cells
that cannot run as formulas). ``html`` writes the page's table in Python,
not in a template: a year's report has a thousand cells, and a Jinja macro
per cell costs more than the rest of the page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from markupsafe import Markup, escape

from ..ui.exports import neutralize
from ..ui.formatting import lari, number, percent


@dataclass(frozen=True)
class Column:
    """A table column: ``kind`` says how its values are written (text, count, rate, money,
    date); ``page`` False keeps it out of the page (dates that only the CSV needs)."""

    key: str
    label: str
    kind: str = "count"
    page: bool = True


@dataclass
class Table:
    """The numbers under one chart, or one breakdown."""

    name: str  # its CSV's name
    caption: str
    columns: list[Column]
    rows: list[dict]
    total: dict | None = None
    links: dict[int, str] = field(default_factory=dict)  # row index -> URL of its name

    @property
    def page_columns(self) -> list[Column]:
        return [column for column in self.columns if column.page]


def shown(value: object, kind: str) -> str:
    """A value as the page shows it."""
    if kind == "count":
        return number(value)
    if kind == "rate":
        return percent(value)
    if kind == "money":
        return lari(value)
    return "" if value is None else str(value)


# -- the page ----------------------------------------------------------------------

# What a sortable header needs: its link and aria-sort state ("ascending", …, or None).
Sorting = Callable[[str], "dict[str, str | None] | None"]


def html(table: Table, sort: Sorting | None = None) -> Markup:
    """The table as accessible HTML: a caption, column headers (links that sort when
    ``sort`` is given), a row header per row, the total in the footer. Each number's
    raw value is in ``data-value`` for scripts and tests."""
    columns = table.page_columns
    head = "".join(_header(column, sort(column.key) if sort else None) for column in columns)
    body = "".join(f"<tr>{_cells(columns, row, table.links.get(index))}</tr>"
                   for index, row in enumerate(table.rows))
    foot = f"<tfoot><tr>{_cells(columns, table.total, None)}</tr></tfoot>" if table.total \
        else ""
    caption = escape(table.caption)
    markup = (f'<div class="table-scroll" tabindex="0" role="region" aria-label="{caption}">'
              f'<table class="table report-table" data-table="{escape(table.name)}">'
              f'<caption class="visually-hidden">{caption}</caption>'
              f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table></div>")
    return Markup(markup)  # noqa: S704 - every value above went through escape()


def _header(column: Column, sorting: dict | None) -> str:
    label = escape(column.label)
    numeric = ' class="num"' if column.kind != "text" else ""
    if not sorting:
        return f'<th scope="col" data-key="{escape(column.key)}"{numeric}>{label}</th>'
    state = sorting["state"]
    arrow = {"ascending": " ↑", "descending": " ↓"}.get(state or "", "")
    aria = f' aria-sort="{state}"' if state else ""
    return (f'<th scope="col" data-key="{escape(column.key)}"{numeric}{aria}>'
            f'<a href="{escape(sorting["url"])}">{label}{arrow}</a></th>')


def _cells(columns: list[Column], row: dict, link: str | None) -> str:
    first, *rest = columns
    name = escape(shown(row.get(first.key), first.kind))
    if link:
        name = f'<a href="{escape(link)}">{name}</a>'
    cells = [f'<th scope="row" data-key="{escape(first.key)}">{name}</th>']
    for column in rest:
        value = row.get(column.key)
        raw = "" if value is None else escape(value)
        cells.append(f'<td class="num" data-key="{escape(column.key)}" data-value="{raw}">'
                     f"{escape(shown(value, column.kind))}</td>")
    return "".join(cells)


# -- CSV ---------------------------------------------------------------------------


def _csv_value(value: object, kind: str) -> str:
    """A value as the CSV holds it: plain numbers a spreadsheet reads, ISO dates."""
    if value is None:
        return ""
    if kind == "rate":
        return f"{value * 100:.1f}"
    if kind == "money":
        return f"{Decimal(value):.2f}"
    if kind == "date":
        return value.isoformat()
    return neutralize(value)


def csv_lines(table: Table) -> Iterator[str]:
    """The table as CSV text: a header of column names, the rows, then the total."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralize(column.label) for column in table.columns])
    for row in table.rows + ([table.total] if table.total else []):
        writer.writerow([_csv_value(row.get(column.key), column.kind)
                         for column in table.columns])
    yield buffer.getvalue()
