"""Destructive actions ask first: without ``confirmed=1`` a page asks, repeats the form and
changes nothing; its "Yes" form (CSRF token included) then does the action."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from smsco.web.extensions import db
from smsco.web.models import (
    Campaign,
    Contact,
    ContactGroup,
    Message,
    MessageTemplate,
    OptOut,
    ScheduleMode,
    State,
    User,
    utcnow,
)

from .test_history import csrf_token


def confirm_form(page: str) -> tuple[str, dict[str, str]]:
    """The action and the hidden fields of the confirmation page's form."""
    found = re.search(r'<form method="post" action="([^"]+)" class="actions">', page)
    form = page[found.start():page.index("</form>", found.start())]  # not the language switch
    action = found.group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    return action, {k: html_lib.unescape(v) for k, v in fields.items()}


def seed(app, users) -> dict[str, int]:
    """One thing of each kind a destructive action removes or stops."""
    with app.app_context():
        message = Message(recipient="995599445448", body="Later", state=State.QUEUED,
                          schedule_mode=ScheduleMode.HELD, send_at=utcnow())
        campaign = Campaign(name="Winter sale", body="Hi", recipient_count=1, idempotency_key="k")
        contact = Contact(phone="995555123456", fields={"name": "Nino"})
        group = ContactGroup(name="Clients")
        template = MessageTemplate(name="Greeting", body="Hi")
        db.session.add_all([message, campaign, contact, group, template,
                            OptOut(phone="995577112233")])
        db.session.flush()
        db.session.add(Message(recipient="995599000001", body="Hi", campaign_id=campaign.id))
        db.session.commit()
        return {"message": message.id, "campaign": campaign.id, "contact": contact.id,
                "group": group.id, "template": template.id, "olga": users["olga"]}


def done(app, ids, what) -> bool:
    """Whether the action on ``what`` happened."""
    with app.app_context():
        if what == "message":
            return db.session.get(Message, ids["message"]).state == State.CANCELED
        if what == "campaign":
            return db.session.get(Campaign, ids["campaign"]).canceled
        if what == "olga":
            return not db.session.get(User, ids["olga"]).active
        if what == "opt_out":
            return db.session.get(OptOut, "995577112233") is None
        model = {"contact": Contact, "group": ContactGroup, "template": MessageTemplate}[what]
        return db.session.get(model, ids[what]) is None


ACTIONS = [
    ("message", "/messages/{message}/cancel", {}, "Cancel the message to +995 599 44 54 48?",
     "Yes, cancel the message"),
    ("campaign", "/campaigns/{campaign}/cancel", {}, "Cancel the campaign “Winter sale”?",
     "Yes, cancel the campaign"),
    ("olga", "/admin/users/{olga}/disable", {}, "Disable olga?", "Yes, disable"),
    ("contact", "/contacts/{contact}/delete", {}, "Delete the contact +995 555 12 34 56?",
     "Yes, delete the contact"),
    ("group", "/contacts/groups/{group}/delete", {}, "Delete the group “Clients”?",
     "Yes, delete the group"),
    ("opt_out", "/contacts/opt-outs/remove", {"phone": "995577112233"},
     "Remove +995 577 11 22 33 from the opt-out list?", "Yes, remove it"),
    ("template", "/templates/{template}/delete", {}, "Delete the template “Greeting”?",
     "Yes, delete the template"),
]


@pytest.mark.parametrize(("what", "url", "data", "question", "yes"), ACTIONS,
                         ids=[a[0] for a in ACTIONS])
def test_a_destructive_action_asks_first(app, logged_in, users, what, url, data, question,
                                         yes):
    ids = seed(app, users)
    app.config["WTF_CSRF_ENABLED"] = True
    url = url.format(**ids)
    with app.app_context():
        token = csrf_token(logged_in)
    page = logged_in.post(url, data={"csrf_token": token, **data},
                          headers={"Referer": "http://localhost/contacts?q=nino"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert html_lib.escape(question, quote=False) in text and f">{yes}</button>" in text
    assert 'href="http://localhost/contacts?q=nino">No, go back</a>' in text
    assert not done(app, ids, what)
    action, fields = confirm_form(text)
    assert action == url and fields.pop("confirmed") == "1" and fields.pop("csrf_token")
    assert fields == data  # the form's own fields, repeated
    again = logged_in.post(action, data={**confirm_form(text)[1]})
    assert again.status_code == 302
    assert done(app, ids, what)


def test_the_way_back_without_a_referrer_is_the_list(app, logged_in, users):
    ids = seed(app, users)
    text = logged_in.post(f"/contacts/{ids['contact']}/delete").get_data(as_text=True)
    assert 'href="/contacts">No, go back</a>' in text


def test_pages_carry_the_question_for_the_dialog(app, logged_in, users):
    ids = seed(app, users)
    text = logged_in.get("/contacts/groups").get_data(as_text=True)
    assert 'data-confirm="Delete the group “Clients”?"' in text
    assert 'data-confirm-yes="Yes, delete the group"' in text
    assert 'data-confirm-no="No, go back"' in text
    assert 'src="/static/confirm.js"' in text
    text = logged_in.get(f"/messages/{ids['message']}").get_data(as_text=True)
    assert 'data-confirm="Cancel the message to +995 599 44 54 48?"' in text
