"""The admin pages: managing accounts and reading the audit log."""

from __future__ import annotations

import re

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
    return web.post(url, data={"csrf_token": csrf_token(web, page), "confirmed": "1",
                               **(data or {})})


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
    response = web.post(f"/admin/users/{users['admin']}/disable",
                        data={"csrf_token": token, "confirmed": "1"})
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
    html = logged_in.get("/admin/audit").get_data(as_text=True).split("<tbody>")[1]
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


def audit_rows(html: str) -> list[tuple[str, str, str]]:
    """(action code, concerns cell, detail) per row of the audit table."""
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r'<td [^>]*data-action="(\w+)">[^<]*</td>\s*<td class="nowrap"[^>]*>(.*?)'
                      r'</td>\s*<td[^>]*>([^<]*)</td>', body, re.S)


@pytest.fixture
def history(app, users):
    """Entries of several users, actions and days, one of each kind a link is made for."""
    from datetime import datetime

    from smsco.web.extensions import db
    from smsco.web.models import AuditEntry, Message

    def at(day: str) -> datetime:  # noon in Tbilisi, as naive UTC
        return datetime.fromisoformat(f"{day} 08:00")

    with app.app_context():
        message = Message(recipient="995555123456", body="hi")
        db.session.add(message)
        db.session.flush()
        db.session.add_all([
            AuditEntry(user_id=users["olga"], action="send", message_id=message.id,
                       detail="1 message to 995555123456", at=at("2026-03-01")),
            AuditEntry(user_id=users["olga"], action="campaign",
                       detail="campaign #7 'Winter sale': 3 recipients", at=at("2026-03-02")),
            AuditEntry(user_id=users["admin"], action="template_edit",
                       detail="Template #4 '=HYPERLINK()'", at=at("2026-03-03")),
            AuditEntry(user_id=users["admin"], action="template_delete",
                       detail="Template #5 'Old'", at=at("2026-03-03")),
            AuditEntry(user_id=users["admin"], action="user_disable", detail="Disabled olga",
                       at=at("2026-03-04")),
            AuditEntry(user_id=None, action="something_new", detail="later", at=at("2026-03-05")),
        ])
        db.session.commit()
        return message.id


def test_audit_actions_read_as_words_and_link_to_what_they_concern(logged_in, users, history):
    html = logged_in.get("/admin/audit").get_data(as_text=True)
    rows = audit_rows(html)
    assert [code for code, _, _ in rows] == ["something_new", "user_disable", "template_delete",
                                             "template_edit", "campaign", "send"]
    assert ">Account disabled</td>" in html and ">Campaign created</td>" in html
    assert ">something_new</td>" in html  # an action we do not know yet, as it is
    concerns = [cell for _, cell, _ in rows]
    assert concerns[0] == ""
    assert concerns[1] == f'<a href="/admin/users#user-{users["olga"]}">olga</a>'
    assert concerns[2] == ""  # deleted: nothing to link to
    assert concerns[3] == '<a href="/templates/4/edit">Template #4</a>'
    assert concerns[4] == '<a href="/campaigns/7">campaign #7</a>'
    assert concerns[5] == f'<a href="/messages/{history}">#{history}</a>'


def test_audit_filters_by_user_action_and_date(logged_in, users, history):
    def codes(query: str) -> list[str]:
        return [c for c, _, _ in audit_rows(logged_in.get("/admin/audit?" + query)
                                            .get_data(as_text=True))]

    assert codes(f"user={users['olga']}") == ["campaign", "send"]
    assert codes("action=user_disable") == ["user_disable"]
    assert codes("from=2026-03-02&to=2026-03-03") == ["template_delete", "template_edit",
                                                      "campaign"]
    assert codes(f"user={users['admin']}&from=2026-03-04") == ["user_disable"]
    assert codes("action=nonsense&user=x&from=99999-1-1") == codes("")
    html = logged_in.get(f"/admin/audit?user={users['olga']}").get_data(as_text=True)
    assert f'<option value="{users["olga"]}" selected>olga</option>' in html
    assert "No entries match these filters." in logged_in.get(
        "/admin/audit?from=2030-01-01").get_data(as_text=True)


def test_audit_export_is_the_filtered_view_as_csv(logged_in, users, history):
    import csv
    import io

    reply = logged_in.get(f"/admin/audit.csv?user={users['admin']}")
    assert reply.status_code == 200 and reply.mimetype == "text/csv"
    assert re.search(r'filename="smsco-audit-\d{4}-\d{2}-\d{2}\.csv"',
                     reply.headers["Content-Disposition"])
    rows = list(csv.DictReader(io.StringIO(reply.get_data().decode("utf-8-sig"))))
    assert [(r["user"], r["action"], r["concerns"]) for r in rows] == [
        ("admin", "Account disabled", "olga"), ("admin", "Template deleted", ""),
        ("admin", "Template changed", "Template #4")]
    assert rows[2]["detail"] == "Template #4 '=HYPERLINK()'"  # not a formula: starts with T
    assert rows[0]["time"].startswith("2026-03-04T12:00:00")
    html = logged_in.get(f"/admin/audit?user={users['admin']}").get_data(as_text=True)
    assert f'href="/admin/audit.csv?user={users["admin"]}"' in html
