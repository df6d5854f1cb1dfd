"""Message text on the web: the analyze endpoint, templates, compose prefill, opt-out footer."""

from __future__ import annotations

import pytest

from smsco import text
from smsco.web.admin.settings import OPTOUT_FOOTER, optout_footer, with_footer
from smsco.web.extensions import db
from smsco.web.models import Message, MessageTemplate, Setting

from .conftest import session_login

CASES = [
    "",
    "Hello",
    "გამარჯობა, როგორ ხარ?",
    "Привет, как дела?",
    "a" * 160,
    "a" * 161,
    "a" * 306,
    "a" * 307,
    "ა" * 160,
    "ა" * 161,
    "😀 emoji " * 20,  # astral characters: one code point each, two UTF-16 units
    'Ok. _ - " 123',
    "line\nbreak",
]


def analyze(web, **data):
    reply = web.post("/text/analyze", json=data)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_json()


@pytest.mark.parametrize("body", CASES)
def test_analyze_agrees_with_the_library(logged_in, body):
    result = analyze(logged_in, text=body)
    assert result["characters"] == len(body)
    assert result["parts"] == text.segments(body)
    assert result["cost_per_recipient"] == text.cost(body)
    assert result["invalid"] == [[i, ch] for i, ch in text.invalid_characters(body)]
    assert result["needs_transliteration"] == text.transliteration_needed(body)
    assert result["transliterated"] == text.transliterate(body, capitalize="sentences")
    assert result["transliterated_parts"] == text.segments(result["transliterated"])


@pytest.mark.parametrize(("length", "parts", "over"), [
    (160, 1, 0), (161, 2, 1), (167, 2, 7), (306, 2, 146), (307, 3, 1)])
def test_analyze_says_how_far_past_the_previous_part(logged_in, length, parts, over):
    result = analyze(logged_in, text="a" * length)
    assert (result["parts"], result["over"]) == (parts, over)


def test_analyze_uses_the_configured_price_and_style(app, logged_in):
    app.config["SMSCO_PRICE_PER_PART"] = 7
    result = analyze(logged_in, text="a" * 161, style="informal")
    assert result["cost_per_recipient"] == 14
    assert analyze(logged_in, text="ხ", style="informal")["transliterated"] == "X"
    assert analyze(logged_in, text="ხ", style="national")["transliterated"] == "Kh"
    assert logged_in.post("/text/analyze", json={"text": "x", "style": "odd"}).status_code == 400
    assert logged_in.post("/text/analyze", data="nope").status_code == 400


def test_analyze_counts_recipients_as_the_form_does(logged_in):
    result = analyze(logged_in, text="Hi", recipients="599 44 54 48, +995 555 12 34 56\n12")
    assert result["recipients"] == 2


def test_extra_characters_widen_the_rule_on_both_sides(logged_in):
    try:
        text.set_extra_characters(",!")
        result = analyze(logged_in, text="Hi, there!")
        assert result["invalid"] == [] and not result["needs_transliteration"]
    finally:
        text.set_extra_characters("")
    assert [ch for _, ch in analyze(logged_in, text="Hi, there!")["invalid"]] == [",", "!"]


def test_placeholders_are_ignored_only_when_allowed(logged_in):
    body = "Gamarjoba {name}, ბოლო {Code} dge"
    refused = analyze(logged_in, text=body)
    assert "{" in [ch for _, ch in refused["invalid"]]
    allowed = analyze(logged_in, text=body, placeholders=True)
    assert [ch for _, ch in allowed["invalid"]] == [",", "ბ", "ო", "ლ", "ო"]
    assert allowed["placeholders"] == ["name", "code"]
    assert allowed["transliterated"] == "Gamarjoba {name}. Bolo {Code} dge"


def test_analyze_needs_the_csrf_header(app, logged_in):
    app.config["WTF_CSRF_ENABLED"] = True
    assert logged_in.post("/text/analyze", json={"text": "x"}).status_code == 400
    page = logged_in.get("/compose").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    reply = logged_in.post("/text/analyze", json={"text": "x"}, headers={"X-CSRFToken": token})
    assert reply.status_code == 200


def test_compose_page_has_the_message_field_parts(logged_in):
    page = logged_in.get("/compose").get_data(as_text=True)
    assert '<label for="message">Message</label>' in page
    assert "data-message-field" in page and 'data-recipient-count-from="#recipients"' in page
    assert ">Transliterate</button>" in page and "Use this text" in page and "Keep mine" in page
    assert "message.js" in page


# -- templates -------------------------------------------------------------------------


def login(web, user_id):
    return session_login(web, user_id)


def make_template(app, name, body, owner_id=None):
    with app.app_context():
        template = MessageTemplate(name=name, body=body, owner_id=owner_id)
        db.session.add(template)
        db.session.commit()
        return template.id


def templates(app):
    with app.app_context():
        return {t.name: (t.body, t.owner_id) for t in db.session.scalars(
            db.select(MessageTemplate))}


def test_admin_manages_shared_templates(app, logged_in, users):
    reply = logged_in.post("/templates/new", data={"name": "Promo", "message": "Sale {name}",
                                                   "shared": "y"})
    assert reply.status_code == 302
    assert templates(app) == {"Promo": ("Sale {name}", None)}
    template_id = make_template(app, "tmp", "x")  # another shared one
    assert logged_in.post(f"/templates/{template_id}/edit", data={
        "name": "tmp2", "message": "y", "shared": "y"}).status_code == 302
    assert templates(app)["tmp2"] == ("y", None)
    assert logged_in.post(f"/templates/{template_id}/delete",
                          data={"confirmed": "1"}).status_code == 302
    assert "tmp2" not in templates(app)
    page = logged_in.get("/templates/").get_data(as_text=True)
    assert "Promo" in page and "Shared" in page


def test_operator_uses_shared_but_manages_only_their_own(app, web, users):
    shared = make_template(app, "Shared one", "Hello all")
    admins = make_template(app, "Admin own", "Secret", owner_id=users["admin"])
    operator = login(web, users["olga"])
    operator.post("/templates/new", data={"name": "Mine", "message": "Hi", "shared": "y"})
    assert templates(app)["Mine"] == ("Hi", users["olga"])  # operators cannot share
    page = operator.get("/templates/").get_data(as_text=True)
    assert "Shared one" in page and "Mine" in page and "Admin own" not in page
    assert f"/templates/{shared}/edit" not in page
    assert operator.post(f"/templates/{shared}/edit", data={
        "name": "x", "message": "x"}).status_code == 403
    assert operator.post(f"/templates/{shared}/delete").status_code == 403
    assert operator.get(f"/templates/{admins}/edit").status_code == 404
    assert operator.post(f"/templates/{admins}/delete").status_code == 404
    assert templates(app)["Shared one"] == ("Hello all", None)
    assert "Admin own" in templates(app)
    # The admin does not see (or change) an operator's own template either.
    with app.app_context():
        mine = db.session.scalar(db.select(MessageTemplate.id).where(
            MessageTemplate.name == "Mine"))
    admin = login(app.test_client(), users["admin"])
    assert admin.get(f"/templates/{mine}/edit").status_code == 404


def test_template_text_follows_the_gateway_rule_except_placeholders(app, logged_in):
    page = logged_in.post("/templates/new", data={"name": "Bad", "message": "Hi, {name}!"})
    html = page.get_data(as_text=True)
    assert "&#39;,&#39; at position 3" in html and "&#39;!&#39; at position 11" in html
    assert "Placeholders like {name} are filled in per recipient" in html
    assert templates(app) == {}
    logged_in.post("/templates/new", data={"name": "Good", "message": "Hi {name}. { code }"})
    assert templates(app)["Good"][0] == "Hi {name}. { code }"


def test_compose_is_prefilled_from_a_template(app, logged_in, users):
    template_id = make_template(app, "Greeting", "Gamarjoba from us")
    page = logged_in.get(f"/compose?template={template_id}").get_data(as_text=True)
    assert ">Gamarjoba from us</textarea>" in page
    assert '<label for="message-template">Template</label>' in page
    assert f'value="{template_id}" data-body="Gamarjoba from us" selected' in page
    other = make_template(app, "Olga's", "Private", owner_id=users["olga"])
    page = logged_in.get(f"/compose?template={other}").get_data(as_text=True)
    assert "Private</textarea>" not in page and "not yours to use" in page


def test_compose_explains_that_placeholders_need_the_bulk_page(app, logged_in):
    reply = logged_in.post("/compose", data={"recipients": "599445448",
                                             "message": "Hi {name}", "send_at": ""})
    assert "Placeholders like {name} only work on the bulk page" in reply.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(db.select(Message)).all() == []


# -- the opt-out footer ----------------------------------------------------------------


def test_footer_setting_is_validated_and_admin_only(app, logged_in, web, users):
    reply = logged_in.post("/templates/settings", data={"footer": "STOP: 91234"})
    assert "&#39;:&#39; at position 5" in reply.get_data(as_text=True)
    reply = logged_in.post("/templates/settings", data={"footer": "  STOP   91234 "})
    assert reply.status_code == 302
    with app.app_context():
        assert optout_footer() == "STOP 91234"
        assert db.session.get(Setting, OPTOUT_FOOTER).value == "STOP 91234"
    operator = login(app.test_client(), users["olga"])
    assert operator.get("/templates/settings").status_code == 403
    assert operator.post("/templates/settings", data={"footer": "x"}).status_code == 403
    logged_in.post("/templates/settings", data={"footer": ""})
    with app.app_context():
        assert optout_footer() == ""


def test_marketing_compose_message_carries_the_footer_and_its_cost(app, logged_in):
    logged_in.post("/templates/settings", data={"footer": "STOP 91234"})
    page = logged_in.get("/compose").get_data(as_text=True)
    assert '<label for="marketing">Marketing message (adds the opt-out footer)</label>' in page
    assert "STOP 91234" in page
    body = "a" * 150  # one part alone, two with the footer
    result = analyze(logged_in, text=body, footer=True)
    full = with_footer(body, "STOP 91234")
    assert full == body + " STOP 91234"
    assert (result["characters"], result["parts"]) == (len(full), 2)
    assert result["cost_per_recipient"] == text.cost(full) == 10
    assert result["footer"] == "STOP 91234"
    reply = logged_in.post("/compose", data={"recipients": "599445448, 555123456",
                                             "message": body, "marketing": "y",
                                             "send_at": ""})
    assert reply.status_code == 302
    plain = logged_in.post("/compose", data={"recipients": "599445448", "message": "Plain",
                                             "send_at": ""})
    assert plain.status_code == 302
    with app.app_context():
        bodies = [m.body for m in db.session.scalars(db.select(Message).order_by(Message.id))]
    assert bodies == [full, full, "Plain"]


def test_no_marketing_box_without_a_footer(logged_in):
    assert "Marketing message" not in logged_in.get("/compose").get_data(as_text=True)
