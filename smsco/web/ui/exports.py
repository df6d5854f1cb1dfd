"""Spreadsheet exports: one table description, written as CSV or XLSX, safe and Excel-ready.

CSV starts with a byte-order mark, so Excel reads it as UTF-8 (Georgian text
stays Georgian). Every cell a spreadsheet would run as a formula is
neutralized, except cells we wrote ourselves such as a formatted phone number
(``+995 599 44 54 48``), which Excel keeps as text because of its spaces. XLSX
cells are typed: text is text (never a formula), numbers are numbers, and
phone numbers are formatted as text.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from flask import Response, send_file, stream_with_context
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .formatting import phone

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
#: Excel's last row, less the header.
XLSX_MAX_ROWS = 1_048_575
_PHONE_TEXT = re.compile(r"\+?[0-9 ]+")
_SPOOL_BYTES = 8 * 1024 * 1024
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Text(str):
    """A cell we wrote ourselves (digits, spaces, a leading ``+``): text, never a formula."""


def phone_cell(number: str | None) -> str:
    """A stored number as people read it, in a cell spreadsheets keep as text."""
    shown = phone(number)
    return Text(shown) if _PHONE_TEXT.fullmatch(shown) else shown


def neutralize(value: object) -> str:
    """The cell as text, prefixed with ``'`` when a spreadsheet would run it as a formula."""
    if isinstance(value, Text):
        return str(value)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def lari_cell(credits: int | None) -> str:
    """Credits (tetri) as lari with a decimal point ("0.05"; "" for none), for a cost column."""
    if credits is None:
        return ""
    whole, cents = divmod(abs(credits), 100)
    return f"{'-' if credits < 0 else ''}{whole}.{cents:02}"
def safe_row(values: Iterable[object]) -> list[str]:
    """A CSV row, header or data, every cell neutralized."""
    return [neutralize(value) for value in values]


@dataclass
class Table:
    """What an export holds: a file name, a header and rows, read batch by batch."""

    name: str  # "history" → smsco-history-2026-01-12.csv
    header: Sequence[str]
    batches: Iterable[Iterable[Sequence[object]]]

    def filename(self, extension: str) -> str:
        return f"smsco-{self.name}-{date.today().isoformat()}.{extension}"


def csv_chunks(table: Table) -> Iterator[str]:
    """The header (after the byte-order mark), then one chunk of text per batch."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(safe_row(table.header))
    yield buffer.getvalue()
    for batch in table.batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(safe_row(row) for row in batch)
        yield buffer.getvalue()


def _xlsx_cell(sheet, value: object):
    from openpyxl.cell import WriteOnlyCell

    if value is None or isinstance(value, bool) or not isinstance(value, (str, int, float)):
        value = "" if value is None else str(value)
    if not isinstance(value, str):
        return WriteOnlyCell(sheet, value)
    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"  # "=..." stays text: openpyxl would take it for a formula
    if isinstance(value, Text):
        cell.number_format = "@"
    return cell


def xlsx_file(table: Table):
    """The table as an XLSX workbook in a temporary file (rewound), at most Excel's rows."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(table.name[:31])
    sheet.append([_xlsx_cell(sheet, str(name)) for name in table.header])
    written = 0
    for batch in table.batches:
        for row in batch:
            if written == XLSX_MAX_ROWS:
                break
            sheet.append([_xlsx_cell(sheet, value) for value in row])
            written += 1
    # send_file closes it once sent; a spooled file stays in memory up to 8 MB.
    output = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
    workbook.save(output)
    output.seek(0)
    return output


def export_response(table: Table, extension: str) -> Response:
    """The table as a download: ``csv`` streamed, ``xlsx`` built first."""
    if extension == "xlsx":
        response = send_file(xlsx_file(table), mimetype=XLSX_MIMETYPE, as_attachment=True,
                             download_name=table.filename("xlsx"), max_age=0)
    else:
        response = Response(stream_with_context(csv_chunks(table)),
                            content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition":
                                     f'attachment; filename="{table.filename("csv")}"'})
    response.headers["Cache-Control"] = "no-store"
    return response
