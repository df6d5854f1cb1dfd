"""The bulk page (preview, send to all), campaign pages and a fault-injection run."""

from __future__ import annotations

import io
import re
import time
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from smsco.web.extensions import db
from smsco.web.models import (
    BalanceSnapshot,
    Campaign,
    Contact,
    ContactGroup,
    Message,
    OptOut,
    State,
    utcnow,
)

from .conftest import GATEWAY_PASSWORD, GATEWAY_USER

FILE = ("Phone,Name,City\n"
        "599 44 54 48,Nino,Batumi\n"          # Georgian ways of writing numbers
        "0555123456,Giorgi,Tbilisi\n"
        "+995 (577) 11-22-33,Eka,Kutaisi\n"
        "00995 599 44 54 48,Nino twice,\n"    # duplicate
        "12345,Bad,\n"                        # invalid
        "hello,Worse,\n"                      # invalid
        "995 591 00 00 01,Opted,\n")          # opted out


@pytest.fixture(autouse=True)
def setup(app, tmp_path):
    app.config["SMSCO_UPLOAD_DIR"] = str(tmp_path / "uploads")
    app.config["SMSCO_QUIET_RULE"] = None  # tests must not depend on the time of day


def form(**changes):
    data = {"name": "Spring sale", "message": "Hello {name} from {city}", "sender": "",
            "kind": "marketing", "key": "key-1", "action": "preview"}
    data.update(changes)
    return data


def upload(text=FILE, name="people.csv"):
    return (io.BytesIO(text.encode()), name)


def counts(html):
    return {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)', html)}


def opt_out(app, phone="995591000001"):
    with app.app_context():
        db.session.add(OptOut(phone=phone))
        db.session.commit()


def test_preview_counts_samples_and_cost(app, logged_in):
    opt_out(app)
    response = logged_in.post("/bulk", data=form(recipients_file=upload()),
                              content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert counts(html) == {"valid": 4, "invalid": 2, "duplicates": 1, "opted_out": 1,
                            "to_send": 3, "parts": 3}
    assert 'data-count="cost">₾0.15<' in html
    assert "Hello Nino from Batumi" in html and "Hello Eka from Kutaisi" in html
    assert "Send to all" in html
    token = re.search(r'name="file_token" type="hidden" value="([^"]+)"', html).group(1)
    report = re.search(r'href="(/contacts/invalid/[^"]+)"', html).group(1)
    text = logged_in.get(report).get_data(as_text=True)
    assert "12345" in text and "hello" in text and "“hello” is not a valid phone number." in text
    # The upload survives to the next request through its token only.
    html = logged_in.post("/bulk", data=form(file_token=token, file_name="people.csv"),
                          content_type="multipart/form-data").get_data(as_text=True)
    assert counts(html)["valid"] == 4


def test_send_to_all_fills_placeholders_skips_opted_out_and_is_idempotent(app, logged_in):
    opt_out(app)
    data = form(recipients_file=upload(), action="send", key="same-key")
    response = logged_in.post("/bulk", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    campaign_url = response.headers["Location"]
    again = logged_in.post("/bulk", data=form(action="send", key="same-key", pasted="599445448"))
    assert again.status_code == 302 and again.headers["Location"] == campaign_url
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Campaign)) == 1
        campaign = db.session.scalar(select(Campaign))
        assert (campaign.recipient_count, campaign.invalid_count, campaign.duplicate_count) == (
            4, 2, 1)
        rows = {m.recipient: (m.state, m.body, m.error_text)
                for m in db.session.scalars(select(Message))}
    assert rows["995599445448"] == (State.QUEUED, "Hello Nino from Batumi", None)
    assert rows["995555123456"][1] == "Hello Giorgi from Tbilisi"
    assert rows["995591000001"][0] == State.SKIPPED
    assert "Opted out" in rows["995591000001"][2]
    page = logged_in.get(campaign_url).get_data(as_text=True)
    assert 'role="progressbar"' in page and "Spring sale" in page


def rendered_form(html: str) -> dict[str, str]:
    """The hidden fields of the bulk page's form as a browser would submit them."""
    from .test_csrf import post_forms

    forms = [f for f in post_forms(html) if f["action"] in (None, "", "/bulk")]
    assert len(forms) == 1
    return {name: value for name, value in forms[0]["hidden"].items() if value}


def campaign_and_message_counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(db.func.count(Campaign.id))),
                db.session.scalar(select(db.func.count(Message.id))))


def test_submitting_the_rendered_form_twice_makes_one_campaign(app, logged_in):
    app.config["WTF_CSRF_ENABLED"] = True
    hidden = rendered_form(logged_in.get("/bulk").get_data(as_text=True))
    assert hidden.get("key") and hidden.get("csrf_token")
    data = {**form(pasted="599445448\n555123456", action="send"), **hidden}
    first = logged_in.post("/bulk", data=data)
    again = logged_in.post("/bulk", data=data)  # back, and Send again
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert campaign_and_message_counts(app) == (1, 2)
    # A new visit to the page is a new form: it makes a second campaign.
    assert rendered_form(logged_in.get("/bulk").get_data(as_text=True))["key"] != hidden["key"]


def test_two_simultaneous_submits_of_one_form_make_one_campaign(app, live_server, users,
                                                               monkeypatch):
    """Both requests pass the "already made?" check before either inserts: the unique key
    decides, and the loser is sent to the winner's campaign."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from smsco.web.bulk import campaigns

    from .conftest import ADMIN_PASSWORD

    create = campaigns.create_campaign
    both_in = threading.Barrier(2)

    def create_together(*args, **kwargs):
        both_in.wait(timeout=10)
        return create(*args, **kwargs)

    monkeypatch.setattr(campaigns, "create_campaign", create_together)
    app.config["WTF_CSRF_ENABLED"] = True
    browser = requests.Session()
    login = browser.get(live_server.url + "/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
    browser.post(live_server.url + "/login", data={
        "csrf_token": token, "username": "admin", "password": ADMIN_PASSWORD})
    hidden = rendered_form(browser.get(live_server.url + "/bulk").text)
    data = {**form(pasted="599445448\n555123456\n577112233", action="send"), **hidden}

    def submit(_):
        return browser.post(live_server.url + "/bulk", data=data, allow_redirects=False,
                            timeout=30)

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(submit, range(2)))
    assert [r.status_code for r in responses] == [302, 302]
    assert responses[0].headers["Location"] == responses[1].headers["Location"]
    assert campaign_and_message_counts(app) == (1, 3)


def test_groups_and_pasted_numbers_are_merged_without_duplicates(app, logged_in):
    with app.app_context():
        group = ContactGroup(name="Clients")
        group.contacts.append(Contact(phone="995599445448", fields={"name": "Nino"}))
        db.session.add(group)
        db.session.commit()
        group_id = group.id
    response = logged_in.post("/bulk", data=form(
        groups=str(group_id), pasted="599 44 54 48\n555123456", action="send",
        message="Hi {name}", kind="transactional"))
    assert response.status_code == 302
    with app.app_context():
        bodies = dict(db.session.execute(select(Message.recipient, Message.body)).all())
        campaign = db.session.scalar(select(Campaign))
    assert bodies == {"995599445448": "Hi Nino", "995555123456": "Hi"}
    assert not campaign.marketing and not campaign.quiet_hours


def test_transactional_ignores_quiet_hours_and_opt_outs(app, logged_in):
    opt_out(app, "995599445448")
    logged_in.post("/bulk", data=form(pasted="599445448", action="send", kind="transactional"))
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        assert not campaign.marketing and not campaign.quiet_hours
        assert db.session.execute(select(Message.quiet_hours, Message.state)).one() == (
            False, State.QUEUED)


def test_marketing_and_transactional_are_one_choice(app, logged_in):
    html = logged_in.get("/bulk").get_data(as_text=True)
    radios = re.findall(r'<input[^>]*name="kind"[^>]*>', html)
    assert len(radios) == 2 and all('type="radio"' in r for r in radios)
    assert "checked" in radios[0] and 'value="marketing"' in radios[0]
    assert 'name="marketing"' not in html and 'name="transactional"' not in html
    logged_in.post("/bulk", data=form(pasted="599445448", action="send"))
    with app.app_context():
        campaign = db.session.scalar(select(Campaign))
        assert campaign.marketing and campaign.quiet_hours


def test_nothing_to_send_and_bad_message_are_explained(app, logged_in):
    html = logged_in.post("/bulk", data=form(message="Hi {name}!")).get_data(as_text=True)
    assert "Choose a group, a recipients file, or paste numbers." in html
    assert "position" in html  # "!" is refused; the placeholder is not


def test_the_balance_stops_send_to_all(app, logged_in):
    with app.app_context():
        db.session.add(BalanceSnapshot(balance=Decimal("0.05")))
        db.session.commit()
    html = logged_in.post("/bulk", data=form(pasted="599445448, 555123456")).get_data(
        as_text=True)
    assert "cannot cover this campaign" in html
    assert re.search(r'value="send"[^>]*disabled', html)
    response = logged_in.post("/bulk", data=form(pasted="599445448, 555123456", action="send"))
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Campaign)) is None


def make_campaign(app, logged_in, numbers="599445448, 555123456, 577112233"):
    response = logged_in.post("/bulk", data=form(pasted=numbers, action="send",
                                               kind="transactional"))
    with app.app_context():
        return db.session.scalar(select(Campaign.id)), response.headers["Location"]


def states(app, campaign_id):
    with app.app_context():
        return sorted(db.session.scalars(select(Message.state)
                                         .where(Message.campaign_id == campaign_id)))


def test_pause_resume_cancel(app, logged_in):
    campaign_id, _ = make_campaign(app, logged_in)
    logged_in.post(f"/campaigns/{campaign_id}/pause")
    assert states(app, campaign_id) == [State.PAUSED] * 3
    data = logged_in.get(f"/campaigns/{campaign_id}/progress").get_json()
    assert data["counts"]["paused"] == 3 and data["paused"] and data["percent"] == 0
    logged_in.post(f"/campaigns/{campaign_id}/resume")
    assert states(app, campaign_id) == [State.QUEUED] * 3
    response = logged_in.post(f"/campaigns/{campaign_id}/cancel", data={"confirmed": "1"},
                              follow_redirects=True)
    assert "3 messages will not be sent" in response.get_data(as_text=True)
    assert states(app, campaign_id) == [State.CANCELED] * 3
    assert "cancelled" in logged_in.post(f"/campaigns/{campaign_id}/resume",
                                         follow_redirects=True).get_data(as_text=True)


def test_resend_failed_and_results_export_is_formula_safe(app, logged_in):
    campaign_id, _ = make_campaign(app, logged_in)
    with app.app_context():
        db.session.execute(update(Message).where(Message.recipient == "995599445448")
                           .values(state=State.FAILED, error_text="=HYPERLINK(\"x\")"))
        db.session.commit()
    response = logged_in.post(f"/campaigns/{campaign_id}/resend-failed", follow_redirects=True)
    assert "1 failed message queued again" in response.get_data(as_text=True)
    with app.app_context():
        resent = db.session.scalar(select(Message).where(Message.resend_of_id.is_not(None)))
        assert resent.recipient == "995599445448" and resent.campaign_id == campaign_id
    text = logged_in.get(f"/campaigns/{campaign_id}/results.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    data = logged_in.get(f"/campaigns/{campaign_id}/progress").get_json()
    assert data["counts"]["failed"] == 1 and data["total"] == 4


def test_campaign_list_and_quiet_hours_notice(app, logged_in):
    from smsco.web.sending.quiet_hours import parse_quiet_hours

    response = logged_in.post("/bulk", data=form(pasted="599445448", action="send"))
    url = response.headers["Location"]
    app.config["SMSCO_QUIET_RULE"] = parse_quiet_hours("00:00-23:59,00:00-23:59")  # always
    page = logged_in.get(url).get_data(as_text=True)
    assert "Waiting for quiet hours to end at" in page
    assert re.search(r'data-quiet-wait\s*>', page)
    listing = logged_in.get("/campaigns").get_data(as_text=True)
    assert "Spring sale" in listing and 'aria-valuenow="0"' in listing


def test_fault_injection_every_recipient_ends_truthfully(app, gateway):
    """200 recipients through 2907s, dropped and hung requests: nobody is sent twice."""
    import smsco
    from smsco.web.bulk import services
    from smsco.web.bulk.campaigns import CampaignSpec
    from smsco.web.sending.dispatch import dispatch_due_messages

    numbers = [f"5991{i:05d}" for i in range(200)]
    opted = "995599100007"
    with app.app_context():
        db.session.add(OptOut(phone=opted))
        db.session.commit()
        app.extensions["smsco_client"] = smsco.Client(
            GATEWAY_USER, GATEWAY_PASSWORD, base_url=gateway.url, timeout=(1, 0.3))
        gateway.simulator.configure(unavailable_rate=0.15, drop_rate=0.08, hang_rate=0.08,
                                    hang_seconds=0.6, failure_rate=0.0)
        sources = services.Sources(pasted="\n".join(numbers))
        campaign = services.send(services.collect(sources), CampaignSpec(name="Faults",
                                                                          body="Hi"), None, "k")
        for _ in range(60):
            dispatch_due_messages()
            db.session.execute(update(Message).where(Message.state == State.QUEUED)
                               .values(send_at=utcnow()))
            db.session.commit()
            if not db.session.scalar(select(Message.id).where(Message.state == State.QUEUED)):
                break
        final = dict(db.session.execute(select(Message.recipient, Message.state)
                                        .where(Message.campaign_id == campaign.id)).all())
    time.sleep(1.0)  # hung requests finish at the simulator
    assert len(final) == 200
    assert set(final.values()) <= {State.SENT, State.FAILED, State.UNKNOWN, State.SKIPPED}
    assert final[opted] == State.SKIPPED
    reached: dict[str, int] = {}
    for request in gateway.simulator.requests:
        if not request.path.endswith("smsapi2.php") or not request.recipient:
            continue
        if (request.reply or "").startswith("OK") or request.fault in ("drop", "hang"):
            reached[request.recipient] = reached.get(request.recipient, 0) + 1
    assert max(reached.values()) == 1
    assert opted not in reached and opted not in gateway.simulator.sent_counts
    faults = {r.fault for r in gateway.simulator.requests}
    assert {"unavailable", "drop", "hang"} <= faults
    assert State.UNKNOWN in final.values() and State.SENT in final.values()
