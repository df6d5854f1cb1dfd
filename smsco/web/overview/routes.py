"""The overview: balance and its trend, today's messages, the last 30 days, the latest ones."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..models import Message
from ..reports import presenters as report_presenters
from ..reports import services as report_services
from ..sending.jobs import record_balance
from ..ui.formatting import lari, local_zone

bp = Blueprint("main", __name__)

RECENT = 8
TREND_DAYS = 7
VOLUME_DAYS = 30


@bp.get("/")
def index():
    """Balance trend, today's counts by state, the last 30 days, and the latest messages."""
    today = _local_midnight_utc()
    counts = dict(db.session.execute(
        select(Message.state, func.count()).where(Message.created_at >= today)
        .group_by(Message.state)).all())
    credits = db.session.scalar(select(func.coalesce(func.sum(Message.credits), 0))
                                .where(Message.sent_at >= today))
    recent = db.session.scalars(select(Message).order_by(Message.id.desc()).limit(RECENT)).all()
    local_today = datetime.now(local_zone()).date()
    periods, figures = report_services.recent_days(local_today, VOLUME_DAYS)
    trend_days = report_services.last_days(local_today, TREND_DAYS)
    return render_template(
        "index.html", counts=counts, credits=credits, recent=recent,
        trend=report_presenters.balance_trend_chart(
            trend_days, report_services.closing_balances(trend_days)),
        volume=report_presenters.recent_chart(periods, figures))


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
