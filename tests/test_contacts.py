"""Contacts, groups, import with column mapping, export, and the opt-out list."""

from __future__ import annotations

import html
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


def audit_log(app) -> list[tuple[str, str]]:
    """The audit entries (action, detail), oldest first; every one by the administrator."""
    from smsco.web.models import AuditEntry, User

    with app.app_context():
        entries = list(db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id)))
        admin = db.session.scalar(db.select(User.id).where(User.username == "admin"))
        assert {entry.user_id for entry in entries} <= {admin}
        return [(entry.action, entry.detail) for entry in entries]


def test_add_edit_search_and_delete(app, logged_in):
    web = logged_in
    response = web.post("/contacts/new", data={"phone": "599 44 54 48", "name": "Nino",
                                               "custom-0-name": "city",
                                               "custom-0-value": "Batumi"})
    assert response.status_code == 302
    assert contacts(app) == {"995599445448": ({"name": "Nino", "city": "Batumi"}, [])}
    # The same number again merges into the existing contact.
    web.post("/contacts/new", data={"phone": "+995599445448", "custom-0-name": "Shoe Size",
                                    "custom-0-value": "38"})
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
    web.post(f"/contacts/{contact_id}/delete", data={"confirmed": "1"})
    assert contacts(app) == {}
    assert audit_log(app) == [
        ("contact_add", "Added contact 995599445448"),
        ("contact_edit", "Saved contact 995599445448"),
        ("contact_edit", "Saved contact 995599445448"),
        ("contact_delete", "Deleted contact 995599445448"),
    ]


def test_list_shows_its_count_and_pages(app, logged_in):
    with app.app_context():
        db.session.add_all(Contact(phone=f"99559900{i:04d}", fields={"name": f"N{i % 2}"})
                           for i in range(60))
        db.session.commit()
    first = logged_in.get("/contacts").get_data(as_text=True)
    assert "60 contacts" in first and "showing 1–50" in first and "Page 1 of 2" in first
    assert first.count('/edit"') == 50 * 2  # the link on the number and the Edit button
    assert 'rel="prev"' not in first
    second_url = re.search(r'<a rel="next" href="([^"]+)"', first).group(1)
    assert second_url == "/contacts?page=2"
    second = logged_in.get(second_url).get_data(as_text=True)
    assert "showing 51–60" in second and "Page 2 of 2" in second
    assert second.count('/edit"') == 10 * 2 and 'rel="next"' not in second
    assert 'href="/contacts?page=1"' in second
    # Past the end is the last page; a search counts its own matches.
    assert "Page 2 of 2" in logged_in.get("/contacts?page=99").get_data(as_text=True)
    found = logged_in.get("/contacts?q=N1").get_data(as_text=True)
    assert "30 contacts" in found and "Page" not in found.split("</table>")[1]


def test_custom_fields_are_name_value_rows(app, logged_in):
    page = logged_in.get("/contacts/new").get_data(as_text=True)
    assert 'name="custom-0-name"' in page and 'name="custom-1-value"' in page
    assert "<textarea" not in page
    assert re.search(r'<label class="visually-hidden" for="custom-0-name">Field 1 name</label>',
                     page)
    more = logged_in.post("/contacts/new", data={"phone": "599445448", "custom-0-name": "city",
                                                 "custom-0-value": "Batumi", "add_field": "1"})
    text = more.get_data(as_text=True)
    assert more.status_code == 200 and 'value="Batumi"' in text and 'name="custom-1-name"' in text
    assert contacts(app) == {}  # adding a row saves nothing yet
    for rows, error in [({"custom-0-value": "Batumi"}, "Row 1 has a value but no field name."),
                        ({"custom-0-name": "Name", "custom-0-value": "X"},
                         "Write the name in the Name field above."),
                        ({"custom-0-name": "City", "custom-0-value": "A", "custom-1-name": "city",
                          "custom-1-value": "B"}, "The field “city” is there twice.")]:
        text = logged_in.post("/contacts/new", data={"phone": "599445448", **rows}).get_data(
            as_text=True)
        assert html.escape(error, quote=False) in text.replace("&#34;", '"')
    logged_in.post("/contacts/new", data={"phone": "599445448", "custom-0-name": "City",
                                          "custom-0-value": "Batumi", "custom-1-name": "",
                                          "custom-1-value": ""})
    with app.app_context():
        contact_id = db.session.scalar(db.select(Contact.id))
    page = logged_in.get(f"/contacts/{contact_id}/edit").get_data(as_text=True)
    assert 'name="custom-0-name" type="text" maxlength="60" value="city"' in page
    assert 'name="custom-0-value" type="text" maxlength="500" value="Batumi"' in page
    assert 'name="custom-2-name"' in page  # two blank rows after the field
    logged_in.post(f"/contacts/{contact_id}/edit", data={"phone": "599445448", "name": "Nino",
                                                          "custom-0-name": "city",
                                                          "custom-0-value": ""})
    assert contacts(app)["995599445448"][0] == {"name": "Nino"}  # an empty value removes it


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
    assert audit_log(app) == [
        ("group_add", "Created group 'VIP'"),
        ("contact_import", "Imported contacts into group 'VIP': 2 added, 1 updated, 1 invalid, "
                           "1 duplicates")]
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
    data = logged_in.get("/contacts.csv").get_data()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads Georgian right
    lines = data.decode("utf-8-sig").strip().splitlines()
    assert lines[0] == "phone,name,city,groups"
    assert lines[1] == "+995 599 44 54 48,'=1+2,Batumi,Team"


def test_export_xlsx_has_every_contact_with_text_phones(app, logged_in):
    import openpyxl

    with app.app_context():
        db.session.add_all([Contact(phone="995599445448", fields={"name": "ნინო"}),
                            Contact(phone="995555123456", fields={"city": "Batumi"})])
        db.session.commit()
    reply = logged_in.get("/contacts.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(reply.get_data())).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["phone", "name", "city", "groups"]
    assert sorted(rows[1:]) == [["+995 555 12 34 56", None, "Batumi", None],
                                ["+995 599 44 54 48", "ნინო", None, None]]
    assert {row[0].number_format for row in sheet.iter_rows(min_row=2)} == {"@"}


def test_groups_create_and_delete(app, logged_in):
    logged_in.post("/contacts/groups", data={"name": "Clients"})
    assert "A group with this name exists" in logged_in.post(
        "/contacts/groups", data={"name": "Clients"}).get_data(as_text=True)
    with app.app_context():
        group_id = db.session.scalar(db.select(ContactGroup.id))
    logged_in.post(f"/contacts/groups/{group_id}/delete", data={"confirmed": "1"})
    with app.app_context():
        assert db.session.scalar(db.select(ContactGroup.id)) is None
    assert audit_log(app) == [
        ("group_add", "Created group 'Clients'"),
        ("group_delete", "Deleted group 'Clients' (0 members, contacts kept)")]


def test_groups_are_checkboxes_and_several_can_be_chosen(app, logged_in):
    with app.app_context():
        db.session.add_all([ContactGroup(name="Clients"), ContactGroup(name="Staff")])
        db.session.commit()
        ids = dict(db.session.execute(db.select(ContactGroup.name, ContactGroup.id)).all())
    box = r'<input (checked )?id="groups-\d" name="groups" type="checkbox" value="\d+">'
    for page in ("/contacts/new", "/bulk"):  # choosing several needs no Ctrl-click
        html = logged_in.get(page).get_data(as_text=True)
        assert len(re.findall(box, html)) == 2, page
        assert "<legend>Groups</legend>" in html and "multiple" not in html
    logged_in.post("/contacts/new", data={"phone": "599445448",
                                          "groups": [ids["Clients"], ids["Staff"]]})
    assert contacts(app)["995599445448"][1] == ["Clients", "Staff"]
    with app.app_context():
        contact_id = db.session.scalar(db.select(Contact.id))
    edit = logged_in.get(f"/contacts/{contact_id}/edit").get_data(as_text=True)
    assert re.findall(box, edit) == ["checked "] * 2


def test_opt_outs_add_import_remove_export(app, logged_in):
    web = logged_in
    web.post("/contacts/opt-outs", data={"phone": "599 44 54 48", "reason": "asked"})
    web.post("/contacts/opt-outs/import", data={
        "import-file": (io.BytesIO(b"number\n555123456\n+995599445448\nbad\n"), "o.csv"),
        "reason": "list"}, content_type="multipart/form-data")
    with app.app_context():
        assert {o.phone: o.reason for o in db.session.scalars(db.select(OptOut))} == {
            "995599445448": "asked", "995555123456": "list"}
    text = web.get("/contacts/opt-outs.csv").get_data().decode("utf-8-sig")
    assert "+995 555 12 34 56,list," in text
    web.post("/contacts/opt-outs/remove", data={"phone": "995555123456", "confirmed": "1"})
    web.post("/contacts/opt-outs/remove",  # not there: no entry
             data={"phone": "995555123456", "confirmed": "1"})
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(OptOut)) == 1
    assert audit_log(app) == [
        ("opt_out_add", "Opted out 995599445448"),
        ("opt_out_import", "Imported opt-outs: 1 added, 1 updated, 1 invalid, 0 duplicates"),
        ("opt_out_remove", "Removed 995555123456 from the opt-out list"),
    ]
