"""The suite-wide secret guard sees a secret in each place it watches.

Each test leaks on purpose, checks that the guard saw it, then clears the
finding so the test itself passes.
"""

from __future__ import annotations

import logging

from flask import flash

from .conftest import GATEWAY_PASSWORD, TEST_SECRET_KEY, session_login


def seen(guard, where: str) -> bool:
    found = [f for f in guard.findings if where in f]
    guard.findings.clear()
    return bool(found)


def test_a_debug_log_line_of_the_web_layer(app, secret_guard):
    logging.getLogger("smsco.web.sending.gateway").debug("password=%s", GATEWAY_PASSWORD)
    assert seen(secret_guard, "the gateway password in log record of smsco.web.sending")


def test_an_exception_logged_with_its_traceback(secret_guard):
    try:
        raise RuntimeError(f"key {TEST_SECRET_KEY}")
    except RuntimeError:
        logging.getLogger("smsco.web").exception("failed")
    assert seen(secret_guard, "SECRET_KEY in log record")


def test_a_page_a_header_and_a_flash(app, web, users, secret_guard):
    def leaky():
        flash(f"configured with {GATEWAY_PASSWORD}")
        return "ok", 200, {"X-Debug": TEST_SECRET_KEY}

    app.add_url_rule("/leaky", view_func=leaky)
    app.add_url_rule("/leaky-page", view_func=lambda: f"<p>{GATEWAY_PASSWORD}</p>")
    session_login(web, users["admin"])
    web.get("/leaky")
    assert seen(secret_guard, "SECRET_KEY in response to GET /leaky? (headers)")
    web.get("/leaky")
    assert seen(secret_guard, "the gateway password in response to GET /leaky? (session)")
    web.get("/leaky-page")
    assert seen(secret_guard, "the gateway password in response to GET /leaky-page?")


def test_a_database_row(app, secret_guard):
    from smsco.web.extensions import db
    from smsco.web.models import AuditEntry

    with app.app_context():
        db.session.add(AuditEntry(action="setting", detail=f"password {GATEWAY_PASSWORD}"))
        db.session.commit()
    secret_guard.scan_database(app)
    assert seen(secret_guard, "the gateway password in table audit_entry")
    with app.app_context():
        db.session.execute(db.delete(AuditEntry))
        db.session.commit()


def test_nothing_is_reported_when_nothing_leaks(app, logged_in, secret_guard):
    logged_in.get("/")
    logging.getLogger("smsco.web").debug("nothing secret here")
    secret_guard.scan_database(app)
    assert secret_guard.findings == []
