"""Delivery webhooks: events become signed POSTs, in order per message, retried, never blocking."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from smsco import DeliveryStatus
from smsco.web.api import webhooks
from smsco.web.extensions import db
from smsco.web.models import (
    ApiKey,
    Message,
    MessageEvent,
    State,
    User,
    WebhookAttempt,
    WebhookDelivery,
    utcnow,
)


class Receiver:
    """A local HTTP server that records POSTs and answers ``status`` (after ``delay`` s)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, bytes]] = []
        self.status, self.delay = 200, 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/events"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def events(self) -> list[dict]:
        return [json.loads(body) for _headers, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def hooked_key(app, users, receiver):
    """The operator's key with the receiver as its webhook: ``(key id, secret, signing secret)``."""
    from smsco.web.api.keys import create_key

    with app.app_context():
        olga = db.session.get(User, users["olga"])
        new = create_key("Booking", olga, olga, webhook_url=receiver.url)
        return new.key.id, new.secret, new.key.webhook_secret


def send(web, secret, numbers=("599445448",)):
    reply = web.post("/api/v1/messages", json={"recipients": list(numbers), "text": "Hello"},
                     headers={"Authorization": f"Bearer {secret}"})
    assert reply.status_code == 202
    return [m["id"] for m in reply.get_json()["messages"]]


def add_event(message_id: int, state: str, event_id: int | None = None, age: float = 0) -> int:
    event = MessageEvent(message_id=message_id, state=state, detail=f"test {state}",
                         at=utcnow() - timedelta(seconds=age))
    if event_id is not None:
        event.id = event_id
    db.session.add(event)
    db.session.commit()
    return event.id


def deliveries() -> list[WebhookDelivery]:
    return list(db.session.scalars(db.select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_sent_and_delivered_become_signed_posts_in_order(app, web, hooked_key, receiver):
    from smsco.web.sending.dispatch import dispatch_due_messages
    from smsco.web.sending.jobs import apply_gateway_status

    _key_id, secret, signing = hooked_key
    [message_id] = send(web, secret)
    with app.app_context():
        dispatch_due_messages()
        apply_gateway_status(db.session.get(Message, message_id), DeliveryStatus.DELIVERED)
        webhooks.run_webhooks()
    events = receiver.events()
    assert [e["type"] for e in events] == ["message.sent", "message.delivered"]
    assert events[1]["data"]["message"]["id"] == message_id
    assert events[1]["data"]["message"]["state"] == "delivered"
    for headers, body in receiver.received:
        assert headers["Smsco-Event-Id"] == json.loads(body)["id"]
        assert webhooks.verify(signing, headers["Smsco-Signature"], body)
        assert not webhooks.verify("whsec_wrong", headers["Smsco-Signature"], body)
        assert not webhooks.verify(signing, headers["Smsco-Signature"], body + b" ")
    with app.app_context():
        webhooks.run_webhooks()  # nothing new: nothing sent twice
        assert {d.state for d in deliveries()} == {WebhookDelivery.DELIVERED}
    assert len(receiver.received) == 2


def test_the_replay_window_is_five_minutes(hooked_key):
    signing = hooked_key[2]
    now = time.time()
    old = webhooks.sign(signing, int(now) - 301, b"{}")
    assert not webhooks.verify(signing, old, b"{}", now=now)
    assert webhooks.verify(signing, webhooks.sign(signing, int(now) - 299, b"{}"), b"{}", now=now)


def test_messages_without_a_webhook_and_other_states_make_no_deliveries(app, web, hooked_key,
                                                                      api_keys_plain):
    [plain] = send(web, api_keys_plain)
    [hooked] = send(web, hooked_key[1])
    with app.app_context():
        add_event(plain, State.SENT)
        add_event(hooked, State.SENDING)
        add_event(hooked, None)
        add_event(hooked, State.CANCELED)
        webhooks.collect_events()
        assert [d.event_type for d in deliveries()] == ["message.canceled"]


@pytest.fixture
def api_keys_plain(app, users):
    from smsco.web.api.keys import create_key

    with app.app_context():
        admin = db.session.get(User, users["admin"])
        return create_key("No webhook", admin, admin).secret


def test_an_event_committed_late_with_a_lower_id_is_still_delivered_once(app, web, hooked_key):
    [message_id] = send(web, hooked_key[1])
    with app.app_context():
        add_event(message_id, State.SENT, event_id=1000)
        webhooks.collect_events()
        # A transaction that took id 900 before 1000 commits only now.
        add_event(message_id, State.DELIVERED, event_id=900)
        webhooks.collect_events()
        webhooks.collect_events()
        assert sorted(d.source_event_id for d in deliveries()) == [900, 1000]


def test_the_floor_trails_by_the_look_back_window_and_moves_on(app, web, hooked_key):
    from smsco.web.models import Setting

    [message_id] = send(web, hooked_key[1])
    with app.app_context():
        settled = add_event(message_id, State.SENT, age=120)
        fresh = add_event(message_id, State.DELIVERED)
        webhooks.collect_events()
        floor = int(db.session.get(Setting, webhooks.FLOOR_SETTING).value)
        assert settled <= floor < fresh
        assert len(deliveries()) >= 1


def test_a_failing_receiver_is_retried_with_backoff_and_holds_later_events(app, web, hooked_key,
                                                                           receiver):
    [message_id] = send(web, hooked_key[1])
    receiver.status = 500
    with app.app_context():
        add_event(message_id, State.SENT)
        add_event(message_id, State.DELIVERED)
        webhooks.run_webhooks()
        first, second = deliveries()
        assert first.attempts == 1 and first.last_status == 500
        assert first.next_attempt_at > utcnow() + timedelta(seconds=5)
        assert second.attempts == 0  # waits behind the first of the same message
        receiver.status = 200
        first.next_attempt_at = utcnow()
        db.session.commit()
        webhooks.run_webhooks()
        webhooks.run_webhooks()
        assert [d.state for d in deliveries()] == [WebhookDelivery.DELIVERED] * 2
    assert [e["type"] for e in receiver.events()] == ["message.sent", "message.sent",
                                                      "message.delivered"]


def test_after_24_hours_a_delivery_is_given_up(app, web, hooked_key, receiver):
    [message_id] = send(web, hooked_key[1])
    receiver.status = 503
    with app.app_context():
        add_event(message_id, State.FAILED)
        webhooks.collect_events()
        [delivery] = deliveries()
        delivery.created_at = utcnow() - timedelta(hours=25)
        db.session.commit()
        webhooks.deliver_due()
        assert deliveries()[0].state == WebhookDelivery.FAILED


def test_a_dead_endpoint_costs_one_attempt_per_run(app, web, hooked_key, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    ids = send(web, hooked_key[1], numbers=("599445448", "555123456", "577123456"))
    with app.app_context():
        db.session.get(ApiKey, hooked_key[0]).webhook_url = f"http://127.0.0.1:{closed}/x"
        db.session.commit()
        for message_id in ids:
            add_event(message_id, State.SENT)
        monkeypatch.setattr(webhooks, "POOL_SIZE", 1)
        webhooks.run_webhooks()
        assert db.session.scalar(db.select(db.func.count(WebhookAttempt.id))) == 1
        assert {d.state for d in deliveries()} == {WebhookDelivery.PENDING}
        assert all(d.next_attempt_at > utcnow() for d in deliveries())


def test_a_finished_campaign_sends_one_completion_event(app, web, hooked_key, receiver):
    reply = web.post("/api/v1/campaigns", headers={"Authorization": f"Bearer {hooked_key[1]}"},
                     json={"name": "Jan", "text": "Hi", "transactional": True,
                           "recipients": [{"phone": "599445448"}, {"phone": "555123456"}]})
    campaign_id = reply.get_json()["id"]
    with app.app_context():
        webhooks.run_webhooks()
        assert receiver.events() == []  # still queued
    web.post(f"/api/v1/campaigns/{campaign_id}/cancel",
             headers={"Authorization": f"Bearer {hooked_key[1]}"})
    with app.app_context():
        webhooks.run_webhooks()
        webhooks.run_webhooks()
    types = [e["type"] for e in receiver.events()]
    assert types.count("message.canceled") == 2 and types.count("campaign.completed") == 1
    completed = next(e for e in receiver.events() if e["type"] == "campaign.completed")
    assert completed["data"]["campaign"]["counts"] == {"canceled": 2}


def test_administrators_resend_from_the_log_and_the_api(app, web, hooked_key, receiver,
                                                        logged_in, api_keys_plain):
    [message_id] = send(web, hooked_key[1])
    with app.app_context():
        add_event(message_id, State.SENT)
        webhooks.run_webhooks()
        [delivery] = deliveries()
    page = logged_in.get("/webhooks").get_data(as_text=True)
    assert delivery.event_id in page and "HTTP 200" in page
    logged_in.post(f"/webhooks/{delivery.id}/resend")
    reply = web.post(f"/api/v1/webhooks/deliveries/{delivery.id}/resend",
                     headers={"Authorization": f"Bearer {api_keys_plain}"})
    assert reply.status_code == 200 and reply.get_json()["state"] == "pending"
    with app.app_context():
        webhooks.run_webhooks()
    assert [e["id"] for e in receiver.events()] == [delivery.event_id] * 2
    listed = web.get("/api/v1/webhooks/deliveries",
                     headers={"Authorization": f"Bearer {api_keys_plain}"}).get_json()
    assert len(listed["deliveries"][0]["attempts"]) == 2


def test_operators_cannot_resend(app, web, users):
    with web.session_transaction() as session:
        session["_user_id"] = str(users["olga"])
    assert web.post("/webhooks/1/resend").status_code == 403


def test_a_hanging_webhook_never_slows_sending(live_app, web, hooked_key, receiver, monkeypatch):
    """Messages go out at the dispatcher's pace while every webhook POST hangs."""
    monkeypatch.setattr(webhooks, "TIMEOUT", (1, 1.5))
    live_app.config["SMSCO_WEBHOOK_INTERVAL"] = 0.5
    receiver.delay = 3
    ids = send(web, hooked_key[1], numbers=("599445448", "555123456", "577123456"))
    started = time.monotonic()
    deadline = started + 20
    with live_app.app_context():
        while time.monotonic() < deadline:
            db.session.expire_all()
            states = {db.session.get(Message, i).state for i in ids}
            if states <= {State.SENT, State.DELIVERED}:
                break
            time.sleep(0.1)
        sent_after = time.monotonic() - started
        assert states <= {State.SENT, State.DELIVERED}
    assert sent_after < 5


def test_end_to_end_a_local_receiver_gets_sent_and_delivered(live_app, web, hooked_key,
                                                             receiver):
    live_app.config["SMSCO_WEBHOOK_INTERVAL"] = 0.5
    [message_id] = send(web, hooked_key[1])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        types = [e["type"] for e in receiver.events()]
        if "message.delivered" in types:
            break
        time.sleep(0.1)
    assert types[:2] == ["message.sent", "message.delivered"]
    for headers, body in receiver.received:
        assert webhooks.verify(hooked_key[2], headers["Smsco-Signature"], body)
    assert receiver.events()[0]["data"]["message"]["id"] == message_id
