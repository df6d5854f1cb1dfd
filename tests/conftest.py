"""Shared fixtures: the gateway simulator over real HTTP, a scripted gateway, clients."""

from __future__ import annotations

import socket
from decimal import Decimal

import pytest

from smsco import Client
from smsco.simulator import Simulator

from .scripted import ScriptedGateway

GATEWAY_USER = "tester"
GATEWAY_PASSWORD = "s3cret-Pa55"


@pytest.fixture
def simulator():
    """A fresh simulator (not yet serving): knobs can be set before use."""
    return Simulator(username=GATEWAY_USER, password=GATEWAY_PASSWORD,
                     balance=Decimal("100"), seed=1)


@pytest.fixture
def gateway(simulator):
    """The simulator served on a free loopback port; ``gateway.url`` is its base URL."""
    server = simulator.serve(host="127.0.0.1", port=0)
    yield server
    server.shutdown()


@pytest.fixture
def client(gateway):
    """A client pointed at the simulator, with a short timeout."""
    with Client(GATEWAY_USER, GATEWAY_PASSWORD, base_url=gateway.url, timeout=(2, 2)) as c:
        yield c


@pytest.fixture
def scripted():
    """A server that answers whatever the test sets in ``scripted.reply``."""
    server = ScriptedGateway()
    yield server
    server.close()


@pytest.fixture
def closed_port():
    """A loopback port nobody listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the web app -----------------------------------------------------------------


@pytest.fixture
def app(gateway):
    """The dashboard pointed at the simulator."""
    from smsco.web import create_app

    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SMSCO_DEMO": False,
        "SMSCO_USERNAME": GATEWAY_USER,
        "SMSCO_PASSWORD": GATEWAY_PASSWORD,
        "SMSCO_BASE_URL": gateway.url,
    })
    yield app


@pytest.fixture
def web(app):
    """Flask's test client (named ``web`` because ``client`` is the gateway client)."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """Flask's CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on a free port, for the browser."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()


from .browser import browser, page  # noqa: E402, F401 - fixtures for browser tests
