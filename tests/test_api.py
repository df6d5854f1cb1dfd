"""The JSON API: keys, sending with compose's rules, idempotency, reading, campaigns, errors."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from smsco.web.extensions import db
from smsco.web.models import (
    ApiKey,
    AuditEntry,
    Campaign,
    Contact,
    ContactGroup,
    Message,
    OptOut,
    Priority,
    ScheduleMode,
    State,
    User,
    utcnow,
)

PROBLEM = "application/problem+json"


@pytest.fixture
def api_keys(app, users):
    """A key of the administrator and one of the operator: ``{"admin": secret, "olga": …}``."""
    from smsco.web.api.keys import create_key

    with app.app_context():
        admin, olga = db.session.get(User, users["admin"]), db.session.get(User, users["olga"])
        return {"admin": create_key("Admin tools", admin, admin).secret,
                "olga": create_key("Booking", olga, olga).secret}


@pytest.fixture
def api(web, api_keys):
    """Call the API with the operator's key: ``api("post", "/messages", json=…)``."""

    def call(method, path, key="olga", headers=None, **kwargs):
        headers = {"Authorization": f"Bearer {api_keys[key]}", **(headers or {})}
        return getattr(web, method)(f"/api/v1{path}", headers=headers, **kwargs)

    return call


def send(api, **fields):
    body = {"recipients": ["599 44 54 48"], "text": "Hello"}
    body.update(fields)
    return api("post", "/messages", json=body)


def messages(app):
    with app.app_context():
        return db.session.scalars(db.select(Message).order_by(Message.id)).all()


def assert_problem(reply, status):
    assert reply.status_code == status
    assert reply.content_type == PROBLEM
    body = reply.get_json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


# -- keys --------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic abc",
                                    "Bearer smsco_not-a-real-key"])
def test_requests_without_a_valid_key_get_401_json_never_the_login_page(web, users, header):
    reply = web.get("/api/v1/balance", headers={"Authorization": header} if header else {})
    body = assert_problem(reply, 401)
    assert "Bearer" in reply.headers["WWW-Authenticate"]
    assert "Bearer" in body["detail"] or "key" in body["detail"]


def test_a_revoked_or_expired_key_gets_401(app, api, users):
    from smsco.web.api.keys import revoke_key

    with app.app_context():
        key = db.session.scalar(db.select(ApiKey).where(ApiKey.name == "Booking"))
        key.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert "expired" in assert_problem(api("get", "/balance"), 401)["detail"]
    with app.app_context():
        key = db.session.scalar(db.select(ApiKey).where(ApiKey.name == "Booking"))
        key.expires_at = None
        revoke_key(key, db.session.get(User, users["admin"]))
    assert "revoked" in assert_problem(api("get", "/balance"), 401)["detail"]


def test_only_the_hash_of_a_key_is_stored_and_last_use_is_recorded(app, api, api_keys):
    assert api("get", "/balance").status_code == 200
    with app.app_context():
        key = db.session.scalar(db.select(ApiKey).where(ApiKey.name == "Booking"))
        assert api_keys["olga"] not in (key.secret_hash, key.prefix)
        assert api_keys["olga"].startswith(key.prefix)
        assert key.last_used_at is not None


def test_an_operators_key_gets_403_on_administrator_endpoints(api):
    assert_problem(api("get", "/webhooks/deliveries"), 403)
    assert api("get", "/webhooks/deliveries", key="admin").status_code == 200


def test_a_disabled_owners_key_stops_working(app, api, users):
    with app.app_context():
        db.session.get(User, users["olga"]).active = False
        db.session.commit()
    assert "disabled" in assert_problem(api("get", "/balance"), 401)["detail"]


# -- sending -------------------------------------------------------------------------------


def test_send_queues_one_row_per_distinct_recipient_owned_by_the_keys_owner(app, api, users,
                                                                          gateway):
    reply = send(api, recipients=["599 44 54 48", "+995 555 12 34 56", "599445448"])
    assert reply.status_code == 202
    body = reply.get_json()
    rows = messages(app)
    assert [m["id"] for m in body["messages"]] == [m.id for m in rows]
    assert [m["state"] for m in body["messages"]] == ["queued", "queued"]
    assert [m.recipient for m in rows] == ["995599445448", "995555123456"]
    assert body["parts"] == 1 and body["cost"] == 10
    assert {m.created_by_id for m in rows} == {users["olga"]}
    assert all(m.api_key_id is not None for m in rows)
    assert gateway.simulator.requests == []  # nothing leaves inside the request
    with app.app_context():
        entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "send"))
        assert entry.user_id == users["olga"] and "API key" in entry.detail


def test_any_refused_recipient_or_character_refuses_the_whole_request_naming_each(app, api):
    reply = send(api, recipients=["599 44 54 48", "12345", "032 2 12 34 56"], text="Hi, there!")
    body = assert_problem(reply, 422)
    pointers = {(e["pointer"], e.get("value")) for e in body["errors"]}
    assert ("/recipients/1", "12345") in pointers
    assert ("/recipients/2", "032 2 12 34 56") in pointers
    assert ("/text", ",") in pointers and ("/text", "!") in pointers
    landline = next(e for e in body["errors"] if e["pointer"] == "/recipients/2")
    assert "landline" in landline["detail"]
    assert messages(app) == []


@pytest.mark.parametrize("body", [
    {"recipients": [], "text": "Hi"},
    {"recipients": ["599445448"]},
    {"recipients": ["599445448"], "text": ""},
    {"recipients": [599445448], "text": "Hi"},
    {"recipients": ["599445448"], "text": "Hi", "unknown": 1},
    {"recipients": ["599445448"], "text": "Hi", "sender": "Far-too-long-sender"},
    {"recipients": ["599445448"], "text": "Hi", "send_at": "2030-01-01T10:00:00"},
    {"recipients": ["599445448"], "text": "Hi", "marketing": "yes"},
    {"recipients": "599445448", "text": "Hi"},
])
def test_bad_bodies_are_422_with_field_errors(app, api, body):
    reply = api("post", "/messages", json=body)
    problem = assert_problem(reply, 422)
    assert problem["errors"] and all("pointer" in e for e in problem["errors"])
    assert messages(app) == []


def test_agreed_sender_ids_are_enforced_as_on_compose(app, api):
    app.config["SMSCO_SENDERS"] = ["Clinic"]
    assert "agreed" in assert_problem(send(api, sender="Other"), 422)["errors"][0]["detail"]
    assert send(api, sender="Clinic").status_code == 202


def test_transliteration_on_request(app, api):
    assert send(api, text="გამარჯობა").status_code == 422
    reply = send(api, text="გამარჯობა, ნინო!", transliterate="national")
    assert reply.status_code == 202
    assert reply.get_json()["text"] == messages(app)[0].body == "Gamarjoba. Nino."


def test_send_at_with_time_zone_held_or_at_the_gateway_and_a_past_time_is_now(app, api):
    later = datetime.now(UTC) + timedelta(days=1)
    local = later.astimezone(datetime.now().astimezone().tzinfo).isoformat()
    send(api, send_at=later.isoformat())
    send(api, send_at=local, schedule="gateway")
    send(api, send_at="2001-01-01T00:00:00+04:00")
    held, at_gateway, now = messages(app)
    naive = later.replace(tzinfo=None)
    assert held.schedule_mode == ScheduleMode.HELD and abs(held.send_at - naive).seconds < 1
    assert at_gateway.schedule_mode == ScheduleMode.GATEWAY
    assert abs(at_gateway.gateway_schedule - naive).seconds < 1
    assert now.schedule_mode == ScheduleMode.NOW


def test_marketing_adds_the_footer_skips_opted_out_numbers_and_honours_quiet_hours(app, api):
    from smsco.web.admin.settings import set_optout_footer

    with app.app_context():
        set_optout_footer("STOP 91234")
        db.session.add(OptOut(phone="995555123456"))
        db.session.commit()
    reply = send(api, recipients=["599445448", "555123456"], marketing=True)
    body = reply.get_json()
    assert [m["state"] for m in body["messages"]] == ["queued", "skipped"]
    assert body["cost"] == 5
    first, skipped = messages(app)
    assert first.body == "Hello STOP 91234"
    assert first.quiet_hours and first.priority == Priority.CAMPAIGN
    assert skipped.state == State.SKIPPED and "Opted out" in skipped.error_text


# -- idempotency ---------------------------------------------------------------------------


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer_and_sends_nothing(app,
                                                                                     api):
    headers = {"Idempotency-Key": "order-1001"}
    body = {"recipients": ["599445448"], "text": "Hello"}
    first = api("post", "/messages", json=body, headers=headers)
    again = api("post", "/messages", json=dict(reversed(body.items())), headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.get_json() == again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(messages(app)) == 1
    other = api("post", "/messages", json={**body, "text": "Bye"}, headers=headers)
    assert "Idempotency-Key" in assert_problem(other, 422)["title"]
    assert len(messages(app)) == 1
    assert api("post", "/messages", json=body, headers={"Idempotency-Key": "order-1002"}
               ).status_code == 202
    assert len(messages(app)) == 2


def test_idempotency_keys_belong_to_one_api_key(app, api):
    headers = {"Idempotency-Key": "same"}
    api("post", "/messages", json={"recipients": ["599445448"], "text": "A"}, headers=headers)
    reply = api("post", "/messages", key="admin", headers=headers,
                json={"recipients": ["599445448"], "text": "B"})
    assert reply.status_code == 202 and len(messages(app)) == 2


def test_concurrent_retries_with_one_idempotency_key_send_once(app, api_keys):
    results = []

    def post():
        with app.test_client() as client:
            results.append(client.post(
                "/api/v1/messages", json={"recipients": ["599445448"], "text": "Once"},
                headers={"Authorization": f"Bearer {api_keys['olga']}",
                         "Idempotency-Key": "race"}))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(messages(app)) == 1
    assert len(results) == 6  # every request was answered
    answers = [r.get_json() for r in results if r.status_code == 202]
    assert answers and all(a == answers[0] for a in answers)
    assert {r.status_code for r in results} <= {202, 409}


def test_a_bad_idempotency_key_is_refused(api):
    reply = api("post", "/messages", headers={"Idempotency-Key": "a b"},
                json={"recipients": ["599445448"], "text": "Hi"})
    assert assert_problem(reply, 422)["errors"][0]["parameter"] == "Idempotency-Key"


# -- reading and cancelling --------------------------------------------------------------------


def test_get_a_message_with_its_timeline(api):
    message_id = send(api).get_json()["messages"][0]["id"]
    body = api("get", f"/messages/{message_id}").get_json()
    assert body["state"] == "queued" and body["created_by"] == "olga"
    assert body["timeline"][0]["state"] == "queued"
    assert body["created_at"].endswith("Z")


def test_list_filters_and_cursor_pages(api):
    send(api, recipients=["599445448", "555123456", "577123456"])
    send(api, recipients=["599445448"], sender="Shop")
    assert [m["recipient"] for m in api("get", "/messages?recipient=599 44 54 48"
                                        ).get_json()["messages"]] == ["995599445448"] * 2
    assert len(api("get", "/messages?sender=Shop").get_json()["messages"]) == 1
    assert api("get", "/messages?state=delivered").get_json()["messages"] == []
    first = api("get", "/messages?limit=3").get_json()
    assert len(first["messages"]) == 3 and first["next_cursor"]
    second = api("get", f"/messages?limit=3&cursor={first['next_cursor']}").get_json()
    assert len(second["messages"]) == 1 and second["next_cursor"] is None
    today = datetime.now().date().isoformat()
    assert len(api("get", f"/messages?from={today}&to={today}").get_json()["messages"]) == 4
    assert api("get", "/messages?from=0001-01-01&to=9999-12-31").status_code == 200
    assert_problem(api("get", "/messages?limit=0"), 422)
    assert_problem(api("get", "/messages?state=lost"), 422)


def test_cancel_while_queued_then_409(app, api):
    message_id = send(api).get_json()["messages"][0]["id"]
    reply = api("post", f"/messages/{message_id}/cancel")
    assert reply.status_code == 200 and reply.get_json()["state"] == "canceled"
    assert "no longer" in assert_problem(api("post", f"/messages/{message_id}/cancel"),
                                         409)["detail"]


@pytest.mark.parametrize("path", ["/messages/999", "/messages/0", "/messages/99999999999999999",
                                  "/campaigns/5", "/nothing-here"])
def test_unknown_things_are_404_problems(api, path):
    assert_problem(api("get", path), 404)


# -- campaigns -------------------------------------------------------------------------------


def test_campaign_with_fields_progress_pause_resume_cancel(app, api):
    reply = api("post", "/campaigns", json={
        "name": "January", "text": "Hello {name}",
        "recipients": [{"phone": "599445448", "fields": {"name": "ნინო"}},
                       {"phone": "555123456", "fields": {"name": "Giorgi"}},
                       {"phone": "599 44 54 48"}]})
    assert reply.status_code == 202
    campaign = reply.get_json()
    assert campaign["recipients"] == 2 and campaign["counts"]["queued"] == 2
    assert sorted(m.body for m in messages(app)) == ["Hello Giorgi", "Hello Nino"]
    path = f"/campaigns/{campaign['id']}"
    assert api("post", f"{path}/pause").get_json()["status"] == "paused"
    assert api("post", f"{path}/resume").get_json()["status"] == "running"
    assert api("post", f"{path}/cancel").get_json()["counts"]["canceled"] == 2
    assert_problem(api("post", f"{path}/pause"), 409)
    assert api("get", path).get_json()["status"] == "canceled"
    with app.app_context():
        canceled = db.session.scalars(db.select(Message)).all()
        assert all(m.events and m.events[-1].state == State.CANCELED for m in canceled)


def test_campaign_to_a_group_and_its_idempotency(app, api):
    with app.app_context():
        group = ContactGroup(name="Patients")
        group.contacts.append(Contact(phone="995599445448", fields={"name": "Nino"}))
        db.session.add(group)
        db.session.commit()
        group_id = group.id
    headers = {"Idempotency-Key": "campaign-1"}
    body = {"name": "Reminder", "text": "Hi {name}", "group_id": group_id}
    first = api("post", "/campaigns", json=body, headers=headers).get_json()
    again = api("post", "/campaigns", json=body, headers=headers)
    assert again.get_json()["id"] == first["id"] and again.headers["Idempotent-Replayed"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Campaign.id))) == 1
    assert_problem(api("post", "/campaigns", json={**body, "group_id": 999}), 404)
    both = api("post", "/campaigns", json={**body, "recipients": [{"phone": "599445448"}]})
    assert_problem(both, 422)


def test_a_campaign_with_a_refused_number_sends_nothing(app, api):
    reply = api("post", "/campaigns", json={"name": "x", "text": "Hi",
                                            "recipients": [{"phone": "599445448"},
                                                           {"phone": "nope"}]})
    assert assert_problem(reply, 422)["errors"][0]["pointer"] == "/recipients/1"
    assert messages(app) == []


# -- balance and text --------------------------------------------------------------------------


def test_balance_and_text_analysis(app, api):
    from decimal import Decimal

    from smsco.web.models import BalanceSnapshot

    assert api("get", "/balance").get_json()["balance"] is None
    with app.app_context():
        db.session.add(BalanceSnapshot(balance=Decimal("3.50"), at=utcnow()))
        db.session.commit()
    balance = api("get", "/balance").get_json()
    assert balance["balance"] == "3.50" and balance["low"] is True
    analysis = api("post", "/text/analyze", json={"text": "Გამარჯობა!"}).get_json()
    assert analysis["needs_transliteration"] and analysis["refused"][-1] == {
        "position": 10, "character": "!"}
    assert analysis["transliterated"] == "Gamarjoba."


# -- errors, limits, CSRF ------------------------------------------------------------------------


def test_errors_are_never_html(api, web):
    assert_problem(api("post", "/messages", data="{", content_type="application/json"), 400)
    assert_problem(api("post", "/messages", data="recipients=1",
                       content_type="application/x-www-form-urlencoded"), 415)
    wrong = api("put", "/messages", json={})
    assert_problem(wrong, 405)
    assert "POST" in wrong.headers["Allow"]
    assert_problem(web.get("/api/v1/messages"), 401)


def test_an_unexpected_failure_is_a_500_problem_without_details(app, api, monkeypatch):
    from smsco.web.api import services

    def broken():
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "balance", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    reply = api("get", "/balance")
    assert assert_problem(reply, 500)
    assert "secret internals" not in reply.get_data(as_text=True)


def test_rate_limit_per_key_with_headers(gateway, tmp_path):
    from smsco.web import create_app
    from smsco.web.api.keys import create_key

    from .conftest import GATEWAY_PASSWORD, GATEWAY_USER, database_url

    app = create_app({"TESTING": True, "SECRET_KEY": "k", "SMSCO_USERNAME": GATEWAY_USER,
                      "SMSCO_PASSWORD": GATEWAY_PASSWORD, "SMSCO_BASE_URL": gateway.url,
                      "SMSCO_DEMO": False, "SMSCO_SCHEDULER": False,
                      "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
                      "RATELIMIT_ENABLED": True, "SMSCO_API_RATE_LIMIT": "3 per minute"})
    with app.app_context():
        db.drop_all()
        db.create_all()
        user = User(username="admin", role="admin", password_hash="x")
        db.session.add(user)
        db.session.commit()
        one, two = create_key("a", user, user).secret, create_key("b", user, user).secret
    client = app.test_client()
    replies = [client.get("/api/v1/balance", headers={"Authorization": f"Bearer {one}"})
               for _ in range(4)]
    assert [r.status_code for r in replies] == [200, 200, 200, 429]
    assert [r.headers["RateLimit-Remaining"] for r in replies[:3]] == ["2", "1", "0"]
    assert replies[0].headers["RateLimit-Limit"] == "3"
    assert_problem(replies[3], 429)
    assert int(replies[3].headers["Retry-After"]) >= 1
    other = client.get("/api/v1/balance", headers={"Authorization": f"Bearer {two}"})
    assert other.status_code == 200  # per key, not per address
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_csrf_stays_on_for_forms_while_the_api_takes_no_cookies(app, api, logged_in):
    app.config["WTF_CSRF_ENABLED"] = True
    assert send(api).status_code == 202
    form = logged_in.post("/compose", data={"recipients": "599445448", "message": "Hi"})
    assert form.status_code == 400
    assert len(messages(app)) == 1


def test_a_session_cookie_does_not_authenticate_the_api(logged_in):
    assert_problem(logged_in.get("/api/v1/balance"), 401)
