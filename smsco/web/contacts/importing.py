"""Reading contact and recipient files (CSV, XLSX) row by row, and keeping uploads.

Files are streamed: CSV through the ``csv`` module, XLSX through openpyxl in
read-only mode, so a 100,000-row file never sits in memory whole. The
contacts import and the bulk page's "Recipients file" both use this module.

Every upload is checked before it is kept (``limits``: size, zip bombs,
encoding, rows, columns), and reading enforces the same limits again, so a
file can never cost more than the limits allow, whichever page reads it.

An upload is saved as ``<uploads>/<random token>.<csv|xlsx>`` and only the
token travels in the form (never a path the client could choose); files
older than a day are removed whenever a new one is saved.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from smsco import ValidationError
from smsco.phones import normalize

from ..ui.exports import neutralize, safe_row
from ..ui.labels import validation_text
from .limits import (
    ENCODING_NAMES,
    MAX_LINE_CHARS,
    OLE_MAGIC,
    ZIP_MAGIC,
    ImportFileError,
    Limits,
    check_workbook,
    not_a_workbook,
    text_encoding,
    too_many_columns,
    too_many_rows,
)

EXTENSIONS = ("csv", "tsv", "txt", "xlsx")  # what the forms accept (Excel's "Unicode text": txt)
STORED = ("csv", "xlsx")  # how uploads are kept: every text file is read as CSV
CHOOSE_A_FILE = _l("Choose a CSV, TXT or XLSX file.")
SAMPLE_ROWS = 5
MAX_AGE_SECONDS = 86400
MAX_FIELD_NAME = 64
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
_NOT_FIELD_CHARS = re.compile(r"[^\w]+")
_QUOTED = re.compile(r'"[^"]*"')
_DELIMITERS = ",;\t|"
# openpyxl raises whatever a damaged or odd file leads it to (ParseError, ValueError on a
# bad number, IndexError on a bad string index, OverflowError on a date, AttributeError on
# a chart sheet without relationships...): any of them means "this workbook cannot be read".
_DAMAGED = Exception


# -- reading -------------------------------------------------------------------------


def file_kind(filename: str | None) -> str:
    """``csv`` or ``xlsx`` from a file name (a .txt or .tsv is read as CSV);
    ``ImportFileError`` for anything else."""
    ext = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    if ext not in EXTENSIONS:
        raise ImportFileError(str(CHOOSE_A_FILE))
    return "xlsx" if ext == "xlsx" else "csv"


def iter_rows(path: Path, limits: Limits | None = None) -> Iterator[tuple[int, list[str]]]:
    """``(line number, cells as text)`` for every row that is not entirely empty.

    Trailing empty cells are dropped. ``ImportFileError`` when the file passes a
    limit, or holds a replacement character (a sign of an earlier wrong encoding).
    """
    limits = limits or Limits.current()
    rows = _xlsx_rows(path) if path.suffix == ".xlsx" else _csv_rows(path)
    count = 0
    for line, cells in enumerate(rows, start=1):
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            continue
        count += 1
        if count > limits.rows + 1:  # one more: the header
            raise too_many_rows(limits)
        if len(cells) > limits.columns:
            raise too_many_columns(limits)
        if "\ufffd" in "".join(cells):
            raise ImportFileError(_(
                "Line %(line)s holds the character �: the file lost its letters when it was "
                "saved in a wrong encoding. Fix those cells and upload it again.", line=line))
        yield line, cells


def _csv_rows(path: Path) -> Iterator[list[str]]:
    encoding = text_encoding(path)
    with open(path, newline="", encoding=encoding) as handle:
        lines = _Lines(handle)
        try:
            delimiter = _delimiter(handle.read(16384))
            handle.seek(0)
            for cells in csv.reader(lines, delimiter=delimiter):
                lines.used = 0
                yield [cell.strip() for cell in cells]
        except UnicodeDecodeError:  # read ahead in blocks: the line is approximate
            raise ImportFileError(_(
                "Near line %(line)s the file stops being %(encoding)s text. Save it again as "
                "CSV UTF-8 and upload it again.", line=lines.number + 1,
                encoding=ENCODING_NAMES.get(encoding, encoding))) from None
        except csv.Error as error:
            raise _csv_problem(error, lines.number) from None


class _Lines:
    """The file's lines for ``csv.reader``; refuses a row longer than ``MAX_LINE_CHARS``
    (a row is read whole, and a million cells in one row would fill the memory)."""

    def __init__(self, handle):
        self.handle, self.used, self.number = handle, 0, 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self.handle.readline(MAX_LINE_CHARS + 1)
        if not line:
            raise StopIteration
        self.number += 1
        self.used += len(line)
        if self.used > MAX_LINE_CHARS:
            raise ImportFileError(_(
                "Line %(line)s is longer than %(limit)s MB. Check that this is a list of "
                "contacts, one per line.", line=self.number,
                limit=format_decimal(MAX_LINE_CHARS // (1024 * 1024))))
        return line


def _csv_problem(error: csv.Error, line: int) -> ImportFileError:
    if "field larger than field limit" in str(error):
        return ImportFileError(_(
            "A cell on line %(line)s is longer than %(limit)s KB. Check that this is a list of "
            "contacts and that its quotes are paired.",
            line=line, limit=format_decimal(csv.field_size_limit() // 1024)))
    return ImportFileError(_("Line %(line)s cannot be read as CSV. Save the file again as CSV "
                             "UTF-8 and upload it again.", line=line))


def _delimiter(sample: str) -> str:
    """The separator the first line uses most (quoted text aside); a comma if none.

    Linear in the sample, unlike ``csv.Sniffer``, which a crafted line keeps busy.
    """
    first = next((line for line in sample.splitlines() if line.strip()), "")
    bare = _QUOTED.sub("", first)
    best = max(_DELIMITERS, key=bare.count)  # a tie goes to the earlier one
    return best if bare.count(best) else ","


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except _DAMAGED:
        raise not_a_workbook() from None
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        # The claimed size can lie (A1:XFD1048576); rows then keep their own width.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        for line in itertools.count(1):
            try:
                values = next(rows)
            except StopIteration:
                return
            except _DAMAGED:
                raise ImportFileError(_(
                    "Row %(line)s of the workbook cannot be read: it is damaged or holds a cell "
                    "Excel would not write. Open it in Excel, save it again as .xlsx and upload "
                    "it again.", line=line)) from None
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
    """A field name from a header or a typed name: lower-cased, anything but letters and
    digits → ``_`` ("First Name" → first_name, "=HYPERLINK(…)" → hyperlink), at most
    ``MAX_FIELD_NAME`` characters."""
    name = _NOT_FIELD_CHARS.sub("_", header.strip().lower()[:MAX_FIELD_NAME * 2]).strip("_")
    return name[:MAX_FIELD_NAME].strip("_") or f"column_{index + 1}"


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
    # Computed once: pages ask for them once per column.
    _names: list[str] | None = field(default=None, init=False, repr=False, compare=False)
    _fields: list[str] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def width(self) -> int:
        return max([len(self.headers), *(len(row) for row in self.rows)], default=0)

    def column_names(self) -> list[str]:
        """A name per column to show: the header, or "Column N"."""
        if self._names is None:
            self._names = [(self.headers[i] if i < len(self.headers) and self.headers[i]
                            else _("Column %(num)d", num=i + 1))
                           for i in range(self.width)]
        return self._names

    def default_fields(self) -> list[str]:
        """The default field name per column (header lower-cased, spaces → _)."""
        if self._fields is None:
            self._fields = [field_name(self.headers[i] if i < len(self.headers) else "", i)
                            for i in range(self.width)]
        return self._fields

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
        raise _no_rows()
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
    writer.writerow(safe_row(("line", "value", "reason")))
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
    """Keep an uploaded file (werkzeug ``FileStorage``) that passes ``check_upload``;
    returns its token. A refused file is deleted at once."""
    named = file_kind(storage.filename)
    remove_old_uploads()
    token = secrets.token_urlsafe(24)
    incoming = upload_dir() / f"{token}.part"
    storage.save(incoming)
    path = incoming
    try:
        path = incoming.rename(incoming.with_suffix("." + _content_kind(incoming, named)))
        check_upload(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return token


def _content_kind(path: Path, named: str) -> str:
    """``xlsx`` or ``csv`` from the first bytes: a workbook named .csv is still a workbook."""
    with open(path, "rb") as handle:
        head = handle.read(len(OLE_MAGIC))
    if not head:
        raise ImportFileError(_("The file is empty."))
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        raise ImportFileError(_("This is an old Excel file (.xls) or a workbook with a password. "
                                "In Excel, save it as .xlsx without a password, or as CSV UTF-8."))
    if named == "xlsx":
        raise not_a_workbook()
    return "csv"


def check_upload(path: Path, limits: Limits | None = None) -> None:
    """Refuse a file that breaks a limit, before a page parses it: a workbook by a scan of
    its raw parts, a text file by one quick read of every row."""
    if path.suffix == ".xlsx":
        rows = check_workbook(path, limits)
    else:
        rows = sum(1 for _row in iter_rows(path, limits))
    if not rows:
        raise _no_rows()


def _no_rows() -> ImportFileError:
    return ImportFileError(_("The file has no rows."))


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
    for kind in STORED:
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
