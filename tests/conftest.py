"""Shared fixtures: the gateway simulator over real HTTP, a scripted gateway, clients."""

from __future__ import annotations

import logging
import os
import socket
from decimal import Decimal

import pytest

from smsco import Client
from smsco.simulator import Simulator
from smsco.web.ui.i18n import compile_catalogs

from .scripted import ScriptedGateway
from .secrets_guard import SecretGuard

# The compiled catalogs (.mo) are not in git: compile them when a .po is newer, so a plain
# `pytest` speaks Georgian and Russian as `make test` does.
compile_catalogs()

GATEWAY_USER = "tester"
GATEWAY_PASSWORD = "s3cret-Pa55"
TEST_SECRET_KEY = "test-secret-key"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    """Cheap password hashes: scrypt's 0.2 s per hash would dominate the tests."""
    from functools import partial

    from werkzeug.security import generate_password_hash

    from smsco.web import models
    from smsco.web.auth import services

    fast = partial(generate_password_hash, method="pbkdf2:sha256:1000")
    monkeypatch.setattr(models, "generate_password_hash", fast)
    monkeypatch.setattr(services, "generate_password_hash", fast)
    services._dummy_hash.cache_clear()  # the unknown-name hash too
    yield
    services._dummy_hash.cache_clear()


@pytest.fixture(autouse=True)
def secret_guard():
    """Every test: no secret in any log record at DEBUG; ``app`` adds its pages and database."""
    guard = SecretGuard({"the gateway password": GATEWAY_PASSWORD,
                         "SECRET_KEY": TEST_SECRET_KEY})
    root = logging.getLogger()
    level = root.level
    root.addHandler(guard)
    root.setLevel(logging.DEBUG)
    try:
        yield guard
    finally:
        root.removeHandler(guard)
        root.setLevel(level)
    assert guard.findings == [], "a secret was seen"


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


def database_url(tmp_path) -> str:
    """PostgreSQL when ``TEST_DATABASE_URL`` is set (CI), else a fresh SQLite file."""
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.sqlite'}"


@pytest.fixture
def app(request, gateway, tmp_path, secret_guard):
    """The dashboard pointed at the simulator, with an empty database.

    CSRF is on for tests that drive a browser (as in production) and off for the
    others, which post forms directly (tests of CSRF turn it back on). Its pages
    and database are searched for the secrets (``secrets_guard``).
    """
    from smsco.web import create_app
    from smsco.web.extensions import db
    from smsco.web.sending.dispatch import stop_dispatcher

    app = create_app({
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
        "SMSCO_DEMO": False,
        "SMSCO_USERNAME": GATEWAY_USER,
        "SMSCO_PASSWORD": GATEWAY_PASSWORD,
        "SMSCO_BASE_URL": gateway.url,
        "SMSCO_SCHEDULER": False,
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": "page" in request.fixturenames,
        # Tests find fields by their English labels (DESIGN §5); tests of languages ask
        # for another one (Accept-Language, the switch).
        "SMSCO_DEFAULT_LANGUAGE": "en",
    })
    with app.app_context():
        db.drop_all()
        db.create_all()
    secret_guard.watch(app)
    yield app
    stop_dispatcher(app)  # its heartbeat and sending threads would outlive the test
    secret_guard.forget(app)
    secret_guard.scan_database(app)
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


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


from .browser import browser, csp_violations, page  # noqa: E402, F401 - fixtures for browser tests

# -- accounts ----------------------------------------------------------------------

ADMIN_PASSWORD = "admin-password-1"
OPERATOR_PASSWORD = "operator-password-1"


@pytest.fixture
def users(app):
    """An administrator ``admin`` and an operator ``olga``."""
    from smsco.web.extensions import db
    from smsco.web.models import Role, User

    with app.app_context():
        admin = User(username="admin", role=Role.ADMIN)
        admin.set_password(ADMIN_PASSWORD)
        operator = User(username="olga", role=Role.OPERATOR)
        operator.set_password(OPERATOR_PASSWORD)
        db.session.add_all([admin, operator])
        db.session.commit()
        return {"admin": admin.id, "olga": operator.id}


def session_login(web, user_id: int, session_version: int = 0):
    """Log the test client in by writing the session a login would write."""
    from smsco.web.auth.services import SESSION_VERSION

    with web.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
        session[SESSION_VERSION] = session_version
    return web


@pytest.fixture
def logged_in(web, users):
    """The test client logged in as the administrator (session set directly)."""
    return session_login(web, users["admin"])


@pytest.fixture
def server(live_app, live_server):
    """The app over real HTTP with its scheduler running: what a browser test talks to."""
    return live_server


@pytest.fixture
def live_app(app, gateway):
    """The app with its scheduler running and fast intervals, for end-to-end tests."""
    from smsco.web.sending.jobs import start_scheduler, stop_scheduler

    gateway.simulator.configure(sent_after=0.3, final_after=1.0, failure_rate=0.0)
    app.config.update(SMSCO_SCHEDULER=True, SMSCO_DISPATCH_INTERVAL=0.5,
                      SMSCO_STATUS_INTERVAL=0.5, SMSCO_BALANCE_INTERVAL=1)
    start_scheduler(app)
    yield app
    stop_scheduler(app)
