"""The client against the simulator and a scripted server, over real HTTP."""

from __future__ import annotations

import time
import traceback
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from smsco import (
    AmbiguousSend,
    AuthError,
    Client,
    CreditExhausted,
    DeliveryStatus,
    GatewayUnavailable,
    InvalidRequest,
    ProtocolError,
    RequestRefused,
    ScheduleError,
    SendFailed,
    SendResult,
    SmscoError,
    TransportError,
    ValidationError,
)
from smsco.client import SEND_PATH, STATUS_PATH, format_schedule
from smsco.simulator import Simulator

from .conftest import GATEWAY_PASSWORD, GATEWAY_USER

TBILISI = ZoneInfo("Asia/Tbilisi")


def last_params(sim) -> dict[str, str]:
    return sim.requests[-1].params


# -- sending ---------------------------------------------------------------


def test_send_returns_credits_and_message_id(client, gateway):
    result = client.send("599 44 54 48", "Hello from Tbilisi")
    assert isinstance(result, SendResult)
    assert result.credits == 5
    assert result.message_id.isdigit()
    params = last_params(gateway.simulator)
    assert params["recipient"] == "995599445448"
    assert params["message"] == "Hello from Tbilisi"
    assert params["username"] == GATEWAY_USER
    assert "sender" not in params and "schedule" not in params


def test_send_joins_normalized_recipients_and_drops_duplicates(client, gateway):
    result = client.send(["599445448", "+995 599 44 54 48", "0555123456"], "Hi", sender="Brand1")
    params = last_params(gateway.simulator)
    assert params["recipient"] == "995599445448,995555123456"
    assert params["sender"] == "Brand1"
    assert result.credits == 10


def test_send_sends_exactly_the_documented_request(scripted):
    scripted.reply = "OK 4 123"
    with Client("u", "p", base_url=scripted.url) as c:
        assert c.send("599445448", "test") == SendResult(credits=4, message_id="123")
    path, params = scripted.requests[-1]
    assert path == SEND_PATH
    assert params == {"username": "u", "password": "p", "recipient": "995599445448",
                      "message": "test"}


def test_message_ids_are_unique_and_increasing(client):
    ids = [int(client.send("599445448", f"n {i}").message_id) for i in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5


def test_long_message_costs_per_part(client):
    assert client.send("599445448", "a" * 160).credits == 5
    assert client.send("599445448", "a" * 161).credits == 10


@pytest.mark.parametrize(
    ("recipients", "bad"),
    [("599445448, 12345", ["12345"]), ("abc\n599445448\n0000", ["abc", "0000"])],
)
def test_invalid_numbers_are_named_and_nothing_is_sent(client, gateway, recipients, bad):
    with pytest.raises(ValidationError) as info:
        client.send(recipients, "Hi")
    assert info.value.problems == bad
    for number in bad:
        assert number in str(info.value)
    assert gateway.simulator.requests == []


def test_invalid_characters_are_listed_with_positions(client, gateway):
    with pytest.raises(ValidationError) as info:
        client.send("599445448", "Hi, there!")
    assert info.value.problems == ["',' at position 3", "'!' at position 10"]
    assert gateway.simulator.requests == []


@pytest.mark.parametrize("sender", ["TooLongSender", "Bad-Name", "ბრენდი"])
def test_bad_sender_is_refused_locally(client, gateway, sender):
    with pytest.raises(ValidationError):
        client.send("599445448", "Hi", sender=sender)
    assert gateway.simulator.requests == []


# -- schedule ----------------------------------------------------------------


def test_aware_schedule_is_converted_to_tbilisi_time(client, gateway):
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    client.send("599445448", "Later", schedule=when)
    expected = when.astimezone(TBILISI).strftime("%Y-%m-%d %H:%M:%S")
    assert last_params(gateway.simulator)["schedule"] == expected


def test_naive_schedule_is_taken_as_gateway_time():
    now = datetime(2026, 1, 1, 12, 0, 0)
    assert format_schedule(datetime(2026, 1, 1, 13, 5, 9), now=now) == "2026-01-01 13:05:09"
    aware_now = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)  # 12:00 in Tbilisi
    assert format_schedule(datetime(2026, 1, 1, 9, 30, tzinfo=UTC), now=aware_now) == (
        "2026-01-01 13:30:00")


def test_past_schedule_is_refused_locally(client, gateway):
    with pytest.raises(ValidationError, match="past"):
        client.send("599445448", "Too late", schedule=datetime.now(UTC) - timedelta(minutes=1))
    assert gateway.simulator.requests == []


def test_scheduled_message_is_in_process_at_the_gateway(client):
    result = client.send("599445448", "Later", schedule=datetime.now(UTC) + timedelta(hours=2))
    assert client.status(result.message_id) is DeliveryStatus.IN_PROCESS


# -- gateway errors ------------------------------------------------------------


ERROR_TABLE = [
    ("2904", SendFailed), ("2905", AuthError), ("2906", CreditExhausted),
    ("2907", GatewayUnavailable), ("2908", ScheduleError), ("2909", ScheduleError),
    ("2910", InvalidRequest), ("2911", InvalidRequest), ("2912", InvalidRequest),
    ("2913", InvalidRequest), ("2914", InvalidRequest), ("2915", InvalidRequest),
]


@pytest.mark.parametrize("prefix", ["", "-"])
@pytest.mark.parametrize(("reply", "error"), ERROR_TABLE)
def test_every_error_code_maps_to_its_exception(scripted, reply, error, prefix):
    scripted.reply = f"{prefix}{reply}\n"
    with Client("u", "p", base_url=scripted.url) as c:
        for call in (lambda: c.send("599445448", "x"), c.balance, lambda: c.status("7")):
            with pytest.raises(error) as info:
                call()
            assert info.value.code == int(reply)


def test_wrong_password_is_auth_error(gateway):
    with Client(GATEWAY_USER, "wrong", base_url=gateway.url) as c:
        for call in (lambda: c.send("599445448", "x"), c.balance, lambda: c.status("1")):
            with pytest.raises(AuthError):
                call()


def test_empty_username_is_invalid_request(gateway):
    with Client("", GATEWAY_PASSWORD, base_url=gateway.url) as c, pytest.raises(
        InvalidRequest
    ) as info:
        c.balance()
    assert info.value.code == 2910


def test_credit_exhausted_when_balance_is_short(client, gateway):
    gateway.simulator.set_balance(Decimal("0.04"))
    with pytest.raises(CreditExhausted):
        client.send("599445448", "Hi")
    assert client.balance() == Decimal("0.04")


def test_balance_decreases_by_the_credits_used(client):
    before = client.balance()
    result = client.send("599445448 555123456", "Hi")
    assert client.balance() == before - Decimal(result.credits) / 100


@pytest.mark.parametrize(("reply", "value"), [
    ("100", Decimal("100")), ("12.35\n", Decimal("12.35")), (" 7,5 ", Decimal("7.5")),
    ("\ufeff0.00", Decimal("0.00")), ("-1.20", Decimal("-1.20")),
])
def test_balance_replies_are_parsed_defensively(scripted, reply, value):
    scripted.reply = reply
    with Client("u", "p", base_url=scripted.url) as c:
        assert c.balance() == value


@pytest.mark.parametrize("reply", ["", "OK", "OK 5", "balance: lots", "<html>oops</html>", "8",
                                   "-3", "NaN"])
def test_unreadable_replies_are_protocol_errors(scripted, reply):
    scripted.reply = reply
    with Client("u", "p", base_url=scripted.url) as c:
        with pytest.raises(ProtocolError):
            c.status("1")
        if reply.startswith("OK") or not reply.lstrip("-").isdigit():
            with pytest.raises(ProtocolError):
                c.send("599445448", "x")


def test_protocol_error_carries_a_truncated_reply(scripted):
    scripted.reply = "<html>" + "x" * 5000
    with Client("u", "p", base_url=scripted.url) as c, pytest.raises(ProtocolError) as info:
        c.balance()
    assert info.value.reply.startswith("<html>") and len(info.value.reply) <= 200


# -- statuses ------------------------------------------------------------------


@pytest.mark.parametrize("status", list(DeliveryStatus))
def test_every_status_code_is_read(client, gateway, status):
    result = client.send("599445448", "Hi")
    gateway.simulator.set_status(int(result.message_id), int(status))
    assert client.status(result.message_id) is status
    path = gateway.simulator.requests[-1].path
    assert path == STATUS_PATH


def test_status_labels_and_finality():
    assert [s.is_final for s in DeliveryStatus] == [False, True, False, True, True, True, True,
                                                   True]
    assert DeliveryStatus.IN_PROCESS.label == "In process"
    assert DeliveryStatus(1).label == "Delivered"


def test_unknown_message_id_is_a_gateway_error(client):
    with pytest.raises(SendFailed):
        client.status("999999999")


# -- faults ------------------------------------------------------------------

FAULTS = {
    "drop": {"drop_rate": 1.0},
    "hang": {"hang_rate": 1.0, "hang_seconds": 1.0},
    "http_500": {"http_500_rate": 1.0},
    "garbage": {"garbage_rate": 1.0},
    "unavailable": {"unavailable_rate": 1.0},
}

EXPECTED_ON_SEND = {"drop": AmbiguousSend, "hang": AmbiguousSend, "http_500": ProtocolError,
                    "garbage": ProtocolError, "unavailable": GatewayUnavailable}
EXPECTED_ON_READ = {"drop": TransportError, "hang": TransportError, "http_500": ProtocolError,
                    "garbage": ProtocolError, "unavailable": GatewayUnavailable}


def configure(sim, **knobs):
    sim.configure(**knobs)


@pytest.mark.parametrize("fault", FAULTS)
def test_faults_map_to_the_right_exception(gateway, fault):
    configure(gateway.simulator, **FAULTS[fault])
    with Client(GATEWAY_USER, GATEWAY_PASSWORD, base_url=gateway.url, timeout=(1, 0.5)) as c:
        with pytest.raises(EXPECTED_ON_SEND[fault]):
            c.send("599445448", "Hi")
        with pytest.raises(EXPECTED_ON_READ[fault]):
            c.balance()
        with pytest.raises(EXPECTED_ON_READ[fault]):
            c.status("1000")


@pytest.mark.parametrize("fault", ["drop", "hang", "http_500", "garbage"])
def test_a_failed_send_is_never_retried(gateway, fault):
    configure(gateway.simulator, **FAULTS[fault])
    with (Client(GATEWAY_USER, GATEWAY_PASSWORD, base_url=gateway.url, timeout=(1, 0.5)) as c,
          pytest.raises(SmscoError)):
        c.send("599445448", "Only once")
    time.sleep(1.2)  # a hung request is logged when the simulator finally answers it
    sends = [r for r in gateway.simulator.requests if r.params.get("message") == "Only once"]
    assert len(sends) == 1


def test_connection_refused_is_transport_error_everywhere(closed_port):
    with Client("u", "p", base_url=f"http://127.0.0.1:{closed_port}") as c:
        for call in (lambda: c.send("599445448", "x"), c.balance, lambda: c.status("1")):
            with pytest.raises(TransportError) as info:
                call()
            assert not isinstance(info.value, AmbiguousSend)


def test_session_has_no_retries_and_a_big_pool(client):
    adapter = client.session.get_adapter("http://smsco.ge")
    assert adapter.max_retries.total == 0
    assert adapter._pool_maxsize >= 10


# -- secrets -------------------------------------------------------------------

SENTINEL = "Sentinel-Pa55word-XYZZY"


def chain(error: BaseException):
    seen = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def assert_no_secret(error: BaseException):
    text = "".join(traceback.format_exception(error))
    assert SENTINEL not in text
    for link in chain(error):
        assert SENTINEL not in str(link)
        assert SENTINEL not in repr(link)
        assert all(SENTINEL not in repr(arg) for arg in link.args)
        assert SENTINEL not in repr(vars(link))


@pytest.mark.parametrize("scenario", ["refused", *FAULTS])
@pytest.mark.parametrize("call", ["send", "balance", "status"])
def test_password_never_leaks(closed_port, caplog, scenario, call):
    simulator = Simulator(username="tester", password=SENTINEL)
    server = simulator.serve(host="127.0.0.1", port=0)
    try:
        url = f"http://127.0.0.1:{closed_port}" if scenario == "refused" else server.url
        configure(simulator, **FAULTS.get(scenario, {}))
        caplog.set_level("DEBUG")
        client = Client("tester", SENTINEL, base_url=url, timeout=(1, 0.5))
        assert SENTINEL not in repr(client) and SENTINEL not in str(client)
        calls = {"send": lambda: client.send("599445448", "Hi"), "balance": client.balance,
                 "status": lambda: client.status("1000")}
        with pytest.raises(SmscoError) as info:
            calls[call]()
        assert_no_secret(info.value)
        assert any("urllib3" in r.name for r in caplog.records), "urllib3 debug logs captured"
        assert SENTINEL not in caplog.text
        client.close()
    finally:
        server.shutdown()


def test_password_echoed_in_a_garbage_reply_is_masked(scripted):
    scripted.reply = f"error: bad request password={SENTINEL}"
    with Client("u", SENTINEL, base_url=scripted.url) as c, pytest.raises(ProtocolError) as info:
        c.balance()
    assert_no_secret(info.value)
    assert SENTINEL not in info.value.reply


# -- how a failure is worded and classed --------------------------------------------


def test_a_send_without_an_answer_in_time_says_it_timed_out(gateway):
    gateway.simulator.configure(hang_rate=1.0, hang_seconds=2.0)
    with Client(GATEWAY_USER, GATEWAY_PASSWORD, base_url=gateway.url, timeout=(1, 0.5)) as c:
        with pytest.raises(AmbiguousSend) as info:
            c.send("599445448", "Hi")
        assert "no answer came within 0.5 s" in str(info.value)
        assert "closed" not in str(info.value)
        with pytest.raises(TransportError) as info:
            c.balance()
        assert "no answer came within 0.5 s" in str(info.value)


def test_a_dropped_connection_says_it_was_closed(gateway):
    gateway.simulator.configure(drop_rate=1.0)
    with (Client(GATEWAY_USER, GATEWAY_PASSWORD, base_url=gateway.url) as c,
          pytest.raises(AmbiguousSend) as info):
        c.send("599445448", "Hi")
    assert "connection was closed without an answer" in str(info.value)
    assert "within" not in str(info.value)


def test_the_default_read_timeout_is_15_seconds(scripted):
    with Client("u", "p", base_url=scripted.url) as c:
        assert c.read_timeout == 15


@pytest.mark.parametrize("status", [400, 403, 404, 413, 414])
def test_an_http_4xx_is_a_refusal_not_a_maybe(scripted, status):
    scripted.status, scripted.reply = status, "<html>Request-URI Too Long</html>"
    with Client("u", "p", base_url=scripted.url) as c:
        with pytest.raises(RequestRefused) as info:
            c.send("599445448", "Hi")
        assert not isinstance(info.value, (AmbiguousSend, ProtocolError))
        assert info.value.http_status == status
        assert f"HTTP {status}" in str(info.value) and "nothing was sent" in str(info.value)
        with pytest.raises(RequestRefused):
            c.balance()


def test_http_5xx_stays_a_maybe(scripted):
    scripted.status, scripted.reply = 502, "Bad Gateway"
    with Client("u", "p", base_url=scripted.url) as c, pytest.raises(ProtocolError):
        c.send("599445448", "Hi")


def test_a_message_too_long_for_a_url_is_refused_by_the_web_server(client):
    # The simulator's HTTP server, like most, answers 414 to a request line over 64 KiB.
    with pytest.raises(RequestRefused) as info:
        client.send("599445448", "x" * 70_000)
    assert info.value.http_status == 414
