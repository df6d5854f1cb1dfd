"""``python -m smsco``: a command line for scripts, with exit codes per failure class."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest

from smsco.__main__ import (
    EXIT_AMBIGUOUS,
    EXIT_AUTH,
    EXIT_CREDIT,
    EXIT_OK,
    EXIT_PROTOCOL,
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    main,
)

from .conftest import GATEWAY_PASSWORD, GATEWAY_USER


@pytest.fixture
def env(monkeypatch, gateway):
    monkeypatch.setenv("SMSCO_USERNAME", GATEWAY_USER)
    monkeypatch.setenv("SMSCO_PASSWORD", GATEWAY_PASSWORD)
    monkeypatch.setenv("SMSCO_BASE_URL", gateway.url)
    monkeypatch.delenv("SMSCO_SENDER", raising=False)
    return gateway


def test_balance_send_and_status(env, capsys):
    env.simulator.set_balance(Decimal("12.5"))
    assert main(["balance"]) == EXIT_OK
    assert capsys.readouterr().out.strip() == "12.50"
    assert main(["send", "599 44 54 48", "555123456", "-m", "Hello", "-s", "Shop"]) == EXIT_OK
    out = capsys.readouterr().out.strip()
    assert out.startswith("OK credits=10 mes_id=")
    request = env.simulator.requests[-1]
    assert request.params["recipient"] == "995599445448,995555123456"
    assert request.params["sender"] == "Shop"
    mes_id = out.rsplit("=", 1)[1]
    env.simulator.set_status(int(mes_id), 1)
    assert main(["status", mes_id]) == EXIT_OK
    assert capsys.readouterr().out.strip() == "1 Delivered"


def test_schedule_is_passed_in_gateway_time(env, capsys):
    assert main(["send", "599445448", "-m", "Later", "--schedule", "2099-01-02 03:04"]) == EXIT_OK
    assert env.simulator.requests[-1].params["schedule"] == "2099-01-02 03:04:00"


@pytest.mark.parametrize(("args", "setup", "code"), [
    (["send", "12345", "-m", "Hi"], None, EXIT_USAGE),
    (["send", "599445448", "-m", "Hi!"], None, EXIT_USAGE),
    (["balance"], {"password": "wrong"}, EXIT_AUTH),
    (["send", "599445448", "-m", "Hi"], {"balance": "0"}, EXIT_CREDIT),
    (["send", "599445448", "-m", "Hi"], {"require_sender": True}, EXIT_REFUSED),
    (["balance"], {"unavailable_rate": 1.0}, EXIT_UNREACHABLE),
    (["send", "599445448", "-m", "Hi"], {"drop_rate": 1.0}, EXIT_AMBIGUOUS),
    (["balance"], {"garbage_rate": 1.0}, EXIT_PROTOCOL),
])
def test_exit_codes_tell_failure_classes_apart(env, monkeypatch, capsys, args, setup, code):
    setup = dict(setup or {})
    if "password" in setup:
        monkeypatch.setenv("SMSCO_PASSWORD", setup.pop("password"))
    if "balance" in setup:
        env.simulator.set_balance(Decimal(setup.pop("balance")))
    env.simulator.configure(**setup)
    assert main(args) == code
    err = capsys.readouterr().err
    assert err.startswith("error: ") and GATEWAY_PASSWORD not in err


def test_unreachable_gateway_and_missing_credentials(monkeypatch, closed_port, capsys):
    monkeypatch.setenv("SMSCO_USERNAME", "u")
    monkeypatch.setenv("SMSCO_PASSWORD", "p")
    monkeypatch.setenv("SMSCO_BASE_URL", f"http://127.0.0.1:{closed_port}")
    assert main(["balance"]) == EXIT_UNREACHABLE
    monkeypatch.delenv("SMSCO_PASSWORD")
    assert main(["balance"]) == EXIT_AUTH
    assert "SMSCO_PASSWORD" in capsys.readouterr().err


def test_runs_as_a_module(env):
    result = subprocess.run([sys.executable, "-m", "smsco", "balance"], capture_output=True,
                            text=True, timeout=30, check=False)
    assert result.returncode == EXIT_OK and result.stdout.strip() == "100.00"
