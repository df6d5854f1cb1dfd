"""Security headers on every response; templates and scripts that need no CSP exception;
the reverse-proxy setting."""

from __future__ import annotations

import re

import pytest

from smsco.web.config import PROJECT_ROOT
from smsco.web.ui.browser_policy import CONTENT_SECURITY_POLICY

# Inline script or style, event-handler attributes, javascript: URLs.
# A JSON data block (type="application/json") is not code: CSP lets it be.
INLINE = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>|<style\b|"
                    r"\sstyle\s*=|\son[a-z]+\s*=|javascript:", re.IGNORECASE)
# The same made by script: a style or handler attribute, eval and its cousins.
SCRIPTED_INLINE = re.compile(r"""setAttribute\(\s*["'](style|on[a-z]+)["']|style\s*=\s*\\?["']|"""
                             r"""\son[a-z]+\s*=\s*\\?["']|\beval\(|new Function\(|"""
                             r"""setTimeout\(\s*["']|setInterval\(\s*["']""", re.IGNORECASE)


def assert_policy_headers(response, path: str) -> None:
    headers = response.headers
    assert headers.get("Content-Security-Policy") == CONTENT_SECURITY_POLICY, path
    assert headers.get("X-Frame-Options") == "DENY", path
    assert headers.get("X-Content-Type-Options") == "nosniff", path
    assert headers.get("Referrer-Policy") == "same-origin", path


def test_the_policy_allows_nothing_inline_and_no_framing():
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path", [
    "/", "/compose", "/history", "/bulk", "/campaigns", "/contacts", "/contacts/opt-outs",
    "/templates/", "/admin/users", "/admin/audit", "/static/style.css", "/static/message.js",
    "/no-such-page", "/contacts.csv", "/messages/999/live",
])
def test_every_response_carries_the_headers(logged_in, path):
    response = logged_in.get(path)
    assert_policy_headers(response, path)
    assert "Strict-Transport-Security" not in response.headers


def test_anonymous_pages_redirects_and_posts_carry_them_too(app, web, users):
    for response in (web.get("/login"), web.get("/"), web.post("/login", data={})):
        assert_policy_headers(response, response.request.path)
    json = web.post("/text/analyze", json={"text": "hi"})
    assert_policy_headers(json, "/text/analyze")


def test_hsts_is_sent_when_cookies_are_secure(app, web, users):
    app.config["SESSION_COOKIE_SECURE"] = True
    for path in ("/login", "/static/style.css", "/nowhere"):
        assert web.get(path).headers["Strict-Transport-Security"] == "max-age=31536000"


def test_templates_have_no_inline_script_style_or_handlers():
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}"
        for path in sorted((PROJECT_ROOT / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if INLINE.search(line)
    ]
    assert offenders == []


def test_scripts_add_no_inline_style_or_handlers():
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted((PROJECT_ROOT / "static").glob("*.js"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SCRIPTED_INLINE.search(line) or INLINE.search(line)
    ]
    assert offenders == []


def test_the_checks_would_see_inline_code():
    for html in ('<div style="width: 5%">', "<script>alert(1)</script>", '<a onclick="x()">',
                 "<style>p {}</style>", '<a href="javascript:x()">'):
        assert INLINE.search(html), html
    assert not INLINE.search('<script src="/static/a.js" defer></script>')
    for js in ('el.setAttribute("style", "x")', 'el.setAttribute("onclick", "x")',
               'html = \'<div style="x">\'', "eval(code)", 'setTimeout("run()", 5)'):
        assert SCRIPTED_INLINE.search(js), js
    assert not SCRIPTED_INLINE.search('fill.setAttribute("width", "5")')


# -- behind a reverse proxy ------------------------------------------------------------


def proxied_app(app, hops: int):
    """A second app on the same database with ``SMSCO_PROXY_HOPS`` and throttling on."""
    from smsco.web import create_app

    return create_app({**app.config, "SMSCO_PROXY_HOPS": hops, "RATELIMIT_ENABLED": True,
                       "WTF_CSRF_ENABLED": False})


def wrong_login(web, forwarded_for: str):
    return web.post("/login", data={"username": "admin", "password": "wrong-password-1"},
                    headers={"X-Forwarded-For": forwarded_for})


def test_behind_one_proxy_each_client_has_its_own_login_limit(app, users):
    from smsco.web.extensions import db
    from smsco.web.models import AuditEntry

    web = proxied_app(app, hops=1).test_client()
    for _ in range(5):
        assert wrong_login(web, "203.0.113.1").status_code == 200
    # A forged first entry does not help: the proxy appended the real address last.
    assert wrong_login(web, "198.51.100.9, 203.0.113.1").status_code == 429
    assert wrong_login(web, "203.0.113.2").status_code == 200
    with app.app_context():
        details = set(db.session.scalars(db.select(AuditEntry.detail)))
    assert details == {"from 203.0.113.1", "from 203.0.113.2"}


def test_without_the_setting_forwarded_headers_are_not_believed(app, users):
    web = proxied_app(app, hops=0).test_client()
    for number in range(5):
        assert wrong_login(web, f"203.0.113.{number}").status_code == 200
    assert wrong_login(web, "203.0.113.99").status_code == 429


def test_proxy_hops_come_from_the_environment(monkeypatch, tmp_path):
    from smsco.web.config import load_config

    assert load_config(tmp_path)["SMSCO_PROXY_HOPS"] == 0
    monkeypatch.setenv("SMSCO_PROXY_HOPS", "2")
    assert load_config(tmp_path)["SMSCO_PROXY_HOPS"] == 2
