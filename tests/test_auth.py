"""Accounts: first-run setup, login, logout, sessions, CSRF and rate limiting."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from .conftest import ADMIN_PASSWORD, OPERATOR_PASSWORD


@pytest.fixture(autouse=True)
def real_csrf(request):
    """These tests post forms as a browser does, CSRF token included."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").config["WTF_CSRF_ENABLED"] = True


def csrf_token(web, url: str) -> str:
    """The CSRF token of the form on the page at ``url``."""
    html = web.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def log_in(web, username: str, password: str, url: str = "/login"):
    """Post the login form like a browser (token included); the response is returned."""
    return web.post(url, data={"csrf_token": csrf_token(web, "/login"),
                               "username": username, "password": password})


def audit_actions(app) -> list[str]:
    from smsco.web.extensions import db
    from smsco.web.models import AuditEntry

    with app.app_context():
        return list(db.session.scalars(db.select(AuditEntry.action).order_by(AuditEntry.id)))


def get_user(app, username: str):
    from smsco.web.auth.services import find_user

    with app.app_context():
        user = find_user(username)
        return None if user is None else {"active": user.active, "role": user.role,
                                           "last_login_at": user.last_login_at}


# -- first run -------------------------------------------------------------------------


def test_every_page_leads_to_setup_before_the_first_account(web):
    for path in ("/", "/login", "/admin/users"):
        response = web.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/setup")


def test_setup_page_has_the_contract_labels(web):
    html = web.get("/setup").get_data(as_text=True)
    for field_id, label in (("username", "Username"), ("password", "Password"),
                            ("confirm", "Confirm password")):
        assert f'<label for="{field_id}">{label}</label>' in html
    assert "Create account" in html


def test_setup_creates_the_admin_logs_in_and_then_is_gone(app, web):
    response = web.post("/setup", data={"csrf_token": csrf_token(web, "/setup"),
                                        "username": "Boss", "password": "long-enough-pw",
                                        "confirm": "long-enough-pw"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    front = web.get("/")
    assert front.status_code == 200
    assert "Boss" in front.get_data(as_text=True)
    assert get_user(app, "boss")["role"] == "admin"
    assert web.get("/setup").status_code == 404
    assert web.post("/setup", data={}).status_code in (400, 404)
    assert audit_actions(app) == ["user_add", "login"]


@pytest.mark.parametrize(("username", "password", "confirm", "error"), [
    ("ab", "long-enough-pw", "long-enough-pw", "Use 3 to 64 letters"),
    ("bad name!", "long-enough-pw", "long-enough-pw", "Use 3 to 64 letters"),
    ("boss", "short", "short", "Use at least 10 characters."),
    ("boss", "long-enough-pw", "different-pw", "The passwords do not match."),
    ("", "long-enough-pw", "long-enough-pw", "Enter a username."),
])
def test_setup_explains_bad_input_beside_the_field(app, web, username, password, confirm,
                                                   error):
    response = web.post("/setup", data={"csrf_token": csrf_token(web, "/setup"),
                                        "username": username, "password": password,
                                        "confirm": confirm})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert error in html
    assert 'class="field-error"' in html and 'aria-describedby="' in html
    assert get_user(app, "boss") is None


def test_parallel_setups_create_exactly_one_administrator(app, live_server):
    """20 simultaneous first-run forms, each a different name: one account results."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from smsco.web.extensions import db
    from smsco.web.models import User

    forms = []
    for _ in range(20):
        session = requests.Session()
        page = session.get(live_server.url + "/setup").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        forms.append((session, token))
    start = threading.Barrier(len(forms))

    def submit(number: int) -> int:
        session, token = forms[number]
        start.wait()
        return session.post(live_server.url + "/setup", allow_redirects=False, timeout=30,
                            data={"csrf_token": token, "username": f"boss{number}",
                                  "password": "long-enough-pw",
                                  "confirm": "long-enough-pw"}).status_code

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        statuses = list(pool.map(submit, range(len(forms))))
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(User.id))) == 1
    assert statuses.count(302) == 1
    assert set(statuses) <= {302, 200, 404}  # the others: a plain refusal, never a 500
    assert audit_actions(app).count("user_add") == 1


def test_a_refused_first_account_leaves_setup_open(app):
    from smsco.web.auth import services

    with app.app_context():
        with pytest.raises(services.AccountError, match="Use at least 10 characters"):
            services.create_first_admin("boss", "short")
        assert services.create_first_admin("boss", "long-enough-pw").username == "boss"
        with pytest.raises(services.AccountError, match="The first account already exists"):
            services.create_first_admin("other", "long-enough-pw")


def test_setup_is_404_once_an_account_exists(web, users):
    assert web.get("/setup").status_code == 404


# -- login -----------------------------------------------------------------------------


def test_login_page_has_the_contract_labels(web, users):
    html = web.get("/login").get_data(as_text=True)
    assert '<label for="username">Username</label>' in html
    assert '<label for="password">Password</label>' in html
    assert "Log in</button>" in html


def test_login_succeeds_records_the_time_and_makes_a_lasting_session(app, web, users):
    response = log_in(web, "ADMIN", ADMIN_PASSWORD)  # usernames ignore case
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "Expires=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    assert get_user(app, "admin")["last_login_at"] is not None
    assert audit_actions(app) == ["login"]
    assert web.get("/").status_code == 200


@pytest.mark.parametrize(("username", "password"), [
    ("admin", "wrong-password-1"), ("nobody", ADMIN_PASSWORD), ("olga", ADMIN_PASSWORD),
])
def test_wrong_credentials_get_one_plain_message(web, users, username, password):
    response = log_in(web, username, password)
    assert response.status_code == 200
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert web.get("/").status_code == 302


def test_a_disabled_account_cannot_log_in(app, web, users):
    from smsco.web.auth import services
    from smsco.web.extensions import db
    from smsco.web.models import User

    with app.app_context():
        services.set_active(db.session.get(User, users["olga"]), False, by=None)
    response = log_in(web, "olga", OPERATOR_PASSWORD)
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert web.get("/").status_code == 302


def test_disabling_an_account_ends_its_session(app, web, users):
    from smsco.web.auth import services
    from smsco.web.extensions import db
    from smsco.web.models import User

    assert log_in(web, "olga", OPERATOR_PASSWORD).status_code == 302
    assert web.get("/").status_code == 200
    with app.app_context():
        services.set_active(db.session.get(User, users["olga"]), False, by=None)
    assert web.get("/").status_code == 302


def test_login_required_redirects_with_next_and_returns_there(web, users):
    response = web.get("/admin/audit?before=5")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]
    response = log_in(web, "admin", ADMIN_PASSWORD, url="/login?next=/admin/audit?before%3D5")
    assert response.headers["Location"] == "/admin/audit?before=5"


@pytest.mark.parametrize("target", [
    "//evil.com", "http://evil.com/", "https://evil.com", "\\\\evil.com", "/\\evil.com",
    "javascript:alert(1)", "evil.com", "/\r\nevil.com", " //evil.com",
])
def test_next_never_leaves_the_site(web, users, target):
    from urllib.parse import quote

    response = log_in(web, "admin", ADMIN_PASSWORD, url=f"/login?next={quote(target)}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_is_safe_next():
    from smsco.web.auth.services import is_safe_next

    assert is_safe_next("/history?page=2")
    for bad in (None, "", "//evil.com", "http://evil.com", "/\\evil.com", "\\\\evil",
                "/\tevil", "evil"):
        assert not is_safe_next(bad)


def test_logged_in_user_visiting_login_goes_home(logged_in):
    assert logged_in.get("/login").headers["Location"] == "/"


# -- logout ------------------------------------------------------------------------------


def test_logout_is_a_post_from_the_header(app, web, users):
    log_in(web, "olga", OPERATOR_PASSWORD)
    token = csrf_token(web, "/")  # the header's logout form
    assert web.get("/logout").status_code == 405
    response = web.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert web.get("/").status_code == 302
    assert audit_actions(app) == ["login", "logout"]


def copy_of(app, web):
    """A second client holding a copy of ``web``'s session cookie (a stolen cookie)."""
    thief = app.test_client()
    thief.set_cookie("session", web.get_cookie("session").value)
    return thief


def test_a_copied_cookie_stops_working_after_logout(app, web, users):
    log_in(web, "olga", OPERATOR_PASSWORD)
    thief = copy_of(app, web)
    assert thief.get("/").status_code == 200
    web.post("/logout", data={"csrf_token": csrf_token(web, "/")})
    assert thief.get("/").status_code == 302
    assert thief.get("/compose").headers["Location"].startswith("/login")
    assert log_in(web, "olga", OPERATOR_PASSWORD).status_code == 302  # a new login works


@pytest.mark.parametrize("change", ["password_reset", "disable_enable"])
def test_an_administrators_change_ends_the_users_sessions(app, web, users, change):
    log_in(web, "olga", OPERATOR_PASSWORD)
    thief = copy_of(app, web)
    admin = app.test_client()
    log_in(admin, "admin", ADMIN_PASSWORD)
    target = f"/admin/users/{users['olga']}"
    if change == "password_reset":
        admin.post(target + "/password", data={
            "csrf_token": csrf_token(admin, target + "/password"),
            "password": "brand-new-password", "confirm": "brand-new-password"})
        new_password = "brand-new-password"
    else:
        for action in ("disable", "enable"):
            admin.post(f"{target}/{action}", data={"csrf_token": csrf_token(admin, "/"),
                                                   "confirmed": "1"})
        new_password = OPERATOR_PASSWORD
    assert get_user(app, "olga")["active"]
    for client in (web, thief):
        assert client.get("/").status_code == 302
    assert admin.get("/").status_code == 200
    assert log_in(web, "olga", new_password).status_code == 302


def test_a_session_from_before_versions_lasts_until_the_first_logout(app, web, users):
    with web.session_transaction() as session:  # what a login wrote before the upgrade
        session["_user_id"] = str(users["olga"])
    assert web.get("/").status_code == 200
    other = app.test_client()
    log_in(other, "olga", OPERATOR_PASSWORD)
    other.post("/logout", data={"csrf_token": csrf_token(other, "/")})
    assert web.get("/").status_code == 302


def test_resetting_ones_own_password_keeps_this_session_and_ends_the_others(app, web, users):
    log_in(web, "admin", ADMIN_PASSWORD)
    other_device = copy_of(app, web)
    target = f"/admin/users/{users['admin']}/password"
    response = web.post(target, data={"csrf_token": csrf_token(web, target),
                                      "password": "brand-new-password",
                                      "confirm": "brand-new-password"})
    assert response.status_code == 302
    assert web.get("/").status_code == 200
    assert other_device.get("/").status_code == 302


# -- CSRF, cookies, lifetime -------------------------------------------------------------


def test_a_post_without_csrf_token_is_refused_and_changes_nothing(app, logged_in, users):
    app.config["WTF_CSRF_ENABLED"] = True
    response = logged_in.post("/admin/users", data={"username": "mallory",
                                                    "password": "long-enough-pw",
                                                    "role": "admin"})
    assert response.status_code == 400
    assert "The form may have expired" in response.get_data(as_text=True)
    assert get_user(app, "mallory") is None
    response = logged_in.post(f"/admin/users/{users['olga']}/disable",
                              data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert get_user(app, "olga")["active"]
    assert logged_in.post("/logout").status_code == 400
    assert logged_in.get("/").status_code == 200


def test_session_lifetime_and_cookie_flags_come_from_config(app, web, tmp_path):
    from smsco.web.config import load_config

    assert load_config(tmp_path)["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    app.config.update(SESSION_COOKIE_SECURE=True,
                      PERMANENT_SESSION_LIFETIME=timedelta(minutes=30))
    response = web.post("/setup", data={"csrf_token": csrf_token(web, "/setup"),
                                        "username": "boss", "password": "long-enough-pw",
                                        "confirm": "long-enough-pw"})
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    expires = web.get_cookie("session").expires
    assert expires is not None
    left = expires - datetime.now(UTC)
    assert timedelta(minutes=29) < left <= timedelta(minutes=30)


# -- rate limit ---------------------------------------------------------------------------


@pytest.fixture
def throttled(app):
    """Login throttling on (the suite turns it off), with fresh counters."""
    from smsco.web.auth.throttle import init_throttle

    app.config["RATELIMIT_ENABLED"] = True
    init_throttle(app)
    return app


class PasswordChecks:
    """How many password hashes were compared; ``delay`` makes each take that long."""

    def __init__(self) -> None:
        import threading

        self.count, self.delay, self.lock = 0, 0.0, threading.Lock()

    def wrap(self, real):
        import time

        def check(pwhash, password):
            with self.lock:
                self.count += 1
            time.sleep(self.delay)
            return real(pwhash, password)
        return check


@pytest.fixture
def password_checks(monkeypatch):
    """Counts every password hash comparison (real accounts and the unknown-name dummy)."""
    from smsco.web import models
    from smsco.web.auth import services

    checks = PasswordChecks()
    monkeypatch.setattr(models, "check_password_hash", checks.wrap(models.check_password_hash))
    monkeypatch.setattr(services, "check_password_hash",
                        checks.wrap(services.check_password_hash))
    return checks


TOO_MANY = "Too many login attempts. Wait a minute and try again."


def test_login_attempts_are_rate_limited(throttled, web, users, password_checks):
    for _ in range(5):
        assert log_in(web, "admin", "wrong-password-1").status_code == 200
    response = log_in(web, "admin", "wrong-password-1")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"
    html = response.get_data(as_text=True)
    assert TOO_MANY in html and "Traceback" not in html
    # even the right password waits, unchecked; another username is not blocked
    assert log_in(web, "ADMIN ", ADMIN_PASSWORD).status_code == 429
    assert password_checks.count == 5
    assert log_in(web, "olga", OPERATOR_PASSWORD).status_code == 302


def test_a_successful_login_forgets_that_names_mistakes(throttled, web, users):
    for _ in range(4):
        assert log_in(web, "olga", "wrong-password-1").status_code == 200
    assert log_in(web, "olga", OPERATOR_PASSWORD).status_code == 302
    web.post("/logout", data={"csrf_token": csrf_token(web, "/")})
    for _ in range(5):
        assert log_in(web, "olga", "wrong-password-1").status_code == 200
    assert log_in(web, "olga", "wrong-password-1").status_code == 429


def test_one_address_trying_many_names_is_limited(throttled, web, users, password_checks):
    for number in range(30):
        assert log_in(web, f"user{number}", "wrong-password-1").status_code == 200
    assert log_in(web, "olga", OPERATOR_PASSWORD).status_code == 429
    assert password_checks.count == 30


def test_parallel_wrong_passwords_check_at_most_five(throttled, live_server, users,
                                                     password_checks):
    """150 simultaneous guesses at one account over real HTTP: five passwords are checked.

    Each check takes as long as a production scrypt hash (the tests' hashes are
    cheap), so a limiter that counts only after checking lets many through, as
    it did in production (72 of 150).
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    session = requests.Session()
    page = session.get(live_server.url + "/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    cookies = session.cookies.get_dict()
    password_checks.delay = 0.2
    start = threading.Barrier(150)

    def attempt(number: int) -> tuple[int, str]:
        start.wait()
        response = requests.post(live_server.url + "/login", cookies=cookies, timeout=30,
                                 data={"csrf_token": token, "username": "admin",
                                       "password": f"wrong-password-{number}"})
        return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=150) as pool:
        results = list(pool.map(attempt, range(150)))
    statuses = [status for status, _ in results]
    assert password_checks.count <= 5
    assert statuses.count(200) == password_checks.count
    assert statuses.count(429) == 150 - password_checks.count
    assert all(TOO_MANY in body for status, body in results if status == 429)
    assert password_checks.count == 5  # the limit is reached, not undercut


def test_failed_logins_are_audited_without_the_typed_name(app, web, users):
    from smsco.web.extensions import db
    from smsco.web.models import AuditEntry

    log_in(web, "olga", "wrong-password-1")
    log_in(web, "my-secret-password", "whatever-1")
    with app.app_context():
        entries = list(db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id)))
        assert [(e.action, e.user_id) for e in entries] == [
            ("login_failed", users["olga"]), ("login_failed", None)]
        assert entries[0].detail == "from 127.0.0.1"
        assert entries[1].detail == "Unknown username from 127.0.0.1"

