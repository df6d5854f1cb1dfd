"""The gateway simulator, driven with raw HTTP on a free loopback port."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from smsco import DeliveryStatus
from smsco.simulator import (
    FAILURE_OUTCOMES,
    GATEWAY_TIMEZONE,
    SEND_PATH,
    STATUS_PATH,
    ManualClock,
    Simulator,
)

DELIVERED, SENT, IN_PROCESS = (
    DeliveryStatus.DELIVERED,
    DeliveryStatus.SENT,
    DeliveryStatus.IN_PROCESS,
)

USER = "tester"
PASSWORD = "Sim-Pa55word-QX"
CREDENTIALS = {"username": USER, "password": PASSWORD}
NUMBER = "995599445448"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def simulator(clock):
    """A simulator on a manual clock; every message is delivered unless a test says so."""
    return Simulator(USER, PASSWORD, Decimal("100"), seed=0, clock=clock, failure_rate=0.0)


@pytest.fixture
def gateway(simulator):
    """The simulator over real HTTP; ``gateway.url`` is the base URL."""
    with simulator.serve(host="127.0.0.1", port=0) as server:
        yield server


def get(gateway, path: str, timeout: float = 5.0, **params) -> requests.Response:
    return requests.get(gateway.url + path, params=params, timeout=timeout)


def send(gateway, **params) -> str:
    """A send call with valid credentials, recipient and message unless overridden."""
    full = {**CREDENTIALS, "recipient": NUMBER, "message": "Hello", **params}
    return get(gateway, SEND_PATH, **full).text


def status(gateway, mes_id) -> str:
    return get(gateway, STATUS_PATH, **CREDENTIALS, mes_id=str(mes_id)).text


def balance(gateway) -> str:
    return get(gateway, SEND_PATH, **CREDENTIALS, balance="true").text


def mes_id_of(reply: str) -> int:
    assert re.fullmatch(r"OK \d+ \d+", reply), reply
    return int(reply.split()[2])


def gateway_time(clock, offset: float) -> str:
    """A ``schedule`` value ``offset`` seconds from the clock's now, in Tbilisi time."""
    moment = datetime.fromtimestamp(clock.now + offset, GATEWAY_TIMEZONE)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


# -- validation and its order ----------------------------------------------------------

SEND_ERRORS = [
    ("username missing", {"username": None}, "2910"),
    ("username empty", {"username": ""}, "2910"),
    ("username before password", {"username": "", "password": ""}, "2910"),
    ("password empty", {"password": ""}, "2911"),
    ("wrong password", {"password": "nope"}, "2905"),
    ("wrong username", {"username": "other"}, "2905"),
    ("auth before recipient", {"password": "nope", "recipient": ""}, "2905"),
    ("recipient empty", {"recipient": ""}, "2912"),
    ("recipient before message", {"recipient": "", "message": ""}, "2912"),
    ("message empty", {"message": ""}, "2913"),
    ("message blank", {"message": "   "}, "2913"),
    ("empty message before bad recipient", {"message": "", "recipient": "abc"}, "2913"),
    ("forbidden character", {"message": "Hello!"}, "2904"),
    ("Georgian letters", {"message": "გამარჯობა"}, "2904"),
    ("sender of 12", {"sender": "ABCDEFGHIJKL"}, "2904"),
    ("sender with a space", {"sender": "My Shop"}, "2904"),
    ("sender with a dash", {"sender": "My-Shop"}, "2904"),
    ("schedule without seconds", {"schedule": "2030-01-01 12:00"}, "2908"),
    ("schedule with a T", {"schedule": "2030-01-01T12:00:00"}, "2908"),
    ("impossible date", {"schedule": "2030-02-30 12:00:00"}, "2908"),
    ("schedule in the past", {"schedule": "2020-01-01 12:00:00"}, "2909"),
    ("sender before schedule", {"sender": "ABCDEFGHIJKL", "schedule": "x"}, "2904"),
    ("schedule before recipients", {"schedule": "x", "recipient": "abc"}, "2908"),
    ("no valid recipient", {"recipient": "abc,123"}, "2904"),
    ("no country code", {"recipient": "599445448"}, "2904"),
    ("plus sign", {"recipient": "+995599445448"}, "2904"),
    ("not a real number", {"recipient": "995000000000"}, "2904"),
]


@pytest.mark.parametrize(
    ("params", "reply"), [case[1:] for case in SEND_ERRORS], ids=[case[0] for case in SEND_ERRORS]
)
def test_send_errors_come_in_the_gateways_order(gateway, params, reply):
    assert send(gateway, **params) == reply
    assert gateway.simulator.messages == {}
    assert gateway.simulator.balance == Decimal("100.00")


@pytest.mark.parametrize(
    "params",
    [{"sender": "ABCDEFGHIJK"}, {"sender": ""}, {"schedule": ""}, {"message": 'a.b_c-d "e" 9'}],
    ids=["sender of 11", "empty sender", "empty schedule", "every allowed symbol"],
)
def test_valid_variants_are_accepted(gateway, params):
    assert send(gateway, **params).startswith("OK ")


def test_required_sender_knob_gives_2914(gateway):
    gateway.simulator.configure(require_sender=True)
    assert send(gateway) == "2914"
    assert send(gateway, sender="Shop1").startswith("OK ")


def test_validation_comes_before_the_credit_check(gateway):
    gateway.simulator.set_balance(Decimal("0"))
    assert send(gateway, message="Hi!") == "2904"
    assert send(gateway, recipient="12345") == "2904"
    assert send(gateway) == "2906"


STATUS_ERRORS = [
    ("username empty", {"username": ""}, "2910"),
    ("password empty", {"password": ""}, "2911"),
    ("wrong password", {"password": "nope"}, "2905"),
    ("auth before mes_id", {"password": "nope", "mes_id": ""}, "2905"),
    ("mes_id empty", {"mes_id": ""}, "2915"),
    ("mes_id missing", {"mes_id": None}, "2915"),
    ("unknown mes_id", {"mes_id": "999999"}, "2904"),
    ("mes_id not a number", {"mes_id": "abc"}, "2904"),
]


@pytest.mark.parametrize(
    ("params", "reply"),
    [case[1:] for case in STATUS_ERRORS],
    ids=[case[0] for case in STATUS_ERRORS],
)
def test_status_errors(gateway, params, reply):
    assert get(gateway, STATUS_PATH, **{**CREDENTIALS, "mes_id": "1000", **params}).text == reply


def test_balance_needs_the_right_password(gateway):
    assert get(gateway, SEND_PATH, username=USER, password="nope", balance="true").text == "2905"
    assert get(gateway, SEND_PATH, username=USER, balance="true").text == "2911"


def test_unknown_paths_are_404_and_post_is_405(gateway):
    assert get(gateway, "/components/com_smsreseller/other.php", **CREDENTIALS).status_code == 404
    assert get(gateway, "/").status_code == 404
    assert requests.post(gateway.url + SEND_PATH, data=CREDENTIALS, timeout=5).status_code == 405


# -- replies and credit ----------------------------------------------------------------


@pytest.mark.parametrize(("length", "credits"), [(1, 5), (160, 5), (161, 10), (306, 10), (307, 15)])
def test_ok_reply_and_credits_per_part(gateway, length, credits):
    reply = send(gateway, message="a" * length)
    assert reply == f"OK {credits} 1000"
    assert gateway.simulator.balance == Decimal("100") - Decimal(credits) / 100
    assert balance(gateway) == f"{Decimal('100') - Decimal(credits) / 100:.2f}"


def test_several_recipients_share_one_mes_id_and_pay_each(gateway):
    recipients = "995599445448,995599445449, 995555123456"
    assert send(gateway, recipient=recipients, message="b" * 161) == "OK 30 1000"
    message = gateway.simulator.messages[1000]
    assert message.recipients == ("995599445448", "995599445449", "995555123456")
    assert balance(gateway) == "99.70"


def test_invalid_recipients_are_not_charged(gateway):
    assert send(gateway, recipient="995599445448,12345,abc,995555123456") == "OK 10 1000"
    message = gateway.simulator.messages[1000]
    assert message.rejected == ("12345", "abc")
    assert gateway.simulator.sent_counts == {"995599445448": 1, "995555123456": 1}


def test_sent_counts_per_recipient(gateway):
    send(gateway)
    send(gateway, recipient=f"{NUMBER},995555123456")
    assert gateway.simulator.sent_counts == {NUMBER: 2, "995555123456": 1}


def test_balance_is_reported_in_lari_with_two_decimals(gateway):
    assert balance(gateway) == "100.00"
    gateway.simulator.set_balance(Decimal("1.5"))
    assert balance(gateway) == "1.50"
    assert gateway.simulator.balance == Decimal("1.50")


def test_short_credit_is_2906_and_nothing_is_charged(gateway):
    sim = gateway.simulator
    sim.set_balance(Decimal("0.09"))
    assert send(gateway, recipient=f"{NUMBER},995555123456") == "2906"  # needs 0.10
    assert sim.balance == Decimal("0.09") and sim.messages == {} and sim.sent_counts == {}
    assert send(gateway) == "OK 5 1000"
    assert send(gateway) == "2906"
    assert balance(gateway) == "0.04"
    sim.set_balance(Decimal("0.05"))
    assert send(gateway) == "OK 5 1001"  # exactly enough
    assert balance(gateway) == "0.00"


def test_mes_ids_are_unique_and_increasing_from_the_first(clock):
    sim = Simulator(USER, PASSWORD, first_mes_id=7, clock=clock)
    with sim.serve() as server:
        ids = [mes_id_of(send(server)) for _ in range(3)]
    assert ids == [7, 8, 9]


def test_concurrent_sends_get_distinct_ids_and_exact_charges(gateway):
    def send_many(results: list[str]) -> None:
        with requests.Session() as session:
            params = {**CREDENTIALS, "recipient": NUMBER, "message": "Hi"}
            for _ in range(20):
                results.append(session.get(gateway.url + SEND_PATH, params=params).text)

    results: list[str] = []
    threads = [threading.Thread(target=send_many, args=(results,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(mes_id_of(reply) for reply in results) == list(range(1000, 1120))
    assert gateway.simulator.balance == Decimal("94.00")


# -- schedule and status ---------------------------------------------------------------


def test_status_moves_in_process_sent_delivered_on_the_clock(gateway, clock):
    mes_id = mes_id_of(send(gateway))
    assert status(gateway, mes_id) == str(int(IN_PROCESS))
    clock.advance(0.99)
    assert status(gateway, mes_id) == str(int(IN_PROCESS))
    clock.advance(0.01)
    assert status(gateway, mes_id) == str(int(SENT))
    clock.advance(2.0)
    assert status(gateway, mes_id) == str(int(DELIVERED))


def test_delays_are_knobs(gateway, clock):
    gateway.simulator.configure(sent_after=10, final_after=20)
    mes_id = mes_id_of(send(gateway))
    clock.advance(15)
    assert status(gateway, mes_id) == str(int(SENT))
    clock.advance(5)
    assert status(gateway, mes_id) == str(int(DELIVERED))


def test_scheduled_message_stays_in_process_until_its_time(gateway, clock):
    mes_id = mes_id_of(send(gateway, schedule=gateway_time(clock, 3600)))
    assert gateway.simulator.messages[mes_id].schedule == gateway_time(clock, 3600)
    clock.advance(3600)
    assert status(gateway, mes_id) == str(int(IN_PROCESS))
    clock.advance(1)
    assert status(gateway, mes_id) == str(int(SENT))
    clock.advance(2)
    assert status(gateway, mes_id) == str(int(DELIVERED))


def test_schedule_in_the_current_second_is_not_past(gateway, clock):
    clock.advance(0.7)
    assert send(gateway, schedule=gateway_time(clock, 0)).startswith("OK ")
    assert send(gateway, schedule=gateway_time(clock, -1)) == "2909"


def test_forced_status_wins_over_the_clock(gateway, clock):
    mes_id = mes_id_of(send(gateway))
    gateway.simulator.set_status(mes_id, 7)
    clock.advance(100)
    assert status(gateway, mes_id) == "7"
    gateway.simulator.set_status(mes_id, None)
    assert status(gateway, mes_id) == str(int(DELIVERED))
    with pytest.raises(ValueError):
        gateway.simulator.set_status(mes_id, 8)


def final_statuses(seed: int, failure_rate: float, count: int = 40) -> list[int]:
    """Send ``count`` messages to a fresh simulator and read their final statuses."""
    clock = ManualClock()
    sim = Simulator(USER, PASSWORD, seed=seed, clock=clock, failure_rate=failure_rate)
    with sim.serve() as server, requests.Session() as session:
        params = {**CREDENTIALS, "recipient": NUMBER, "message": "Hi"}
        ids = [
            mes_id_of(session.get(server.url + SEND_PATH, params=params).text) for _ in range(count)
        ]
        clock.advance(60)
        replies = [
            session.get(server.url + STATUS_PATH, params={**CREDENTIALS, "mes_id": i}) for i in ids
        ]
    return [int(reply.text) for reply in replies]


def test_outcomes_are_decided_by_the_seed():
    first = final_statuses(seed=3, failure_rate=0.5)
    assert first == final_statuses(seed=3, failure_rate=0.5)
    assert first != final_statuses(seed=4, failure_rate=0.5)
    assert DELIVERED in first and set(first) - {DELIVERED} <= set(FAILURE_OUTCOMES)


def test_failure_rate_one_means_no_delivery_and_zero_means_all():
    failed = final_statuses(seed=0, failure_rate=1.0)
    assert set(failed) <= set(FAILURE_OUTCOMES) and len(set(failed)) == 3
    assert set(final_statuses(seed=0, failure_rate=0.0)) == {DELIVERED}


# -- faults ----------------------------------------------------------------------------


def assert_nothing_charged(sim: Simulator) -> None:
    assert sim.balance == Decimal("100.00") and sim.messages == {}


def test_unavailable_replies_2907_and_charges_nothing(gateway):
    gateway.simulator.configure(unavailable_rate=1.0)
    response = get(gateway, SEND_PATH, **CREDENTIALS, recipient=NUMBER, message="Hi")
    assert (response.status_code, response.text) == (200, "2907")
    assert balance(gateway) == "2907"
    assert_nothing_charged(gateway.simulator)
    assert gateway.simulator.requests[-1].fault == "unavailable"


def test_http_500_has_an_html_body(gateway):
    gateway.simulator.configure(http_500_rate=1.0)
    response = get(gateway, SEND_PATH, **CREDENTIALS, recipient=NUMBER, message="Hi")
    assert response.status_code == 500 and "<html>" in response.text
    assert_nothing_charged(gateway.simulator)


def test_garbage_is_http_200_with_an_unparseable_body(gateway):
    gateway.simulator.configure(garbage_rate=1.0)
    response = get(gateway, STATUS_PATH, **CREDENTIALS, mes_id="1000")
    assert response.status_code == 200 and response.text.startswith("<html>")


def test_dropped_request_is_a_connection_error(gateway):
    gateway.simulator.configure(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        send(gateway)
    assert_nothing_charged(gateway.simulator)
    logged = gateway.simulator.requests[-1]
    assert (logged.fault, logged.reply, logged.http_status) == ("drop", None, None)


def test_hang_trips_a_client_timeout_and_ends_at_shutdown(simulator):
    simulator.configure(hang_rate=1.0, hang_seconds=30)
    server = simulator.serve()
    with pytest.raises(requests.Timeout):
        send(server, timeout=0.2)
    started = time.monotonic()
    server.shutdown()
    assert time.monotonic() - started < 2
    assert simulator.messages == {}  # aborted by the shutdown, never answered


def test_a_hang_that_runs_its_course_is_answered_late(gateway):
    gateway.simulator.configure(hang_rate=1.0, hang_seconds=0.3)
    started = time.monotonic()
    assert send(gateway) == "OK 5 1000"
    assert time.monotonic() - started >= 0.3


def test_a_hang_does_not_block_other_connections(gateway):
    gateway.simulator.configure(hang_rate=1.0, hang_seconds=30)
    outcome: list[BaseException] = []

    def hung_send() -> None:
        try:
            send(gateway, timeout=1.0)
        except requests.Timeout as error:
            outcome.append(error)

    thread = threading.Thread(target=hung_send)
    thread.start()
    time.sleep(0.2)  # let that request reach its hang
    gateway.simulator.configure(hang_rate=0.0)
    started = time.monotonic()
    assert balance(gateway) == "100.00"
    assert time.monotonic() - started < 0.5
    thread.join()
    assert len(outcome) == 1


def test_latency_delays_every_reply(gateway):
    gateway.simulator.configure(latency=0.2)
    started = time.monotonic()
    assert balance(gateway) == "100.00"
    assert time.monotonic() - started >= 0.2


def test_fault_rates_are_shares(gateway):
    gateway.simulator.configure(unavailable_rate=0.5)
    with requests.Session() as session:
        params = {**CREDENTIALS, "balance": "true"}
        replies = [session.get(gateway.url + SEND_PATH, params=params).text for _ in range(200)]
    assert 60 < replies.count("2907") < 140
    assert set(replies) == {"2907", "100.00"}


def test_knobs_are_checked():
    sim = Simulator()
    with pytest.raises(ValueError, match="between 0 and 1"):
        sim.configure(drop_rate=1.5)
    with pytest.raises(ValueError, match="non-negative"):
        sim.configure(latency=-1)
    with pytest.raises(TypeError):
        sim.configure(no_such_knob=1)
    assert sim.knobs.drop_rate == 0.0


# -- serving, log, control endpoint ----------------------------------------------------


def test_keep_alive_reuses_one_connection(gateway):
    with requests.Session() as session:
        for _ in range(5):
            reply = session.get(gateway.url + SEND_PATH, params={**CREDENTIALS, "balance": "true"})
            assert reply.text == "100.00"
            assert reply.headers["Content-Length"] == "6"
    assert gateway.connections_opened == 1


def test_shutdown_ends_idle_keep_alive_connections(simulator):
    threads_before = threading.active_count()
    with requests.Session() as session:
        server = simulator.serve()
        session.get(server.url + SEND_PATH, params={**CREDENTIALS, "balance": "true"})
        server.shutdown()  # while the session still holds its connection open
        deadline = time.monotonic() + 2
        while threading.active_count() > threads_before and time.monotonic() < deadline:
            time.sleep(0.01)
        assert threading.active_count() == threads_before


def test_request_log_has_parameters_and_replies_but_no_password(gateway, clock):
    schedule = gateway_time(clock, 60)
    send(gateway, sender="Shop1", schedule=schedule)
    balance(gateway)
    sim = gateway.simulator
    first, second = sim.requests
    assert (first.path, first.recipient, first.message) == (SEND_PATH, NUMBER, "Hello")
    assert (first.sender, first.schedule, first.reply, first.fault) == (
        "Shop1",
        schedule,
        "OK 5 1000",
        None,
    )
    assert first.params["username"] == USER and "password" not in first.params
    assert (second.params["balance"], second.reply, second.http_status) == ("true", "99.95", 200)
    everything = repr(sim.requests) + repr(sim) + repr(sim.state()) + repr(sim.messages)
    assert PASSWORD not in everything


def test_control_endpoint_shows_and_changes_state(gateway):
    url = gateway.url + "/_simulator/"
    state = requests.get(url + "state", timeout=5).json()
    assert state["balance"] == "100.00" and state["knobs"]["failure_rate"] == 0.0
    changed = requests.post(
        url + "config", json={"balance": "7.5", "unavailable_rate": 1}, timeout=5
    ).json()
    assert changed["balance"] == "7.50" and changed["knobs"]["unavailable_rate"] == 1.0
    assert balance(gateway) == "2907"
    requests.get(url + "config", params={"unavailable_rate": "0"}, timeout=5)
    mes_id = mes_id_of(send(gateway))
    requests.post(url + "set-status", data={"mes_id": mes_id, "status": 6}, timeout=5)
    assert status(gateway, mes_id) == "6"
    messages = requests.get(url + "messages", timeout=5).json()
    assert [(m["mes_id"], m["status"], m["credits"]) for m in messages] == [(mes_id, 6, 5)]


@pytest.mark.parametrize("params", [{"drop_rate": "2"}, {"no_such_knob": "1"}, {"balance": "lots"}])
def test_control_endpoint_refuses_bad_values(gateway, params):
    response = requests.get(gateway.url + "/_simulator/config", params=params, timeout=5)
    assert response.status_code == 400 and "error" in response.json()
    assert gateway.simulator.balance == Decimal("100.00")
    assert gateway.simulator.knobs.drop_rate == 0.0


def test_command_line_serves_until_interrupted():
    command = [
        sys.executable,
        "-m",
        "smsco.simulator",
        "--port",
        "0",
        "--username",
        "cli",
        "--password",
        PASSWORD,
        "--balance",
        "12.5",
        "--failure-rate",
        "0.2",
    ]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) as process:
        try:
            line = process.stdout.readline()
            url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
            assert PASSWORD not in line
            params = {"username": "cli", "password": PASSWORD, "balance": "true"}
            assert requests.get(url + SEND_PATH, params=params, timeout=30).text == "12.50"
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 0
        finally:
            process.kill()
