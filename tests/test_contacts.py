"""Contacts, groups, import with column mapping, export, and the opt-out list."""

from __future__ import annotations

import io
import re

import pytest

from smsco.web.extensions import db
from smsco.web.models import Contact, ContactGroup, OptOut


@pytest.fixture(autouse=True)
def uploads(app, tmp_path):
    app.config["SMSCO_UPLOAD_DIR"] = str(tmp_path / "uploads")


def contacts(app):
    with app.app_context():
        return {c.phone: (dict(c.fields), sorted(g.name for g in c.groups))
                for c in db.session.scalars(db.select(Contact))}


def test_add_edit_search_and_delete(app, logged_in):
    web = logged_in
    response = web.post("/contacts/new", data={"phone": "599 44 54 48", "name": "Nino",
                                               "other_fields": "city: Batumi"})
    assert response.status_code == 302
    assert contacts(app) == {"995599445448": ({"name": "Nino", "city": "Batumi"}, [])}
    # The same number again merges into the existing contact.
    web.post("/contacts/new", data={"phone": "+995599445448", "other_fields": "Shoe Size: 38"})
    assert contacts(app)["995599445448"][0] == {"name": "Nino", "city": "Batumi",
                                                "shoe_size": "38"}
    assert web.post("/contacts/new", data={"phone": "12"}).status_code == 200
    page = web.get("/contacts?q=batumi").get_data(as_text=True)
    assert "+995 599 44 54 48" in page
    assert "+995 599 44 54 48" in web.get("/contacts?q=0599445448").get_data(as_text=True)
    assert "No contacts match" in web.get("/contacts?q=tbilisi").get_data(as_text=True)
    with app.app_context():
        contact_id = db.session.scalar(db.select(Contact.id))
    web.post(f"/contacts/{contact_id}/edit", data={"phone": "599445448", "name": "Nino B"})
    assert contacts(app)["995599445448"][0] == {"name": "Nino B"}
    web.post(f"/contacts/{contact_id}/delete")
    assert contacts(app) == {}


def test_list_is_keyset_paginated(app, logged_in):
    with app.app_context():
        db.session.add_all(Contact(phone=f"99559900{i:04d}", fields={}) for i in range(60))
        db.session.commit()
    first = logged_in.get("/contacts").get_data(as_text=True)
    older = re.search(r'href="/contacts\?before=(\d+)"', first)
    assert older and first.count("/edit\"") >= 50
    second = logged_in.get(f"/contacts?before={older.group(1)}").get_data(as_text=True)
    assert second.count('/edit"') == 10 * 2  # the link on the number and the Edit button


def test_import_csv_with_mapping_group_and_report(app, logged_in):
    web = logged_in
    with app.app_context():
        db.session.add(Contact(phone="995599445448", fields={"name": "Old", "vip": "yes"}))
        db.session.commit()
    data = ("Full Name,Phone,Notes\nNino,599 44 54 48,=cmd\nGiorgi,0555123456,\n"
            "Bad,12345,\nGiorgi 2,+995 555 12 34 56,\n,,\nEka,577-11-22-33,note\n")
    response = web.post("/contacts/import", data={"file": (io.BytesIO(data.encode()), "c.csv")},
                        content_type="multipart/form-data")
    assert response.status_code == 302
    mapping_url = response.headers["Location"]
    page = web.get(mapping_url).get_data(as_text=True)
    assert "Phone number" in page and "full_name" in page and "Nino" in page
    # Column 0 → name, 1 → phone, 2 → ignored; into a new group.
    response = web.post(mapping_url, data={"column-0": "name", "column-1": "__phone__",
                                           "column-2": "__ignore__", "new_group": "VIP"})
    assert response.status_code == 302
    done = web.get(response.headers["Location"]).get_data(as_text=True)
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', done))
    assert counts == {"added": "2", "updated": "1", "invalid": "1", "duplicates": "1"}
    assert contacts(app) == {
        "995599445448": ({"name": "Nino", "vip": "yes"}, ["VIP"]),
        "995555123456": ({"name": "Giorgi"}, ["VIP"]),
        "995577112233": ({"name": "Eka"}, ["VIP"]),
    }
    report = re.search(r'href="(/contacts/invalid/[^"]+\.csv)"', done).group(1)
    text = web.get(report).get_data(as_text=True)
    assert "12345" in text and "not a valid phone number" in text


def test_import_xlsx_streams_with_odd_headers(app, logged_in):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in (["Telephone No.", "NAME "], [None, None], [599445448, "Nino"], ["x", "y"]):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    response = logged_in.post("/contacts/import", data={"file": (buffer, "c.xlsx")},
                              content_type="multipart/form-data")
    url = response.headers["Location"]
    page = logged_in.get(url).get_data(as_text=True)
    assert "telephone_no" in page
    logged_in.post(url, data={"column-0": "__phone__", "column-1": "name"})
    assert contacts(app) == {"995599445448": ({"name": "Nino"}, [])}


def test_a_mapping_without_phone_column_is_refused(app, logged_in):
    response = logged_in.post("/contacts/import", data={
        "file": (io.BytesIO(b"a,b\n599445448,x\n"), "c.csv")}, content_type="multipart/form-data")
    url = response.headers["Location"]
    page = logged_in.post(url, data={"column-0": "a", "column-1": "b"}).get_data(as_text=True)
    assert "Choose which column holds the phone number." in page


def test_export_csv_is_formula_safe(app, logged_in):
    with app.app_context():
        group = ContactGroup(name="Team")
        db.session.add(Contact(phone="995599445448", fields={"name": "=1+2", "city": "Batumi"},
                               groups=[group]))
        db.session.commit()
    text = logged_in.get("/contacts.csv").get_data(as_text=True)
    lines = text.strip().splitlines()
    assert lines[0] == "Phone number,name,city,Groups"
    assert lines[1] == "995599445448,'=1+2,Batumi,Team"


def test_groups_create_and_delete(app, logged_in):
    logged_in.post("/contacts/groups", data={"name": "Clients"})
    assert "A group with this name exists" in logged_in.post(
        "/contacts/groups", data={"name": "Clients"}).get_data(as_text=True)
    with app.app_context():
        group_id = db.session.scalar(db.select(ContactGroup.id))
    logged_in.post(f"/contacts/groups/{group_id}/delete")
    with app.app_context():
        assert db.session.scalar(db.select(ContactGroup.id)) is None


def test_opt_outs_add_import_remove_export(app, logged_in):
    web = logged_in
    web.post("/contacts/opt-outs", data={"phone": "599 44 54 48", "reason": "asked"})
    web.post("/contacts/opt-outs/import", data={
        "import-file": (io.BytesIO(b"number\n555123456\n+995599445448\nbad\n"), "o.csv"),
        "reason": "list"}, content_type="multipart/form-data")
    with app.app_context():
        assert {o.phone: o.reason for o in db.session.scalars(db.select(OptOut))} == {
            "995599445448": "asked", "995555123456": "list"}
    text = web.get("/contacts/opt-outs.csv").get_data(as_text=True)
    assert "995555123456,list" in text
    web.post("/contacts/opt-outs/remove", data={"phone": "995555123456"})
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(OptOut)) == 1
