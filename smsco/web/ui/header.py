"""What the header of every page shows: the balance, its age and the gateway alerts."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from flask_login import current_user

from ..extensions import db
from ..models import BalanceSnapshot, GatewayAlert


def latest_balance_reading():
    """The newest balance snapshot as a row (``at``, ``balance``), or None."""
    return db.session.execute(
        db.select(BalanceSnapshot.at, BalanceSnapshot.balance)
        .order_by(BalanceSnapshot.id.desc()).limit(1)
    ).first()


def header_context() -> dict[str, object]:
    """The latest balance and the active alerts, for the header of every page."""
    if not current_user.is_authenticated:
        return {}
    snapshot = latest_balance_reading()
    alerts = db.session.scalars(db.select(GatewayAlert)).all()
    low = current_app.config["SMSCO_LOW_BALANCE"]
    return {
        "balance": snapshot.balance if snapshot else None,
        "balance_at": snapshot.at if snapshot else None,
        "balance_low": snapshot is not None and snapshot.balance < low,
        "alerts": {alert.kind: alert for alert in alerts},
        "now_utc": datetime.now(UTC),
    }

