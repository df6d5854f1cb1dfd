"""Small things operators notice: plurals, a flash that goes once its news is old, numbers
that never break, and the layout of a few forms."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from smsco.web.extensions import db
from smsco.web.models import Campaign, ScheduleMode

from .test_compose import post

TBILISI = ZoneInfo("Asia/Tbilisi")
STYLE = (Path(__file__).resolve().parents[1] / "static" / "style.css").read_text()


def flashes(html: str) -> list[str]:
    return re.findall(r'<div class="flash [^"]*"[^>]*>[^<]*</div>', html)


def test_sending_now_is_a_flash_that_leaves_once_sent(logged_in):
    reply = post(logged_in)
    html = logged_in.get(reply.headers["Location"]).get_data(as_text=True)
    [flash] = flashes(html)
    assert "1 message queued; sending now." in flash and "data-flash-transient" in flash
    assert 'data-state="queued"' in html  # what history.js watches before dropping it
    script = (Path(__file__).resolve().parents[1] / "static" / "history.js").read_text()
    assert "[data-flash-transient]" in script


def test_two_messages_and_a_schedule_are_worded_and_kept(logged_in):
    reply = post(logged_in, recipients="599445448, 555123456")
    [flash] = flashes(logged_in.get(reply.headers["Location"]).get_data(as_text=True))
    assert "2 messages queued; sending now." in flash
    later = (datetime.now(TBILISI) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    reply = post(logged_in, send_at=later, schedule_mode=ScheduleMode.HELD)
    [flash] = flashes(logged_in.get(reply.headers["Location"]).get_data(as_text=True))
    assert "1 message scheduled." in flash and "data-flash-transient" not in flash


def test_import_counts_are_singular_when_one(app, logged_in, tmp_path):
    app.config["SMSCO_UPLOAD_DIR"] = str(tmp_path)
    data = b"phone\n599445448\n599 44 54 48\nbad\n"
    url = logged_in.post("/contacts/import", data={"file": (io.BytesIO(data), "c.csv")},
                         content_type="multipart/form-data").headers["Location"]
    text = logged_in.post(url, data={"column-0": "__phone__"},
                          follow_redirects=True).get_data(as_text=True)
    assert ("Import finished: 1 added, 0 updated, 1 invalid, 1 duplicate within the file."
            in text)
    text = logged_in.post("/contacts/opt-outs/import", data={
        "import-file": (io.BytesIO(data), "o.csv")}, content_type="multipart/form-data",
        follow_redirects=True).get_data(as_text=True)
    assert ("1 number opted out, 0 were already, 1 invalid, 1 duplicate within the file."
            in text)


def test_campaign_page_counts_left_out_rows_with_plurals(app, logged_in):
    with app.app_context():
        campaign = Campaign(name="C", body="Hi", idempotency_key="k", recipient_count=3,
                            invalid_count=2, duplicate_count=1)
        db.session.add(campaign)
        db.session.commit()
        campaign_id = campaign.id
    html = logged_in.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert "3 (2 invalid and 1 duplicate left out)" in html


def test_the_audit_of_one_message_says_message(app, logged_in):
    from smsco.web.models import AuditEntry

    post(logged_in)
    with app.app_context():
        detail = db.session.scalar(db.select(AuditEntry.detail).where(
            AuditEntry.action == "send"))
    assert detail.startswith("1 message to ") and "(s)" not in detail


def test_phone_numbers_never_break_in_tables():
    assert re.search(r"td\.phone[^{]*\{[^}]*white-space: nowrap", STYLE)


def test_mapping_selects_look_like_the_other_fields(app, logged_in, tmp_path):
    assert re.search(r"\.mapping-table select \{[^}]*border: 1px solid #c9ced6[^}]*"
                     r"border-radius: 6px", STYLE)
    app.config["SMSCO_UPLOAD_DIR"] = str(tmp_path)
    url = logged_in.post("/contacts/import", data={
        "file": (io.BytesIO(b"phone,name\n599445448,Nino\n"), "c.csv")},
        content_type="multipart/form-data").headers["Location"]
    html = logged_in.get(url).get_data(as_text=True)
    # The Import button and the link beside it sit in a row with a gap between them.
    assert re.search(r'<div class="actions">\s*<button type="submit" class="button primary">'
                     r"Import</button>\s*<a ", html)
    assert re.search(r"\.actions \{[^}]*display: flex[^}]*gap", STYLE)


def test_row_actions_sit_inside_their_cell(app, logged_in):
    """A flex <td> leaves the table: its divider would not line up with the row's."""
    logged_in.post("/contacts/groups", data={"name": "Clients"})
    html = logged_in.get("/contacts/groups").get_data(as_text=True)
    assert '<td class="row-actions">' not in html and '<td><div class="row-actions">' in html
