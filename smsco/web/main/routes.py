"""Front page: the gateway balance (the dashboard grows from here)."""

from __future__ import annotations

from flask import Blueprint, render_template

from smsco import SmscoError

from ..gateway import get_client

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Show the gateway balance, or why it cannot be read."""
    balance, error = None, None
    try:
        balance = get_client().balance()
    except SmscoError as exc:
        error = str(exc)
    return render_template("index.html", balance=balance, error=error)
