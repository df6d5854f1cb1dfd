"""What an uploaded file may hold, checked before anything parses it.

A workbook (XLSX) is a zip of XML parts. Before openpyxl sees it, the zip's
directory is checked (parts that unpack past a cap or at an absurd ratio are
refused: a 1 MB file can unpack to gigabytes), then every part is unpacked
once in small chunks and its tags walked as raw bytes, without building a
tree: rows, cells, shared strings and columns are counted, malformed XML and
DTDs refused. What openpyxl keeps whole (styles, relationships, and whatever
a sheet holds besides its rows) may take a few MB, since a tree costs twenty
times its XML; rows and strings, which it reads one at a time, are bounded
one by one.

A text file (CSV, TSV, Excel's "Unicode text") must be UTF-8 (with or
without BOM), UTF-16, or Windows-1251 that reads as Russian; anything else
is refused with a message, so no replacement character ever reaches a
contact. Every refusal is an ``ImportFileError`` whose text names the limit.
"""

from __future__ import annotations

import codecs
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree
from xml.parsers.expat import ExpatError, ParserCreate

from flask import current_app, has_app_context
from flask_babel import format_decimal
from flask_babel import gettext as _

MB = 1024 * 1024
MAX_RATIO = 200  # unpacked / packed; deflate peaks near 1000, real sheets stay below ~50
RATIO_FROM = MB  # small parts may compress at any ratio: they cannot hurt
WHOLE_PART_LIMIT = 4 * MB  # a part parsed as one tree (styles, workbook, rels), or what a
# sheet holds besides its rows (merged cells, links...), which openpyxl keeps whole too
STREAMED_PART = re.compile(r"xl/(worksheets/[^/]+|sharedStrings)\.xml")
_STREAMED_ROLE = re.compile(r"[/.](worksheet|sharedStrings)(\+xml)?$")
MAX_PARTS = 10_000
MAX_LINE_CHARS = MB  # a CSV row longer than this is not a contacts list
CHUNK = MB
TAG_LIMIT = 65536

# The zip signatures: an XLSX (or any zip), and the OLE2 container of .xls and of
# password-protected workbooks.
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# Every start tag (name, attributes), and the end tags of rows and shared strings (name).
_TAG = re.compile(rb"<(?:/(?:[A-Za-z_][\w.-]*:)?(row|si)(?![\w.:-])"
                  rb"|(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*))([^<>]*)>")
UNITS = (b"row", b"si")  # what openpyxl reads one at a time and then drops
_CELL_COLUMN = re.compile(rb'\sr\s*=\s*["\']\$?([A-Za-z]{1,3})')
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"[^\W\d_]+")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16",
                  "utf-16-le": "UTF-16", "utf-16-be": "UTF-16", "cp1251": "Windows-1251"}


class ImportFileError(Exception):
    """The file cannot be read; the text says why in plain words."""


@dataclass(frozen=True)
class Limits:
    """The most an upload may hold (``SMSCO_UPLOAD_MAX_*``)."""

    rows: int = 200_000
    columns: int = 100
    cells: int = 750_000  # XLSX cells, all sheets: bounds openpyxl's time (~20 µs a cell)
    unpacked: int = 100 * MB  # XLSX, all parts unpacked

    @classmethod
    def current(cls) -> Limits:
        """The configured limits (the defaults outside an app)."""
        if not has_app_context():
            return cls()
        config = current_app.config
        return cls(rows=config.get("SMSCO_UPLOAD_MAX_ROWS", cls.rows),
                   columns=config.get("SMSCO_UPLOAD_MAX_COLUMNS", cls.columns),
                   cells=config.get("SMSCO_UPLOAD_MAX_CELLS", cls.cells),
                   unpacked=config.get("SMSCO_UPLOAD_MAX_UNPACKED_MB", 100) * MB)


# -- messages (each names its limit) ----------------------------------------------------


def too_many_rows(limits: Limits) -> ImportFileError:
    return ImportFileError(_("The file has more than %(limit)s rows. Split it into files "
                             "of at most %(limit)s rows.", limit=format_decimal(limits.rows)))


def too_many_columns(limits: Limits) -> ImportFileError:
    return ImportFileError(_("The file has more than %(limit)s columns. Keep the columns you "
                             "need (at most %(limit)s) and upload it again.",
                             limit=format_decimal(limits.columns)))


def not_a_workbook() -> ImportFileError:
    return ImportFileError(_("This file is not a readable XLSX workbook. Open it in Excel and "
                             "save it again as .xlsx, or as CSV UTF-8."))


def _too_many_cells(limits: Limits) -> ImportFileError:
    return ImportFileError(_("The workbook has more than %(limit)s cells. Save only the sheet "
                             "and the columns you need, or split it into smaller files.",
                             limit=format_decimal(limits.cells)))


def too_much_besides_cells() -> ImportFileError:
    return ImportFileError(_("The workbook holds more than %(limit)s MB besides its cells "
                             "(formatting, links, merged cells). Copy the cells into a new "
                             "workbook as values only, or save it as CSV UTF-8.",
                             limit=format_decimal(WHOLE_PART_LIMIT // MB)))


def _unpacks_too_big(limit_bytes: int) -> ImportFileError:
    return ImportFileError(_("The workbook unpacks to more than %(limit)s MB. Save only the sheet "
                             "and the columns you need, or save it as CSV UTF-8.",
                             limit=format_decimal(limit_bytes // MB)))


# -- workbooks ----------------------------------------------------------------------------


def check_workbook(path: Path, limits: Limits | None = None) -> int:
    """Refuse a workbook that would cost too much to parse (``ImportFileError`` says why);
    returns how many rows hold cells."""
    limits = limits or Limits.current()
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            _check_directory(parts, limits)
            tally = _PartTally(limits)
            for part in parts:
                with archive.open(part) as source:
                    tally.scan(source, xml=part.filename.endswith((".xml", ".rels")))
            _check_roles(archive, parts)
            return tally.data_rows
    except ImportFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error,
            RuntimeError, NotImplementedError, ValueError, ExpatError, ElementTree.ParseError):
        # Damaged, encrypted or packed with a method zipfile does not know.
        raise not_a_workbook() from None


def _check_directory(parts: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Sizes and ratios from the zip directory, before anything is unpacked.

    zipfile never unpacks more than a part's declared size (and then checks the
    CRC), so the declared sizes bound the work that follows.
    """
    if len(parts) > MAX_PARTS:
        raise not_a_workbook()
    if sum(part.file_size for part in parts) > limits.unpacked:
        raise _unpacks_too_big(limits.unpacked)
    for part in parts:
        if part.file_size > RATIO_FROM and part.file_size > MAX_RATIO * max(part.compress_size, 1):
            raise ImportFileError(_(
                "The workbook unpacks to more than %(ratio)s times its size, which a real "
                "spreadsheet never does. It was refused; save it again from Excel.",
                ratio=format_decimal(MAX_RATIO)))
        if part.file_size > WHOLE_PART_LIMIT and not STREAMED_PART.fullmatch(part.filename):
            raise too_much_besides_cells()


def _check_roles(archive: zipfile.ZipFile, parts: list[zipfile.ZipInfo]) -> None:
    """A part allowed to be large (a sheet, the shared strings) is named for nothing else.

    openpyxl streams those two, but parses the workbook part, chart sheets and
    drawings whole; a relationship or content type that gives a large part one
    of those roles would make it build a tree of the whole part.
    """
    for part in parts:
        if not (part.filename.endswith(".rels") or part.filename == "[Content_Types].xml"):
            continue
        base = posixpath.dirname(posixpath.dirname(part.filename))  # xl/_rels/x.rels → xl
        # Small (the directory check) and without DTDs (the scan): safe to parse.
        for item in ElementTree.fromstring(archive.read(part)):  # noqa: S314
            target = item.get("Target") or item.get("PartName")
            role = item.get("Type") or item.get("ContentType") or ""
            if not target or item.get("TargetMode") == "External":
                continue
            name = posixpath.normpath(posixpath.join(base, target)).lstrip("/")
            if STREAMED_PART.fullmatch(name) and not _STREAMED_ROLE.search(role):
                raise not_a_workbook()


class _PartTally:
    """Walks the tags of every part, from raw bytes, counting what openpyxl would keep.

    openpyxl reads a row (or a shared string) at a time and then drops it, but
    keeps everything else of a sheet, and builds objects for merged cells, links
    and the like. So: rows and shared strings are counted (each one's elements
    and a row's cells and last column too), and whatever lies outside them in a
    part may take ``WHOLE_PART_LIMIT`` bytes, like a part parsed whole.
    """

    def __init__(self, limits: Limits):
        self.limits = limits
        self.unit_limit = max(16 * limits.columns, 4096)  # elements in one row or string
        self.rows = self.data_rows = self.cells = self.strings = 0
        self.unit: bytes | None = None  # b"row" or b"si" while inside one
        self.unit_elements = self.row_cells = self.outside = 0
        self.last_cell = b""

    def scan(self, source, xml: bool) -> None:
        """Read one part in chunks; a tag cut by a chunk's end waits for the next chunk.

        An XML part also goes through expat (in C, no tree kept), so malformed XML
        is refused here rather than halfway through an import.
        """
        carry, self.unit, self.outside = b"", None, 0
        checker = ParserCreate() if xml else None
        while True:
            chunk = source.read(CHUNK)
            text = carry + chunk
            if _DTD.search(text):  # entities can expand without bound; XLSX never has them
                raise not_a_workbook()
            if checker is not None:
                checker.Parse(chunk, not chunk)
            carry = b""
            cut = text.rfind(b"<")
            # An unfinished tag waits for the next chunk; one longer than TAG_LIMIT is
            # garbage (openpyxl refuses it), and carrying it would copy it again and again.
            if chunk and cut >= 0 and len(text) - cut < TAG_LIMIT and b">" not in text[cut:]:
                text, carry = text[:cut], text[cut:]
            self._walk(text)
            if not chunk:
                return

    def _walk(self, text: bytes) -> None:
        outside_from = 0  # where the current stretch outside rows and strings began
        for match in _TAG.finditer(text):
            closing, name, attributes = match.groups()
            if self.unit is not None:
                if name:
                    self._inside(name, attributes)
                elif closing == self.unit:
                    self._end_unit()
                    outside_from = match.end()
            elif name in UNITS:
                self.outside += match.start() - outside_from
                self._start_unit(name)
                if attributes.endswith(b"/"):  # <row r="7"/>
                    self._end_unit()
                outside_from = match.end()
        if self.unit is None:
            self.outside += len(text) - outside_from
        if self.outside > WHOLE_PART_LIMIT:
            raise too_much_besides_cells()
        if self.cells > self.limits.cells or self.strings > self.limits.cells:
            raise _too_many_cells(self.limits)
        if self.rows > 2 * self.limits.rows + 2:  # rows without cells: formatting only
            raise too_many_rows(self.limits)

    def _start_unit(self, name: bytes) -> None:
        self.unit, self.unit_elements = name, 1
        if name == b"row":
            self.rows += 1
        else:
            self.strings += 1

    def _inside(self, name: bytes, attributes: bytes) -> None:
        self.unit_elements += 1
        if self.unit_elements > self.unit_limit:
            raise (too_many_columns(self.limits) if self.unit == b"row"
                   else too_much_besides_cells())
        if name == b"c" and self.unit == b"row":
            self.row_cells += 1
            self.cells += 1
            self.last_cell = attributes

    def _end_unit(self) -> None:
        if self.unit == b"row" and self.row_cells:
            if (self.row_cells > self.limits.columns
                    or column_index(self.last_cell) > self.limits.columns):
                raise too_many_columns(self.limits)
            self.data_rows += 1
            if self.data_rows > self.limits.rows + 1:  # one more: the header
                raise too_many_rows(self.limits)
        self.unit, self.row_cells, self.last_cell = None, 0, b""


def column_index(attributes: bytes) -> int:
    """The 1-based column of a cell from its ``r="AB12"`` attribute (0 without one)."""
    match = _CELL_COLUMN.search(attributes)
    index = 0
    for letter in (match.group(1).upper() if match else b""):
        index = index * 26 + letter - 64
    return index


# -- text files ---------------------------------------------------------------------------


def not_text() -> ImportFileError:
    return ImportFileError(_("This file is not a text (CSV) file. Upload a CSV or XLSX file: "
                             "in Excel, use Save As → CSV UTF-8 or Excel Workbook."))


def unknown_encoding() -> ImportFileError:
    return ImportFileError(_("The letters in this file are in an encoding we cannot recognize "
                             "(we read UTF-8, UTF-16 and Windows-1251). In Excel, use Save As → "
                             "CSV UTF-8 and upload that file."))


def text_encoding(path: Path) -> str:
    """The encoding a text upload is read with, or ``ImportFileError`` (never a guess that
    would turn letters into replacement characters)."""
    with open(path, "rb") as handle:
        head = handle.read(CHUNK)
        for bom, encoding in _BOMS:
            if head.startswith(bom):
                return _checked(head, encoding)
        if b"\0" in head:
            return _checked(head, _utf16_without_bom(head))
        if _is_utf8(head, handle):
            return _checked(head, "utf-8")
    try:
        text = head.decode("cp1251")
    except UnicodeDecodeError:  # 0x98 is no character in Windows-1251
        raise unknown_encoding() from None
    if _CONTROL.search(text):
        raise not_text()
    if not _reads_as_russian(text):
        raise unknown_encoding()
    return "cp1251"


def _checked(head: bytes, encoding: str) -> str:
    """``encoding`` if the head decodes with it to text without control characters."""
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
    except UnicodeDecodeError:
        raise unknown_encoding() from None
    if _CONTROL.search(text):
        raise not_text()
    return encoding


def _utf16_without_bom(head: bytes) -> str:
    """UTF-16 little or big endian, told by where ASCII characters put their zero bytes."""
    even, odd = head[0::2].count(0), head[1::2].count(0)
    pairs = len(head) // 2 or 1
    if odd * 4 >= pairs and even * 20 <= odd:
        return "utf-16-le"
    if even * 4 >= pairs and odd * 20 <= even:
        return "utf-16-be"
    raise not_text()


def _is_utf8(head: bytes, handle) -> bool:
    """Whether the whole file is valid UTF-8 (read in chunks: a late é would break it)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    chunk = head
    try:
        while chunk:
            decoder.decode(chunk)
            chunk = handle.read(CHUNK)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _reads_as_russian(text: str) -> bool:
    """Windows-1251 bytes read as Cyrillic words; Western accents read as a mix ("Cafй")."""
    cyrillic = [word for word in _WORD.findall(text) if any(_is_cyrillic(c) for c in word)]
    mixed = sum(1 for word in cyrillic if not all(_is_cyrillic(c) for c in word))
    return bool(cyrillic) and mixed * 10 <= len(cyrillic)


def _is_cyrillic(char: str) -> bool:
    return "\u0400" <= char <= "\u04ff"
