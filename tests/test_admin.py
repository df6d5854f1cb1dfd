"""The admin pages: managing accounts and reading the audit log."""

from __future__ import annotations

import pytest

from .conftest import OPERATOR_PASSWORD
from .test_auth import (  # noqa: F401 - real_csrf is an autouse fixture
    audit_actions,
    csrf_token,
    get_user,
    log_in,
    real_csrf,
)


def post(web, url: str, data: dict | None = None, page: str = "/admin/users"):
    """Post like a browser: with the CSRF token of ``page``."""
    return web.post(url, data={"csrf_token": csrf_token(web, page), **(data or {})})


def add_user(web, username: str, password: str = "long-enough-pw", role: str = "operator"):
    return post(web, "/admin/users", {"username": username, "password": password, "role": role})


# -- access --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/users", "/admin/audit", "/admin/users/1/password"])
def test_operators_get_a_403_page(web, users, path):
    log_in(web, "olga", OPERATOR_PASSWORD)
    response = web.get(path)
    assert response.status_code == 403
    assert "Only administrators can open this page." in response.get_data(as_text=True)


def test_operators_cannot_post_admin_actions(app, web, users):
    log_in(web, "olga", OPERATOR_PASSWORD)
    token = csrf_token(web, "/")
    response = web.post(f"/admin/users/{users['admin']}/disable", data={"csrf_token": token})
    assert response.status_code == 403
    assert get_user(app, "admin")["active"]


def test_nav_shows_admin_links_only_to_admins(web, logged_in, app, users):
    html = logged_in.get("/").get_data(as_text=True)
    assert ">Users</a>" in html and ">Audit log</a>" in html and "Log out" in html
    post(logged_in, "/logout", page="/")
    log_in(logged_in, "olga", OPERATOR_PASSWORD)
    html = logged_in.get("/").get_data(as_text=True)
    assert ">Users</a>" not in html and "olga" in html


# -- the user list and adding ------------------------------------------------------------


def test_user_list_shows_every_account(logged_in):
    html = logged_in.get("/admin/users").get_data(as_text=True)
    assert "admin" in html and "olga" in html and "Operator" in html
    assert '<label for="username">Username</label>' in html


def test_admin_adds_an_operator(app, logged_in):
    response = add_user(logged_in, "new.operator_1")
    assert response.status_code == 302
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Added new.operator_1." in page
    assert get_user(app, "new.operator_1") == {"active": True, "role": "operator",
                                              "last_login_at": None}
    assert audit_actions(app) == ["user_add"]
    logged_in.post("/logout", data={"csrf_token": csrf_token(logged_in, "/")})
    assert log_in(logged_in, "new.operator_1", "long-enough-pw").status_code == 302


def test_admin_adds_an_administrator(app, logged_in):
    add_user(logged_in, "second-admin", role="admin")
    assert get_user(app, "second-admin")["role"] == "admin"


@pytest.mark.parametrize(("username", "password", "error"), [
    ("OLGA", "long-enough-pw", "That username is already taken."),
    ("ab", "long-enough-pw", "Use 3 to 64 letters, digits, dots, underscores or hyphens."),
    ("x" * 65, "long-enough-pw", "Use 3 to 64 letters"),
    ("space man", "long-enough-pw", "Use 3 to 64 letters"),
    ("newbie", "123456789", "Use at least 10 characters."),
    ("newbie", "", "Enter a password."),
])
def test_adding_explains_bad_input_beside_the_field(app, logged_in, username, password, error):
    response = add_user(logged_in, username, password)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert error in html
    field = "username" if "username" in error or "letters" in error else "password"
    assert f'aria-describedby="{field}-hint {field}-error"' in html
    assert f'<p class="field-error" id="{field}-error">' in html
    assert get_user(app, "newbie") is None
    assert audit_actions(app) == []


# -- disable, enable, role, password --------------------------------------------------


def test_disable_and_enable_an_operator(app, logged_in, users):
    response = post(logged_in, f"/admin/users/{users['olga']}/disable")
    assert response.status_code == 302
    assert "Disabled olga." in logged_in.get("/admin/users").get_data(as_text=True)
    assert not get_user(app, "olga")["active"]
    post(logged_in, f"/admin/users/{users['olga']}/enable")
    assert get_user(app, "olga")["active"]
    assert audit_actions(app) == ["user_disable", "user_enable"]


def test_an_admin_cannot_disable_themselves(app, logged_in, users):
    post(logged_in, f"/admin/users/{users['admin']}/disable")
    html = logged_in.get("/admin/users").get_data(as_text=True)
    assert "You cannot disable your own account." in html
    assert get_user(app, "admin")["active"]


def test_the_last_active_admin_cannot_be_removed(app, users):
    from smsco.web.auth import services
    from smsco.web.extensions import db
    from smsco.web.models import User

    with app.app_context():
        admin = db.session.get(User, users["admin"])
        olga = db.session.get(User, users["olga"])
        with pytest.raises(services.AccountError, match="last active administrator"):
            services.set_active(admin, False, by=olga)
        with pytest.raises(services.AccountError, match="last active administrator"):
            services.set_role(admin, "operator", by=None)
        services.set_role(olga, "admin", by=admin)  # with a second admin it is allowed
        services.set_active(admin, False, by=olga)
        assert not admin.active


def test_role_change(app, logged_in, users):
    post(logged_in, f"/admin/users/{users['olga']}/role", {"role": "admin"})
    assert get_user(app, "olga")["role"] == "admin"
    post(logged_in, f"/admin/users/{users['admin']}/role", {"role": "operator"})
    assert "You cannot change your own role" in logged_in.get("/admin/users").get_data(
        as_text=True)
    assert get_user(app, "admin")["role"] == "admin"


def test_reset_password(app, logged_in, users):
    url = f"/admin/users/{users['olga']}/password"
    page = logged_in.get(url).get_data(as_text=True)
    assert '<label for="password">New password</label>' in page
    response = post(logged_in, url, {"password": "short", "confirm": "short"}, page=url)
    assert "Use at least 10 characters." in response.get_data(as_text=True)
    response = post(logged_in, url, {"password": "brand-new-password", "confirm": "other-one"},
                    page=url)
    assert "The passwords do not match." in response.get_data(as_text=True)
    response = post(logged_in, url, {"password": "brand-new-password",
                                     "confirm": "brand-new-password"}, page=url)
    assert response.status_code == 302
    assert audit_actions(app) == ["password_reset"]
    logged_in.post("/logout", data={"csrf_token": csrf_token(logged_in, "/")})
    assert log_in(logged_in, "olga", OPERATOR_PASSWORD).status_code == 200
    assert log_in(logged_in, "olga", "brand-new-password").status_code == 302


def test_unknown_account_is_404(logged_in):
    assert logged_in.get("/admin/users/999/password").status_code == 404
    assert post(logged_in, "/admin/users/999/disable").status_code == 404


# -- audit log -----------------------------------------------------------------------------


def test_audit_page_lists_entries_newest_first(app, logged_in, users):
    add_user(logged_in, "first-one")
    post(logged_in, f"/admin/users/{users['olga']}/disable")
    html = logged_in.get("/admin/audit").get_data(as_text=True)
    assert html.index("Account disabled") < html.index("Account added")
    assert "Added operator first-one" in html and "Disabled olga" in html
    assert "Older entries" not in html


def test_audit_page_is_keyset_paginated(app, logged_in, users):
    from smsco.web.extensions import db
    from smsco.web.models import AuditEntry, Message

    with app.app_context():
        message = Message(recipient="995555123456", body="hi")
        db.session.add(message)
        db.session.flush()
        db.session.add_all(AuditEntry(user_id=users["admin"], action="send",
                                      detail=f"entry {n}") for n in range(1, 56))
        db.session.add(AuditEntry(user_id=None, action="send", message_id=message.id,
                                  detail="entry 56"))
        db.session.commit()
        message_id = message.id
    first = logged_in.get("/admin/audit").get_data(as_text=True)
    assert "entry 56" in first and "entry 7<" in first and "entry 6<" not in first
    assert f"#{message_id}" in first and "system" in first
    import re

    older = re.search(r'href="(/admin/audit\?before=\d+)"', first).group(1)
    second = logged_in.get(older).get_data(as_text=True)
    assert "entry 6<" in second and "entry 1<" in second and "entry 7<" not in second
    assert "Older entries" not in second and "Newest" in second
