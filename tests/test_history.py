"""The history pages: table, filters, search, keyset pages, CSV, live updates, message page."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest

from smsco import DeliveryStatus
from smsco.web.extensions import db
from smsco.web.history import queries
from smsco.web.models import Message, MessageEvent, ScheduleMode, State, utcnow
from smsco.web.sending.outbox import NewMessages, create_messages

NUMBER = "995599445448"


def add_message(recipient=NUMBER, body="Hello there", state=State.QUEUED, user_id=None,
                **fields) -> int:
    """One message row straight into the database; returns its id."""
    message = Message(recipient=recipient, body=body, state=state, created_by_id=user_id,
                      **fields)
    db.session.add(message)
    db.session.commit()
    return message.id


def csrf_token(web) -> str:
    """A valid CSRF token for the test client's session (the CSRF check stays on)."""
    from flask import current_app, session
    from flask_wtf.csrf import generate_csrf

    with web.session_transaction() as stored, current_app.test_request_context():
        session.update(stored)
        token = generate_csrf()
        stored["csrf_token"] = session["csrf_token"]
    return token


def act(web, message_id: int, action: str, **kwargs):
    """POST one of the message page's actions with the session's CSRF token."""
    with web.application.app_context():
        token = csrf_token(web)
    return web.post(f"/messages/{message_id}/{action}",
                    data={"csrf_token": token, "confirmed": "1"}, **kwargs)


def row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', html)]


@pytest.fixture
def seeded(app, users):
    """A handful of messages of every kind, by two operators."""
    with app.app_context():
        ids = {
            "queued": add_message("995599000001", "Queued one", user_id=users["admin"],
                                  sender="Shop"),
            "sent": add_message("995599000002", "Sent one", State.SENT, users["olga"],
                                sender="Shop", sent_at=utcnow(), credits=5, mes_id="77",
                                gateway_status=2),
            "delivered": add_message("995577123456", "Your code is 1234", State.DELIVERED,
                                     users["olga"], sender="Bank", sent_at=utcnow(), credits=5,
                                     gateway_status=1),
            "failed": add_message("995599000004", "Failed one", State.FAILED, users["admin"],
                                  error_text="Gateway error 2904: SMS sending failed",
                                  error_code=2904),
        }
    return ids


# -- the table -------------------------------------------------------------------------


def test_table_has_the_contract_columns_and_newest_first(logged_in, seeded):
    page = logged_in.get("/history")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for column in ("Recipient", "Message", "Status", "Sent at (Tbilisi)", "Credits",
                   "Sender ID", "Operator"):
        assert f">{column}</th>" in html
    assert row_ids(html) == sorted(seeded.values(), reverse=True)
    assert 'for="q">Search</label>' in html
    assert f'href="/messages/{seeded["sent"]}"' in html


def test_status_cell_shows_gateway_status_and_the_likely_cause(logged_in, seeded):
    html = logged_in.get("/history").get_data(as_text=True)
    assert 'state-sent">Sent</span> <span class="gateway-status">In process</span>' in html
    assert ('state-failed">Failed</span> <small class="cause">The gateway refused to send it'
            '</small>') in html


def test_held_message_shows_when_it_is_scheduled(app, logged_in, users):
    when = datetime(2030, 5, 1, 8, 0)  # naive UTC = 12:00 in Tbilisi
    with app.app_context():
        add_message(schedule_mode=ScheduleMode.HELD, send_at=when)
    html = logged_in.get("/history").get_data(as_text=True)
    assert "scheduled 1 May 2030, 12:00" in html
    assert 'state-scheduled">Scheduled</span>' in html


def test_scheduled_and_queued_are_filters_of_their_own(app, logged_in, users):
    with app.app_context():
        later = add_message(body="Later", schedule_mode=ScheduleMode.HELD,
                            send_at=datetime(2030, 5, 1, 8, 0))
        due = add_message(body="Due now", send_at=utcnow() - timedelta(minutes=1))
    assert row_ids(logged_in.get("/history?state=scheduled").get_data(as_text=True)) == [later]
    assert row_ids(logged_in.get("/history?state=queued").get_data(as_text=True)) == [due]
    html = logged_in.get("/history").get_data(as_text=True)
    assert '<option value="scheduled">Scheduled</option>' in html
    assert 'state-queued">Queued</span>' in html


def test_empty_history_is_friendly(logged_in):
    html = logged_in.get("/history").get_data(as_text=True)
    assert "No messages yet" in html


@pytest.mark.parametrize(("args", "expected"), [
    ({"state": "delivered"}, ["delivered"]),
    ({"state": "failed"}, ["failed"]),
    ({"sender": "Shop"}, ["sent", "queued"]),
    ({"q": "code is"}, ["delivered"]),
    ({"q": "YOUR CODE"}, ["delivered"]),
    ({"q": "100%"}, []),
])
def test_filters(logged_in, seeded, args, expected):
    html = logged_in.get("/history", query_string=args).get_data(as_text=True)
    assert row_ids(html) == [seeded[name] for name in expected]


def test_operator_filter(logged_in, seeded, users):
    html = logged_in.get(f"/history?operator={users['olga']}").get_data(as_text=True)
    assert row_ids(html) == [seeded["delivered"], seeded["sent"]]
    assert f'<option value="{users["olga"]}" selected>olga</option>' in html


@pytest.mark.parametrize("written", [
    "577 12 34 56", "+995 577 12 34 56", "0577123456", "995577123456", "(577) 12-34-56",
    "577123", "+995 577",
])
def test_number_search_any_way_written(logged_in, seeded, written):
    html = logged_in.get("/history", query_string={"q": written}).get_data(as_text=True)
    assert row_ids(html) == [seeded["delivered"]]


def test_number_search_combined_with_state(logged_in, seeded):
    args = {"q": "599 00 00 02", "state": "delivered"}
    assert row_ids(logged_in.get("/history", query_string=args).get_data(as_text=True)) == []
    args["state"] = "sent"
    html = logged_in.get("/history", query_string=args).get_data(as_text=True)
    assert row_ids(html) == [seeded["sent"]]


def test_date_range_is_in_the_local_time_zone(app, logged_in, users):
    with app.app_context():
        # 2030-03-01 21:30 UTC is 2030-03-02 01:30 in Tbilisi (UTC+4).
        late = add_message(created_at=datetime(2030, 3, 1, 21, 30))
        early = add_message(created_at=datetime(2030, 3, 1, 10, 0))
    html = logged_in.get("/history?from=2030-03-02&to=2030-03-02").get_data(as_text=True)
    assert row_ids(html) == [late]
    html = logged_in.get("/history?from=2030-03-01&to=2030-03-01").get_data(as_text=True)
    assert row_ids(html) == [early]
    html = logged_in.get("/history?from=not-a-date").get_data(as_text=True)
    assert row_ids(html) == [early, late]  # newest by id, not by time


def test_keyset_pages_have_no_gaps_or_duplicates(app, logged_in, users):
    with app.app_context():
        db.session.add_all(Message(recipient=NUMBER, body=f"Message {n}", sender="Shop")
                           for n in range(120))
        db.session.add_all(Message(recipient=NUMBER, body="other", sender="Bank")
                           for _ in range(5))
        db.session.commit()
        wanted = list(db.session.scalars(db.select(Message.id).where(Message.sender == "Shop")
                                         .order_by(Message.id.desc())))
    seen, url, pages = [], "/history?sender=Shop", []
    while url:
        html = logged_in.get(url).get_data(as_text=True)
        pages.append(html)
        seen += row_ids(html)
        older = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = older.group(1).replace("&amp;", "&") if older else None
        if url:
            assert "sender=Shop" in url and "before=" in url
    assert seen == wanted
    assert [len(row_ids(p)) for p in pages] == [50, 50, 20]
    assert 'rel="prev"' not in pages[0]
    # "Newer" from the last page goes back to exactly the second page.
    newer = re.search(r'<a rel="prev" href="([^"]+)"', pages[2]).group(1).replace("&amp;", "&")
    html = logged_in.get(newer).get_data(as_text=True)
    assert row_ids(html) == row_ids(pages[1])
    assert 'rel="prev"' in html and 'rel="next"' in html


# -- CSV -------------------------------------------------------------------------------


def csv_rows(reply) -> list[dict[str, str]]:
    """An export as Excel reads it: UTF-8 after the byte-order mark, then CSV."""
    data = reply.get_data()
    assert data.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_export_of_the_filtered_view(logged_in, seeded):
    reply = logged_in.get("/history.csv?sender=Shop")
    assert reply.status_code == 200
    assert reply.mimetype == "text/csv" and reply.mimetype_params["charset"] == "utf-8"
    assert re.search(r'filename="smsco-history-\d{4}-\d{2}-\d{2}\.csv"',
                     reply.headers["Content-Disposition"])
    rows = csv_rows(reply)
    assert [int(r["id"]) for r in rows] == [seeded["sent"], seeded["queued"]]
    sent = rows[0]
    assert sent["recipient"] == "+995 599 00 00 02"  # spaces: Excel keeps it as text
    assert sent["operator"] == "olga"
    assert sent["state"] == "sent"
    assert sent["gateway_status"] == "In process"
    assert sent["credits"] == "5" and sent["mes_id"] == "77"
    assert sent["sent_at"].endswith("+04:00")
    assert list(rows[0].keys()) == ["id", "created_at", "sent_at", "recipient", "sender",
                                    "operator", "state", "gateway_status", "credits", "mes_id",
                                    "message"]


def test_csv_export_streams_in_batches(app, logged_in):
    from smsco.web.history.export import history_table
    from smsco.web.history.queries import HistoryFilters
    from smsco.web.ui.exports import csv_chunks

    with app.app_context():
        db.session.add_all(Message(recipient=NUMBER, body=f"m{n}") for n in range(12))
        db.session.commit()
        chunks = list(csv_chunks(history_table(HistoryFilters(), batch_size=5)))
    assert len(chunks) == 1 + 3
    ids = [int(line.split(",")[0]) for line in "".join(chunks).splitlines()[1:]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 12


@pytest.mark.parametrize("body", ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)",
                                  "\tTAB", "\rCR"])
def test_csv_neutralizes_formulas(app, logged_in, body):
    with app.app_context():
        add_message(body=body)
    assert csv_rows(logged_in.get("/history.csv"))[0]["message"] == "'" + body


def test_xlsx_export_keeps_text_as_text_and_numbers_as_numbers(app, logged_in):
    import openpyxl

    with app.app_context():
        add_message(body="=1+2 გამარჯობა\x01", credits=5)
    reply = logged_in.get("/history.xlsx")
    assert reply.status_code == 200 and reply.mimetype.endswith("spreadsheetml.sheet")
    assert re.search(r'filename=smsco-history-\d{4}-\d{2}-\d{2}\.xlsx',
                     reply.headers["Content-Disposition"])
    sheet = openpyxl.load_workbook(io.BytesIO(reply.get_data())).active
    header, row = ([cell for cell in line] for line in sheet.iter_rows(max_row=2))
    assert [c.value for c in header][:4] == ["id", "created_at", "sent_at", "recipient"]
    cells = dict(zip([c.value for c in header], row, strict=True))
    assert cells["recipient"].value == "+995 599 44 54 48"
    assert cells["recipient"].number_format == "@"
    assert cells["message"].value == "=1+2 გამარჯობა" and cells["message"].data_type == "s"
    assert cells["credits"].value == 5 and cells["credits"].data_type == "n"


# -- live updates ------------------------------------------------------------------------


def test_updates_json(app, logged_in, seeded):
    ids = f"{seeded['sent']},{seeded['failed']},999999,abc"
    data = logged_in.get(f"/history/updates?ids={ids}").get_json()
    assert set(data["messages"]) == {str(seeded["sent"]), str(seeded["failed"])}
    sent = data["messages"][str(seeded["sent"])]
    assert sent["state"] == "sent" and sent["label"] == "Sent" and sent["gateway"] == "In process"
    assert sent["credits"] == "₾0.05" and sent["final"] is False and sent["sent_at"]
    failed = data["messages"][str(seeded["failed"])]
    assert failed["final"] is True and failed["error"] == "The gateway refused to send it"
    assert "balance" in data
    with app.app_context():
        db.session.get(Message, seeded["sent"]).state = State.DELIVERED
        db.session.commit()
    data = logged_in.get(f"/history/updates?ids={seeded['sent']}").get_json()
    assert data["messages"][str(seeded["sent"])]["label"] == "Delivered"


def test_table_rows_carry_what_the_script_needs(logged_in, seeded):
    html = logged_in.get("/history").get_data(as_text=True)
    assert f'<tr data-id="{seeded["sent"]}" data-final="false" data-state="sent">' in html
    assert (f'<tr data-id="{seeded["delivered"]}" data-final="true" data-state="delivered">'
            in html)
    assert '<td class="phone" data-label="Recipient"><a' in html  # never breaks across lines
    assert 'data-cell="status"' in html and 'data-cell="sent_at"' in html
    assert "history.js" in html
    assert logged_in.get("/static/history.js").status_code == 200


# -- one message ---------------------------------------------------------------------


def make_queued(app, user_id):
    with app.app_context():
        request = NewMessages(recipients=[NUMBER], body="Hi from the test", sender="Shop")
        from smsco.web.models import User

        return create_messages(request, db.session.get(User, user_id))[0].id


def test_message_page_shows_details_and_timeline(app, logged_in, users):
    message_id = make_queued(app, users["admin"])
    with app.app_context():
        db.session.add(MessageEvent(message_id=message_id, state=State.SENT, gateway_status=1,
                                    detail="Accepted", at=utcnow() + timedelta(seconds=1)))
        db.session.commit()
    html = logged_in.get(f"/messages/{message_id}").get_data(as_text=True)
    assert "Hi from the test" in html and "+995 599 44 54 48" in html and "Shop" in html
    assert "admin" in html and "Queued to send now" in html
    assert "Timeline" in html and "Accepted" in html and "Delivered" in html
    assert 'name="csrf_token"' in html and ">Cancel</button>" in html
    live = logged_in.get(f"/messages/{message_id}/live").get_data(as_text=True)
    assert live.lstrip().startswith('<div id="message-live"') and "Accepted" in live


def test_unknown_message_is_404(logged_in, users):
    assert logged_in.get("/messages/424242").status_code == 404


def test_cancel_queued_and_refuse_cancel_twice(app, logged_in, users):
    message_id = make_queued(app, users["admin"])
    reply = act(logged_in, message_id, "cancel", follow_redirects=True)
    assert "The message was cancelled." in reply.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Message, message_id).state == State.CANCELED
    reply = act(logged_in, message_id, "cancel", follow_redirects=True)
    assert "can no longer be cancelled" in reply.get_data(as_text=True)


def test_actions_need_a_csrf_token(app, logged_in, users):
    message_id = make_queued(app, users["admin"])
    app.config["WTF_CSRF_ENABLED"] = True
    assert logged_in.post(f"/messages/{message_id}/cancel").status_code == 400
    assert act(logged_in, message_id, "cancel").status_code == 302


def test_resend_failed_once(app, logged_in, seeded):
    failed = seeded["failed"]
    reply = act(logged_in, failed, "resend")
    assert reply.status_code == 302
    with app.app_context():
        copy = db.session.scalar(db.select(Message).where(Message.resend_of_id == failed))
        assert copy.state == State.QUEUED and copy.recipient == "995599000004"
        copy_id = copy.id
    assert reply.headers["Location"].endswith(f"/messages/{copy_id}")
    html = logged_in.get(reply.headers["Location"]).get_data(as_text=True)
    assert f"Queued again as message #{copy_id}." in html
    assert f'href="/messages/{failed}">message #{failed}</a>' in html
    original = logged_in.get(f"/messages/{failed}").get_data(as_text=True)
    assert f'href="/messages/{copy_id}">message #{copy_id}</a>' in original
    again = act(logged_in, failed, "resend", follow_redirects=True)
    assert "already resent" in again.get_data(as_text=True)


def test_resend_refused_for_delivered(logged_in, seeded):
    reply = act(logged_in, seeded['delivered'], "resend", follow_redirects=True)
    assert "Only failed messages" in reply.get_data(as_text=True)


def sent_through_gateway(app, client, users) -> int:
    """A message really sent through the simulator, marked sent with its mes_id."""
    result = client.send(NUMBER, "Status check")
    with app.app_context():
        return add_message(body="Status check", state=State.SENT, user_id=users["admin"],
                           mes_id=result.message_id, credits=result.credits, sent_at=utcnow())


def test_check_status_now_applies_the_gateway_answer(app, logged_in, users, client, gateway):
    message_id = sent_through_gateway(app, client, users)
    with app.app_context():
        mes_id = db.session.get(Message, message_id).mes_id
    gateway.simulator.set_status(int(mes_id), DeliveryStatus.DELIVERED)
    html = act(logged_in, message_id, "check", follow_redirects=True).get_data(as_text=True)
    assert "The gateway says: Delivered." in html
    with app.app_context():
        message = db.session.get(Message, message_id)
        assert message.state == State.DELIVERED
        assert message.gateway_status == int(DeliveryStatus.DELIVERED)
        assert message.events[-1].detail == "Gateway status: Delivered"


def test_check_status_reports_gateway_errors(app, logged_in, users, client, closed_port):
    from smsco import Client

    message_id = sent_through_gateway(app, client, users)
    app.extensions["smsco_client"] = Client("u", "p", base_url=f"http://127.0.0.1:{closed_port}")
    html = act(logged_in, message_id, "check", follow_redirects=True).get_data(
        as_text=True)
    assert "The status could not be checked: Could not connect to the gateway" in html


def test_text_search_reads_one_window_per_page_and_goes_on_older(app, logged_in, users,
                                                                  monkeypatch):
    monkeypatch.setattr(queries, "SCAN_WINDOW", 30)
    with app.app_context():
        ids = [add_message(body="needle here" if i in (5, 40) else "hay", user_id=users["admin"])
               for i in range(100)]
    pages, found, notes, url = 0, [], 0, "/history?q=needle"
    while url and pages < 10:
        html = logged_in.get(url).get_data(as_text=True)
        assert ">hay<" not in html
        found += [int(i) for i in re.findall(r'/messages/(\d+)"', html)]
        notes += ("No match among the 30 messages searched here" in html
                  or "these are the matches so far" in html)
        match = re.search(r'rel="next" href="([^"]+)"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
        pages += 1
    assert sorted(set(found)) == [ids[5], ids[40]]
    assert pages == 4 and notes == 3  # 100 ids in windows of 30; the last page ends it


@pytest.mark.parametrize(("state", "status", "code", "cause", "advice"), [
    (State.FAILED, 5, None, "Expired: the phone was unreachable", "Resend later"),
    (State.FAILED, 6, None, "Rejected by the mobile operator", "sender ID is agreed"),
    (State.FAILED, 3, None, "could not deliver it", "Check the number"),
    (State.FAILED, None, 2904, "The gateway refused to send it", "then resend"),
    (State.FAILED, None, 2912, "required field was empty", "Check the sender ID"),
    (State.FAILED, None, None, "The gateway refused the request", "Nothing was sent"),
    (State.UNKNOWN, None, None, "may or may not have been sent", "Ask the recipient"),
])
def test_a_failed_or_unknown_message_page_says_the_likely_cause_and_what_to_do(
        app, logged_in, users, state, status, code, cause, advice):
    with app.app_context():
        message_id = add_message("995599000009", "Hello", state, users["admin"],
                                 gateway_status=status, error_code=code,
                                 error_text="Gateway status: something")
    html = logged_in.get(f"/messages/{message_id}").get_data(as_text=True)
    assert "Likely cause" in html and cause in html and advice in html
    assert "Gateway said" in html and "Gateway status: something" in html


def test_a_delivered_message_page_names_no_cause(app, logged_in, seeded):
    html = logged_in.get(f"/messages/{seeded['delivered']}").get_data(as_text=True)
    assert "Likely cause" not in html
