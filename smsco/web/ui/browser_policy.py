"""What browsers may do with our pages: security headers on every response (DESIGN §9).

The Content-Security-Policy lets pages load scripts, styles and data from this
site only, and nothing inline: no ``<script>`` blocks, no ``style="..."``
attributes, no ``on*=`` handlers (templates and static/*.js are written for
it; tests/test_browser_policy.py checks them). Pages may not be framed.
"""

from __future__ import annotations

from flask import Flask, Response, current_app

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
# Browsers remember for a year that this site is HTTPS only (sent only when cookies are Secure).
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


def add_security_headers(response: Response) -> Response:
    """The policy headers; a view that sets one itself keeps its own."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response


def init_browser_policy(app: Flask) -> None:
    """Send the headers with every response: pages, errors, static files, JSON."""
    app.after_request(add_security_headers)
