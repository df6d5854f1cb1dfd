"""Stored values as operators read them: local times, ages, money, numbers, gateway codes."""

from __future__ import annotations

from copy import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

import flask_babel
import phonenumbers
from babel import Locale
from babel.dates import format_skeleton
from babel.numbers import NumberPattern, get_group_symbol, get_minus_sign_symbol
from flask import current_app, g, has_request_context

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


def number(value: float | int | None) -> str:
    """Template filter: a count or amount as the language writes it (1,234 · 1 234)."""
    if value is None:
        return "—"
    styles = _number_styles(_locale())
    if isinstance(value, int) and styles.group is not None:
        # Whole numbers are most of what reports show: Babel's pattern applied by hand
        # (tests check it writes exactly what Babel writes).
        digits = f"{abs(value):,}".replace(",", styles.group)
        return styles.minus + digits if value < 0 else digits
    return styles.decimal.apply(value, styles.locale)


def percent(fraction: float | None, digits: int = 1) -> str:
    """Template filter: a share (0.934) as the language writes a percentage ("93.4%",
    "93,4 %"), with ``digits`` decimals; "—" for none."""
    if fraction is None:
        return "—"
    language = _locale()
    return _percent_pattern(language, digits).apply(fraction, _number_styles(language).locale)


@dataclass(frozen=True)
class _NumberStyles:
    locale: Locale
    decimal: NumberPattern
    group: str | None  # the grouping symbol when whole numbers group by threes
    minus: str


@lru_cache(maxsize=16)
def _number_styles(locale_name: str) -> _NumberStyles:
    locale = Locale.parse(locale_name)
    decimal = locale.decimal_formats[None]
    plain = (decimal.grouping == (3, 3) and decimal.prefix == ("", "-")
             and decimal.suffix == ("", ""))
    return _NumberStyles(locale, decimal, get_group_symbol(locale) if plain else None,
                         get_minus_sign_symbol(locale))


@lru_cache(maxsize=32)
def _percent_pattern(locale_name: str, digits: int) -> NumberPattern:
    pattern = copy(Locale.parse(locale_name).percent_formats[None])
    pattern.frac_prec = (digits, digits)
    return pattern


def _locale() -> str:
    """The request's language ("en" outside a request), looked up once per request: a
    report formats a thousand numbers."""
    if not has_request_context():
        return str(flask_babel.get_locale() or "en")
    language = g.get("smsco_number_language")
    if language is None:
        language = g.smsco_number_language = str(flask_babel.get_locale() or "en")
    return language


def day_label(day: date, year: bool = False) -> str:
    """A day as the language writes it briefly ("3 Mar", "Mar 3", "3 მარ")."""
    return format_skeleton("yMMMd" if year else "MMMd", day, locale=_locale())


def month_label(day: date) -> str:
    """The month of ``day`` with its year ("Mar 2030", "март 2030 г.")."""
    return format_skeleton("yMMM", day, locale=_locale())


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


