"""The overview: balance and its trend, today's messages, the latest ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..models import BalanceSnapshot, Message, utcnow
from ..sending.jobs import record_balance
from ..ui.charts import sparkline
from ..ui.formatting import lari, local_zone

bp = Blueprint("main", __name__)

RECENT = 8
TREND_DAYS = 7


@bp.get("/")
def index():
    """Balance trend, today's counts by state, and the latest messages."""
    today = _local_midnight_utc()
    counts = dict(db.session.execute(
        select(Message.state, func.count()).where(Message.created_at >= today)
        .group_by(Message.state)).all())
    credits = db.session.scalar(select(func.coalesce(func.sum(Message.credits), 0))
                                .where(Message.sent_at >= today))
    recent = db.session.scalars(select(Message).order_by(Message.id.desc()).limit(RECENT)).all()
    trend = db.session.execute(
        select(BalanceSnapshot.at, BalanceSnapshot.balance)
        .where(BalanceSnapshot.at >= utcnow() - timedelta(days=TREND_DAYS))
        .order_by(BalanceSnapshot.id)).all()
    return render_template("index.html", counts=counts, credits=credits, recent=recent,
                           trend=sparkline(trend, label=_("Balance over the last 7 days")))


@bp.post("/balance/check")
def check_balance():
    """Read the balance from the gateway now."""
    snapshot = record_balance()
    if snapshot is None:
        flash(_("The balance could not be read from the gateway just now; the last reading is "
                "shown. Try again in a minute."), "error")
    else:
        flash(_("Balance read from the gateway: %(balance)s.", balance=lari(snapshot.balance)),
              "success")
    return redirect(url_for("main.index"))


def _local_midnight_utc() -> datetime:
    local_now = datetime.now(local_zone())
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(UTC).replace(tzinfo=None)
