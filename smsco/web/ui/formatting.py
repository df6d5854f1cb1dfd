"""Stored values as operators read them: local times, ages, money, numbers, gateway codes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import phonenumbers
from flask import current_app

from smsco import DeliveryStatus

from ..models import ScheduleMode, State, utcnow


def local_zone() -> ZoneInfo:
    """The display time zone (``SMSCO_TIMEZONE``)."""
    return ZoneInfo(current_app.config["SMSCO_TIMEZONE"])


def to_local(moment: datetime | None) -> datetime | None:
    """A stored naive-UTC time in the display zone."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(local_zone())


def localtime(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """Template filter: a stored time as local text ("" for none)."""
    local = to_local(moment)
    return local.strftime(fmt) if local else ""


def age(moment: datetime | None) -> str:
    """Template filter: how long ago, in words ("just now", "5 min ago", "3 h ago")."""
    if moment is None:
        return "never"
    seconds = max(0, int((utcnow() - moment).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def sent_at_text(message) -> str:
    """The "Sent at" cell: the local send time, or when a held message is due."""
    if message.sent_at is not None:
        return localtime(message.sent_at)
    if message.state == State.QUEUED and message.schedule_mode == ScheduleMode.HELD:
        return f"scheduled {localtime(message.send_at)}"
    return ""


def local_iso(moment: datetime | None) -> str:
    """A stored time as local ISO 8601 to the second ("" for none), for exports."""
    local = to_local(moment)
    return local.isoformat(timespec="seconds") if local else ""


def gateway_label(code: int | None) -> str:
    """The gateway's delivery status in words ("" when there is none)."""
    if code is None:
        return ""
    try:
        return DeliveryStatus(code).label
    except ValueError:
        return f"Status {code}"


def lari(amount: Decimal | None) -> str:
    """Template filter: an amount in lari with two decimals."""
    return "—" if amount is None else f"{Decimal(amount):,.2f} GEL"


def tetri(credits: int | None) -> str:
    """Template filter: credits (tetri) as shown in tables."""
    return "" if credits is None else str(credits)


def phone(number: str | None) -> str:
    """Template filter: a stored number (``995599445448``) as people read it."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse("+" + number)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


