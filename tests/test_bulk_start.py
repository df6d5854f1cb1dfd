"""Starting a bulk send: from a template, a group or chosen contacts; its default name; what
the preview says about quiet hours."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from smsco.web.extensions import db
from smsco.web.models import Campaign, Contact, ContactGroup, Message, MessageTemplate
from smsco.web.sending.quiet_hours import parse_quiet_hours

from .test_bulk import form

TBILISI = ZoneInfo("Asia/Tbilisi")
ALWAYS_QUIET = "00:00-23:59,00:00-23:59"
TODAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.fixture(autouse=True)
def setup(app, tmp_path):
    app.config["SMSCO_UPLOAD_DIR"] = str(tmp_path / "uploads")
    app.config["SMSCO_QUIET_RULE"] = None


@pytest.fixture
def people(app):
    """Four contacts: three in the group Clients, two named Nino."""
    with app.app_context():
        group = ContactGroup(name="Clients")
        rows = [Contact(phone="995599445448", fields={"name": "Nino", "city": "Batumi"}),
                Contact(phone="995555123456", fields={"name": "Giorgi"}),
                Contact(phone="995577112233", fields={"name": "Nino K"}),
                Contact(phone="995591000001", fields={"name": "Lado"})]
        group.contacts.extend(rows[:3])
        db.session.add_all([group, *rows])
        db.session.commit()
        return {"group": group.id, "ids": [c.id for c in rows]}


def name_value(html: str) -> str:
    return re.search(r'<input id="name" name="name" type="text" maxlength="120" value="([^"]*)"',
                     html).group(1)


def group_ticked(html: str, group_id: int) -> bool:
    return f'<input checked id="groups-0" name="groups" type="checkbox" value="{group_id}">' in html


def sent_bodies(app) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.execute(select(Message.recipient, Message.body)).all())


# -- quiet hours --------------------------------------------------------------------------


def test_a_marketing_preview_inside_quiet_hours_says_when_it_starts(app, logged_in):
    app.config["SMSCO_QUIET_RULE"] = parse_quiet_hours(ALWAYS_QUIET)
    html = logged_in.post("/bulk", data=form(pasted="599445448")).get_data(as_text=True)
    assert re.search(r"Starts at (\d{4}-\d{2}-\d{2} )?23:59, after quiet hours\.", html)
    html = logged_in.post("/bulk", data=form(pasted="599445448", kind="transactional")
                          ).get_data(as_text=True)
    assert "after quiet hours" not in html
    app.config["SMSCO_QUIET_RULE"] = None
    html = logged_in.post("/bulk", data=form(pasted="599445448")).get_data(as_text=True)
    assert "after quiet hours" not in html


def test_a_scheduled_preview_is_checked_at_its_own_time(app, logged_in):
    app.config["SMSCO_QUIET_RULE"] = parse_quiet_hours("22:00-08:00,22:00-08:00")
    tomorrow = datetime.now(TBILISI).date() + timedelta(days=1)
    night, noon = f"{tomorrow}T23:00", f"{tomorrow}T12:00"
    html = logged_in.post("/bulk", data=form(pasted="599445448", send_at=night)
                          ).get_data(as_text=True)
    assert f"Starts at {tomorrow + timedelta(days=1)} 08:00, after quiet hours." in html
    html = logged_in.post("/bulk", data=form(pasted="599445448", send_at=noon)
                          ).get_data(as_text=True)
    assert "after quiet hours" not in html


# -- the campaign name ---------------------------------------------------------------------


def test_the_name_defaults_to_the_file_and_the_date(app, logged_in):
    html = logged_in.get("/bulk").get_data(as_text=True)
    assert "Empty: named after the file or group and the date" in html
    upload = (io.BytesIO(b"Phone\n599445448\n"), "winter-clients.csv")
    html = logged_in.post("/bulk", data=form(name="", recipients_file=upload),
                          content_type="multipart/form-data").get_data(as_text=True)
    name = name_value(html)
    assert name.startswith("winter-clients ") and TODAY.fullmatch(name.split(" ")[1])
    response = logged_in.post("/bulk", data=form(name="", pasted="599445448", action="send"))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Campaign.name)).startswith("Pasted numbers 20")


def test_an_edited_name_is_kept(app, logged_in, people):
    html = logged_in.post("/bulk", data=form(name="My own", groups=str(people["group"]))
                          ).get_data(as_text=True)
    assert name_value(html) == "My own"


# -- templates -----------------------------------------------------------------------------


def test_use_of_a_template_with_placeholders_opens_bulk_send(app, logged_in):
    with app.app_context():
        plain = MessageTemplate(name="Plain", body="See you soon")
        personal = MessageTemplate(name="Personal", body="Hello {name}")
        db.session.add_all([plain, personal])
        db.session.commit()
        plain_id, personal_id = plain.id, personal.id
    listing = logged_in.get("/templates/").get_data(as_text=True)
    assert f'href="/compose?template={plain_id}"' in listing
    assert f'href="/bulk?template={personal_id}"' in listing
    assert f'href="/compose?template={personal_id}"' not in listing
    page = logged_in.get(f"/bulk?template={personal_id}").get_data(as_text=True)
    assert re.search(r'data-message-input[^>]*>Hello \{name\}</textarea>', page)
    # An old compose link to it goes to bulk send too.
    reply = logged_in.get(f"/compose?template={personal_id}")
    assert reply.status_code == 302 and reply.headers["Location"].endswith(
        f"/bulk?template={personal_id}")
    assert "See you soon</textarea>" in logged_in.get(
        f"/compose?template={plain_id}").get_data(as_text=True)


def test_the_template_editor_shows_no_cost(logged_in):
    page = logged_in.get("/templates/new").get_data(as_text=True)
    assert 'data-cost="off"' in page and "data-recipient-count" not in page


# -- groups and contacts -------------------------------------------------------------------


def test_send_to_this_group(app, logged_in, people):
    groups = logged_in.get("/contacts/groups").get_data(as_text=True)
    assert f'href="/bulk?groups={people["group"]}">Send to this group</a>' in groups
    page = logged_in.get(f"/bulk?groups={people['group']}").get_data(as_text=True)
    assert group_ticked(page, people["group"])
    assert name_value(page).startswith("Clients 20")
    response = logged_in.post("/bulk", data=form(name=name_value(page), message="Hi {name}",
                                                 groups=str(people["group"]), action="send"))
    assert response.status_code == 302
    assert sent_bodies(app) == {"995599445448": "Hi Nino", "995555123456": "Hi Giorgi",
                                "995577112233": "Hi Nino K"}


def test_send_sms_to_selected_contacts(app, logged_in, people):
    listing = logged_in.get("/contacts").get_data(as_text=True)
    assert 'form="send-selected"' in listing and "Send SMS to selected" in listing
    first, _, third, _ = people["ids"]
    page = logged_in.get(f"/bulk?from=contacts&contact={first}&contact={third}"
                         ).get_data(as_text=True)
    assert "The 2 contacts you selected" in page
    assert f'name="contact_ids" type="hidden" value="{first},{third}"' in page
    assert name_value(page).startswith("Selected contacts 20")
    fields = {"contact_ids": f"{first},{third}", "use_contacts": "y", "message": "Hi {name}"}
    html = logged_in.post("/bulk", data=form(**fields)).get_data(as_text=True)
    assert 'data-count="valid">2<' in html and "Hi Nino K" in html
    response = logged_in.post("/bulk", data=form(**fields, action="send"))
    assert response.status_code == 302
    assert sent_bodies(app) == {"995599445448": "Hi Nino", "995577112233": "Hi Nino K"}


def test_select_all_matching_a_search(app, logged_in, people):
    page = logged_in.get("/bulk?from=contacts&matching=1&q=nino").get_data(as_text=True)
    assert "All 2 contacts matching “nino”" in page
    fields = {"contact_search": "nino", "contact_everyone": "1", "use_contacts": "y",
              "action": "send", "message": "Hi {name}"}
    assert logged_in.post("/bulk", data=form(**fields)).status_code == 302
    assert set(sent_bodies(app)) == {"995599445448", "995577112233"}


def test_all_matching_a_group_is_the_group(app, logged_in, people):
    page = logged_in.get(f"/bulk?from=contacts&matching=1&group={people['group']}"
                         ).get_data(as_text=True)
    assert group_ticked(page, people["group"])


def test_unticked_contacts_are_left_out(app, logged_in, people):
    fields = {"contact_ids": str(people["ids"][0]), "pasted": "599 10 00 01"}
    html = logged_in.post("/bulk", data=form(**fields)).get_data(as_text=True)
    assert 'data-count="valid">1<' in html


def test_nothing_selected_goes_back_to_the_contacts(app, logged_in, people):
    reply = logged_in.get("/bulk?from=contacts&q=nino")
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/contacts?q=nino")
    page = logged_in.get(reply.headers["Location"]).get_data(as_text=True)
    assert "Select contacts first" in page


def test_hostile_selection_values_are_ignored(app, logged_in, people):
    page = logged_in.get("/bulk?contact=abc&contact=99999999999999&contact=-1&groups=x")
    assert page.status_code == 200
    html = logged_in.post("/bulk", data=form(contact_ids="1,abc,,9" * 100, use_contacts="y",
                                             contact_group="x", contact_everyone="2")
                          ).get_data(as_text=True)
    assert 'data-count="valid">1<' in html
