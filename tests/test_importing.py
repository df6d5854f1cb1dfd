"""Reading CSV and XLSX files: headers, odd cells, empty rows, Georgian numbers, uploads."""

from __future__ import annotations

import random
import re

import pytest

from smsco import ValidationError, phones
from smsco.web.contacts import importing
from smsco.web.contacts.importing import ColumnMap, Tally, inspect, parse_file


def write_xlsx(path, rows):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_xlsx_with_odd_headers_numbers_as_numbers_and_empty_rows(tmp_path):
    path = write_xlsx(tmp_path / "people.xlsx", [
        ["  Phone Number ", "First Name", None, "E-mail"],
        [599445448, "Nino", None, "nino@example.ge"],
        [None, None, None, None],
        ["+995 555 12 34 56", "Giorgi", "x", None],
        [599445448.0, "Nino again", None, None],
        [None, None, None, None],
        ["12345", "Bad", None, None],
    ])
    sheet = inspect(path)
    assert sheet.has_header
    assert sheet.default_fields() == ["phone_number", "first_name", "column_3", "e_mail"]
    assert sheet.guess_phone_column() == 0
    tally = Tally()
    rows = list(parse_file(path, ColumnMap.for_sheet(sheet), tally))
    assert [(r.phone, r.fields.get("first_name")) for r in rows] == [
        ("995599445448", "Nino"), ("995555123456", "Giorgi")]
    assert rows[0].fields == {"first_name": "Nino", "e_mail": "nino@example.ge"}
    assert (tally.valid, tally.duplicates) == (2, 1)
    assert [(p.line, p.value) for p in tally.invalid] == [(7, "12345")]
    assert "not a valid phone number" in tally.invalid[0].reason


def test_csv_semicolons_bom_georgian_ways_and_a_chosen_column(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("\ufeffName;Mobile\nNino;599 44 54 48\nGiorgi;0555123456\n"
                    "Eka;+995 (577) 11-22-33\nDup;00995599445448\nEmpty;\n", encoding="utf-8")
    sheet = inspect(path)
    assert sheet.headers == ["Name", "Mobile"] and sheet.guess_phone_column() == 1
    tally = Tally()
    rows = list(parse_file(path, ColumnMap.for_sheet(sheet, phone=1), tally))
    assert [r.phone for r in rows] == ["995599445448", "995555123456", "995577112233"]
    assert rows[0].fields == {"name": "Nino"}
    assert tally.duplicates == 1 and [p.reason for p in tally.invalid] == [
        "No phone number in this row."]


def test_a_file_without_header_starts_with_data(tmp_path):
    path = tmp_path / "bare.csv"
    path.write_text("599445448\n555123456\n", encoding="utf-8")
    sheet = inspect(path)
    assert not sheet.has_header
    assert [r.phone for r in parse_file(path, ColumnMap.for_sheet(sheet), Tally())] == [
        "995599445448", "995555123456"]


def test_problems_csv_neutralizes_formulas():
    text = importing.problems_csv([importing.RowProblem(3, "=HYPERLINK(1)", "bad")])
    assert "'=HYPERLINK(1)" in text and text.startswith("line,value,reason")


def test_upload_tokens_are_never_paths(app, tmp_path):
    app.config["SMSCO_UPLOAD_DIR"] = str(tmp_path)
    with app.app_context():
        assert importing.upload_path("../../etc/passwd") is None
        assert importing.upload_path("a" * 10) is None
        assert importing.report_path("../x") is None


def test_old_uploads_are_removed(app, tmp_path):
    import os
    import time

    app.config["SMSCO_UPLOAD_DIR"] = str(tmp_path)
    old, new = tmp_path / ("a" * 32 + ".csv"), tmp_path / ("b" * 32 + ".csv")
    old.write_text("x")
    new.write_text("x")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    with app.app_context():
        assert importing.remove_old_uploads() == 1
        assert importing.upload_path("b" * 32) == new
    assert not old.exists()


def _result(raw, region):
    try:
        return phones.normalize(raw, region)
    except ValidationError as error:
        return ("invalid", str(error))


def test_the_mobile_fast_path_agrees_with_phonenumbers(monkeypatch):
    """smsco.phones skips phonenumbers.parse for 5XXXXXXXX shapes; the answers must not change."""
    rnd = random.Random(7)
    shapes = [lambda n: n, lambda n: "+995" + n, lambda n: "0" + n, lambda n: "995" + n,
              lambda n: "00995" + n, lambda n: f"{n[:3]} {n[3:5]} {n[5:7]} {n[7:]}",
              lambda n: f"+995 ({n[:3]}) {n[3:6]}-{n[6:]}", lambda n: "+7" + n]
    numbers = ["5" + f"{rnd.randrange(10**8):08d}" for _ in range(3000)]
    numbers += ["599445448", "555123456", "577112233", "500000000", "599999999"]
    inputs = [(shape(n), region) for n in numbers for shape in shapes for region in ("GE", "US")]
    fast = [_result(*item) for item in inputs]
    monkeypatch.setattr(phones, "_GEORGIAN_MOBILE", re.compile(r"(?!)"))  # the slow path only
    slow = [_result(*item) for item in inputs]
    assert fast == slow
    assert sum(isinstance(r, str) for r in fast) > 1000  # valid numbers were compared too


@pytest.mark.parametrize("name", ["report.pdf", "x", "", None, "a.XLS"])
def test_only_csv_and_xlsx_are_accepted(name):
    with pytest.raises(importing.ImportFileError):
        importing.file_kind(name)


@pytest.mark.parametrize(("name", "kind"), [("a.csv", "csv"), ("Excel unicode.TXT", "csv"),
                                            ("a.tsv", "csv"), ("a.xlsx", "xlsx")])
def test_text_files_are_read_as_csv(name, kind):
    assert importing.file_kind(name) == kind


def test_a_broken_xlsx_is_reported_plainly(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(importing.ImportFileError, match="XLSX"):
        inspect(path)


def test_cell_text():
    from datetime import date

    assert importing.cell_text(599445448.0) == "599445448"
    assert importing.cell_text(1.5) == "1.5"
    assert importing.cell_text(date(2026, 1, 2)) == "2026-01-02"
    assert importing.cell_text(None) == ""
