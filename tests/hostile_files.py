"""Crafted upload files: zip bombs, absurd workbooks, odd encodings, binary files.

The tests (tests/test_uploads.py) and the benchmark (bench/bench_uploads.py)
build them here. Workbooks are written part by part with ``zipfile`` so a
sheet that unpacks to a gigabyte never exists unpacked, here or anywhere.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Iterable
from pathlib import Path

MIB = 1024 * 1024
SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              b"<sheetData>")
SHEET_TAIL = b"</sheetData></worksheet>"
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def _base_parts() -> dict[str, bytes]:
    """The parts of an empty openpyxl workbook (content types, workbook, styles...)."""
    import openpyxl

    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def workbook(path: Path, sheet_chunks: Iterable[bytes], level: int = 6,
             shared_strings: list[str] | None = None) -> Path:
    """A workbook whose first sheet's XML is ``sheet_chunks`` (streamed into the zip)."""
    parts = _base_parts()
    if shared_strings is not None:
        parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
            b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
        parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
            b"</Relationships>", b'<Relationship Id="rIdStrings" Type="http://schemas.'
            b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
            b'Target="sharedStrings.xml"/></Relationships>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in parts.items():
            if name != SHEET:
                archive.writestr(name, data)
        if shared_strings is not None:
            archive.writestr("xl/sharedStrings.xml", _string_table(shared_strings))
        with archive.open(SHEET, "w", force_zip64=True) as sheet:
            for chunk in sheet_chunks:
                sheet.write(chunk)
    return path


def _string_table(strings: list[str]) -> bytes:
    items = "".join(f"<si><t>{text}</t></si>" for text in strings)
    return (f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>').encode()


def _row(number: int, values: Iterable[object]) -> bytes:
    cells = []
    for column, value in enumerate(values):
        ref = f"{column_letters(column + 1)}{number}"
        if isinstance(value, int):
            cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        else:
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'.encode()


def column_letters(index: int) -> str:
    """1 → A, 27 → AA, 16384 → XFD."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def rows_workbook(path: Path, rows: Iterable[Iterable[object]]) -> Path:
    """A plain workbook of the given rows (ints as numbers, the rest as text)."""
    return workbook(path, [SHEET_HEAD, *(_row(n, values) for n, values in
                                         enumerate(rows, start=1)), SHEET_TAIL])


def zip_bomb(path: Path, unpacked: int = 1024 * MIB) -> Path:
    """About 1 MB that unpacks to ``unpacked`` bytes: one real row, then blank space."""
    blank = b" " * MIB

    def chunks():
        yield SHEET_HEAD + _row(1, ["Phone", "Name"]) + _row(2, [599445448, "Bomb"])
        for _ in range(unpacked // MIB):
            yield blank
        yield SHEET_TAIL

    return workbook(path, chunks())


def wide_workbook(path: Path, rows: int = 30, columns: int = 16384) -> Path:
    """A workbook every row of which fills all 16,384 columns Excel has."""
    def chunks():
        yield SHEET_HEAD
        for number in range(1, rows + 1):
            yield _row(number, [599445448 + number, *range(columns - 1)])
        yield SHEET_TAIL

    return workbook(path, chunks())


def claims_wide_workbook(path: Path) -> Path:
    """A small workbook whose dimension claims A1:XFD1048576 (openpyxl pads rows to it)."""
    head = SHEET_HEAD.replace(b"<sheetData>", b'<dimension ref="A1:XFD1048576"/><sheetData>')
    rows = [_row(1, ["Phone", "Name"]), *(_row(n, [599445448 + n, f"Name {n}"])
                                          for n in range(2, 200))]
    return workbook(path, [head, *rows, SHEET_TAIL])


def junk_workbook(path: Path, elements: int = 5_000_000) -> Path:
    """A sheet whose rows are preceded by millions of elements openpyxl keeps in memory
    (2 GB and over a minute before these were counted)."""
    def chunks():
        yield SHEET_HEAD.replace(b"<sheetData>", b"")
        for start in range(0, elements, 10_000):
            yield b"".join(b'<x r="%d"/>' % n for n in range(start, start + 10_000))
        yield b"<sheetData>" + _row(1, ["Phone"]) + _row(2, [599445448]) + SHEET_TAIL

    return workbook(path, chunks())


def junk_row_workbook(path: Path, elements: int = 10_000) -> Path:
    """A row of two cells and ``elements`` other children (openpyxl makes each a cell)."""
    junk = b"<x/>" * elements
    return workbook(path, [SHEET_HEAD, _row(1, ["Phone", "Name"]),
                           b'<row r="2"><c r="A2"><v>599445448</v></c>' + junk + b"</row>",
                           SHEET_TAIL])


def empty_rows_workbook(path: Path, rows: int) -> Path:
    """A header, one number, and ``rows`` rows without cells (formatting only)."""
    return workbook(path, [SHEET_HEAD, _row(1, ["Phone"]), _row(2, [599445448]),
                           *(b'<row r="%d" s="1" customFormat="1"/>' % n
                             for n in range(3, rows + 3)), SHEET_TAIL])


def malformed_workbook(path: Path) -> Path:
    """A workbook whose sheet XML breaks off inside a cell (a damaged download)."""
    return workbook(path, [SHEET_HEAD, _row(1, ["Phone", "Name"]),
                           b'<row r="2"><c r="A2"><v>599445448</v></c><c r="B2" t="inl'])


def entity_workbook(path: Path) -> Path:
    """A workbook whose sheet declares XML entities (the "billion laughs" shape)."""
    dtd = (b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
           b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>')
    return workbook(path, [dtd, SHEET_HEAD, _row(1, ["Phone"]), b'<row r="2"><c r="A2" '
                           b't="inlineStr"><is><t>&b;</t></is></c></row>', SHEET_TAIL])


def big_workbook(path: Path, rows: int = 200_000, columns: int = 5, seed: int = 1) -> Path:
    """The largest workbook the default limits accept, written the way Excel writes one
    (a dimension, text in shared strings): a header and ``rows`` recipients."""
    rnd = random.Random(seed)
    words = ["Tbilisi", "Batumi", "Kutaisi", "Rustavi", *(f"v{i}" for i in range(1000))]
    header = ["Phone", "Name", "City", *(f"Field {i}" for i in range(columns - 3))]
    strings = [*header, *words, *(f"Name {n}" for n in range(2, rows + 2))]
    index = {text: i for i, text in enumerate(strings)}

    def cell(ref: str, text: str) -> str:
        return f'<c r="{ref}" t="s"><v>{index[text]}</v></c>'

    def chunks():
        last = f"{column_letters(columns)}{rows + 1}"
        yield SHEET_HEAD.replace(b"<sheetData>", f'<dimension ref="A1:{last}"/><sheetData>'
                                 .encode())
        yield ('<row r="1">' + "".join(cell(f"{column_letters(i + 1)}1", text)
                                       for i, text in enumerate(header)) + "</row>").encode()
        for n in range(2, rows + 2):
            texts = [f"Name {n}", rnd.choice(words[:4]),
                     *(f"v{rnd.randrange(1000)}" for _ in range(columns - 3))]
            yield (f'<row r="{n}"><c r="A{n}"><v>{599000000 + n}</v></c>'
                   + "".join(cell(f"{column_letters(i + 2)}{n}", text)
                             for i, text in enumerate(texts)) + "</row>").encode()
        yield SHEET_TAIL

    workbook(path, chunks(), shared_strings=strings)
    return path


def binary_csv(path: Path) -> Path:
    """A PNG picture named .csv."""
    rnd = random.Random(3)
    path.write_bytes(PNG_HEAD + bytes(rnd.randrange(256) for _ in range(4096)))
    return path


def huge_field_csv(path: Path, size: int = 200 * 1024) -> Path:
    """A CSV whose second row holds a 200 KB cell (an unpaired quote does this too)."""
    path.write_text('Phone,Name\n599445448,"' + "x" * size + '"\n555123456,Giorgi\n',
                    encoding="utf-8")
    return path


def long_line_csv(path: Path, cells: int = 600_000) -> Path:
    """A CSV whose one line holds 600,000 cells: a row read whole would fill the memory."""
    path.write_text("Phone,Name\n599445448" + ",ab" * cells + "\n", encoding="utf-8")
    return path


def dense_csv(path: Path, rows: int = 180_000, columns: int = 50) -> Path:
    """A CSV as dense as the default request limit allows: one-letter cells, ~20 MB."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(["Phone", "Name", *(f"f{i}" for i in range(columns - 2))]) + "\n")
        tail = ",a" * (columns - 1) + "\n"
        for n in range(rows):
            handle.write(f"{599000000 + n}{tail}")
    return path


def chartsheet_trick_workbook(path: Path) -> Path:
    """The big sheet part also named as a chart sheet: openpyxl parses chart sheets whole."""
    workbook(path, [SHEET_HEAD, _row(1, ["Phone"]), _row(2, [599445448]), SHEET_TAIL])
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdChart" Type="http://schemas.openxmlformats'
        b'.org/officeDocument/2006/relationships/chartsheet" Target="/xl/worksheets/sheet1.xml"'
        b"/></Relationships>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path
