"""Reading contact and recipient files (CSV, XLSX) row by row, and keeping uploads.

Files are streamed: CSV through the ``csv`` module, XLSX through openpyxl in
read-only mode, so a 100,000-row file never sits in memory whole. The
contacts import and the bulk page's "Recipients file" both use this module.

An upload is saved as ``<uploads>/<random token>.<ext>`` and only the token
travels in the form (never a path the client could choose); files older than
a day are removed whenever a new one is saved.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from smsco import ValidationError
from smsco.phones import normalize

from ..ui.exports import neutralize
from ..ui.labels import validation_text

EXTENSIONS = ("csv", "xlsx")
SAMPLE_ROWS = 5
MAX_AGE_SECONDS = 86400
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_NOT_FIELD_CHARS = re.compile(r"[^\w]+")


class ImportFileError(Exception):
    """The file cannot be read; the text says why in plain words."""


# -- reading -------------------------------------------------------------------------


def file_kind(filename: str | None) -> str:
    """``csv`` or ``xlsx`` from a file name; ``ImportFileError`` for anything else."""
    ext = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    if ext not in EXTENSIONS:
        raise ImportFileError(_("Choose a CSV or XLSX file."))
    return ext


def iter_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(line number, cells as text)`` for every row that is not entirely empty."""
    rows = _xlsx_rows(path) if path.suffix == ".xlsx" else _csv_rows(path)
    for line, cells in enumerate(rows, start=1):
        if any(cells):
            yield line, cells


def _csv_rows(path: Path) -> Iterator[list[str]]:
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        sample = handle.read(16384)
        handle.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
            delimiter = dialect.delimiter
        except csv.Error:
            delimiter = ","
        for cells in csv.reader(handle, delimiter=delimiter):
            yield [cell.strip() for cell in cells]


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ImportFileError(_("This file is not a readable XLSX workbook.")) from None
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [cell_text(value) for value in values]
    finally:
        workbook.close()


def cell_text(value: object) -> str:
    """A spreadsheet cell as text; a number typed as 599445448 loses Excel's ".0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def field_name(header: str, index: int) -> str:
    """A field name from a header: lower-cased, spaces → ``_`` ("First Name" → first_name)."""
    name = _NOT_FIELD_CHARS.sub("_", header.strip().lower()).strip("_")
    return name or f"column_{index + 1}"


def _is_phone(value: str) -> bool:
    try:
        normalize(value)
    except ValidationError:
        return False
    return True


@dataclass
class Sheet:
    """The head of a file: its header row (if any) and the first data rows."""

    headers: list[str]
    rows: list[list[str]]
    has_header: bool

    @property
    def width(self) -> int:
        return max([len(self.headers), *(len(row) for row in self.rows)], default=0)

    def column_names(self) -> list[str]:
        """A name per column to show: the header, or "Column N"."""
        return [(self.headers[i] if i < len(self.headers) and self.headers[i]
                 else _("Column %(num)d", num=i + 1)) for i in range(self.width)]

    def default_fields(self) -> list[str]:
        """The default field name per column (header lower-cased, spaces → _)."""
        return [field_name(self.headers[i] if i < len(self.headers) else "", i)
                for i in range(self.width)]

    def guess_phone_column(self) -> int:
        """The first column whose sample cells are mostly phone numbers (else the first)."""
        for index in range(self.width):
            cells = [row[index] for row in self.rows if index < len(row) and row[index]]
            if cells and sum(_is_phone(c) for c in cells) * 2 >= len(cells):
                return index
        return 0


def inspect(path: Path, sample: int = SAMPLE_ROWS) -> Sheet:
    """Read the first rows. The first row is a header unless one of its cells is a number."""
    head: list[list[str]] = []
    for _line, cells in iter_rows(path):
        head.append(cells)
        if len(head) > sample:
            break
    if not head:
        raise ImportFileError(_("The file has no rows."))
    first = head[0]
    has_header = not any(_is_phone(cell) for cell in first if cell)
    if has_header:
        return Sheet(first, head[1:sample + 1], True)
    return Sheet([], head[:sample], False)


# -- parsing -------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnMap:
    """Which column holds the number and which columns become which fields."""

    phone: int = 0
    fields: dict[int, str] = field(default_factory=dict)
    has_header: bool = True

    @classmethod
    def for_sheet(cls, sheet: Sheet, phone: int | None = None) -> ColumnMap:
        """Every other column as a field named after its header."""
        phone = sheet.guess_phone_column() if phone is None else phone
        names = sheet.default_fields()
        return cls(phone, {i: name for i, name in enumerate(names) if i != phone},
                   sheet.has_header)


@dataclass(frozen=True)
class RowProblem:
    """A row that could not be used, and why."""

    line: int
    value: str
    reason: str


@dataclass
class Tally:
    """What parsing found so far: counts, and every invalid row with its reason."""

    valid: int = 0
    duplicates: int = 0
    invalid: list[RowProblem] = field(default_factory=list)


@dataclass(frozen=True)
class ParsedRow:
    """A usable row: normalized number and its named fields."""

    line: int
    phone: str
    fields: dict[str, str]


def check_number(raw: str, line: int, seen: set[str], tally: Tally) -> str | None:
    """The normalized number, or None after counting the row as invalid or a duplicate."""
    if not raw:
        tally.invalid.append(RowProblem(line, raw, _("No phone number in this row.")))
        return None
    try:
        phone = normalize(raw)
    except ValidationError as error:
        tally.invalid.append(RowProblem(line, raw, validation_text(error)))
        return None
    if phone in seen:
        tally.duplicates += 1
        return None
    seen.add(phone)
    tally.valid += 1
    return phone


def parse_file(path: Path, columns: ColumnMap, tally: Tally,
               seen: set[str] | None = None) -> Iterator[ParsedRow]:
    """Each usable row of the file, in order; invalid rows and duplicates go to ``tally``."""
    seen = set() if seen is None else seen
    rows = iter_rows(path)
    if columns.has_header:
        next(rows, None)
    index, mapped = columns.phone, list(columns.fields.items())
    for line, cells in rows:
        phone = check_number(cells[index] if index < len(cells) else "", line, seen, tally)
        if phone is None:
            continue
        yield ParsedRow(line, phone, {name: cells[i] for i, name in mapped
                                      if i < len(cells) and cells[i]})


def problems_csv(problems: Iterable[RowProblem]) -> str:
    """The invalid rows as CSV (line, value, reason), safe to open in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(neutralize(name) for name in (_("Line"), _("Value"), _("Reason")))
    writer.writerows((p.line, neutralize(p.value), neutralize(p.reason)) for p in problems)
    return buffer.getvalue()


# -- uploads -------------------------------------------------------------------------


def upload_dir() -> Path:
    """Where uploads wait between requests (``SMSCO_UPLOAD_DIR`` or instance/uploads)."""
    configured = current_app.config.get("SMSCO_UPLOAD_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_upload(storage) -> str:
    """Keep an uploaded file (werkzeug ``FileStorage``); returns its token."""
    kind = file_kind(storage.filename)
    remove_old_uploads()
    token = secrets.token_urlsafe(24)
    storage.save(upload_dir() / f"{token}.{kind}")
    return token


def save_report(problems: list[RowProblem]) -> str | None:
    """Keep the invalid rows as a CSV for download; returns its token (None if no rows)."""
    if not problems:
        return None
    token = secrets.token_urlsafe(24)
    (upload_dir() / f"{token}.invalid.csv").write_text(problems_csv(problems), encoding="utf-8")
    return token


def upload_path(token: str | None) -> Path | None:
    """The saved upload for a token, or None (a token is never a path)."""
    if not token or not _TOKEN.fullmatch(token):
        return None
    for kind in EXTENSIONS:
        path = upload_dir() / f"{token}.{kind}"
        if path.is_file():
            return path
    return None


def report_path(token: str | None) -> Path | None:
    """The saved invalid-rows report for a token, or None."""
    if not token or not _TOKEN.fullmatch(token):
        return None
    path = upload_dir() / f"{token}.invalid.csv"
    return path if path.is_file() else None


def remove_old_uploads(max_age: float = MAX_AGE_SECONDS) -> int:
    """Delete uploads and reports older than ``max_age`` seconds (opportunistic clean-up)."""
    cutoff, removed = time.time() - max_age, 0
    for path in upload_dir().iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another request removed it first
            continue
    return removed
