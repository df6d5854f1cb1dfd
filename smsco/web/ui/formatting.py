"""Stored values as operators read them, in the page's language: local times, ages, money,
numbers, phone numbers; and the 24-hour times operators type (send time, history dates).

One helper per kind, backed by Babel's CLDR data (month names, separators, the time
zone's city). The patterns are written out per language because CLDR's defaults are not
what Georgian and Russian banks and ministries print: ka/ru ``25.11.2026 14:05`` and
``12,50 ₾``; en ``25 Nov 2026, 14:05`` and ``₾12.50``; always 24-hour, always in
``SMSCO_TIMEZONE``. The per-language tables are built once, and formatting is plain
string work: a history page formats a hundred values.
"""

from __future__ import annotations

import re
from copy import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

import flask_babel
import phonenumbers
from babel import Locale
from babel.dates import format_skeleton, get_timezone, get_timezone_location
from babel.numbers import NumberPattern, get_group_symbol, get_minus_sign_symbol
from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from flask_babel import ngettext

from ..models import ScheduleMode, State, utcnow
from .i18n import current_language

LARI = "₾"
NBSP = "\u00a0"


@dataclass(frozen=True)
class Style:
    """How one language writes dates, times, numbers and money."""

    date: str  # str.format with d, m, y and mon (the month's short name)
    date_time: str  # the same with H and M (24-hour)
    date_time_seconds: str  # the same with S
    money: str  # str.format with amount
    months: tuple[str, ...]  # short month names, January first
    decimal: str
    group: str


# Explicit where CLDR differs from local practice (CLDR's ka and ru put a comma after
# the date; en uses AM/PM and "GEL12.50"): date, date-and-time separator, money.
PATTERNS = {
    "ka": ("{d:02}.{m:02}.{y}", " ", "{amount}" + NBSP + LARI),
    "ru": ("{d:02}.{m:02}.{y}", " ", "{amount}" + NBSP + LARI),
    "en": ("{d} {mon} {y}", ", ", LARI + "{amount}"),
}


@cache
def style_for(language: str) -> Style:
    """The formats of ``language`` (ka, en, ru), CLDR's names and separators filled in."""
    locale = Locale.parse(language)
    date, separator, money = PATTERNS.get(language, PATTERNS["en"])
    abbreviated = locale.months["format"]["abbreviated"]
    symbols = locale.number_symbols["latn"]
    clock = date + separator + "{H:02}:{M:02}"
    return Style(date, clock, clock + ":{S:02}", money,
                 tuple(abbreviated[month].rstrip(".") for month in range(1, 13)),
                 symbols["decimal"], symbols["group"])


def style() -> Style:
    """The formats of this request's language."""
    return style_for(current_language())


# -- time zone ---------------------------------------------------------------------


def local_zone() -> ZoneInfo:
    """The display time zone (``SMSCO_TIMEZONE``)."""
    return ZoneInfo(current_app.config["SMSCO_TIMEZONE"])


@cache
def _zone_city(zone: str, language: str) -> str:
    return get_timezone_location(get_timezone(zone), locale=language, return_city=True)


def zone_name() -> str:
    """The display zone as people name it, in the page's language ("Tbilisi", "თბილისი")."""
    return _zone_city(current_app.config["SMSCO_TIMEZONE"], current_language())


def to_local(moment: datetime | None) -> datetime | None:
    """A stored naive-UTC time in the display zone."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(local_zone())


# -- dates and times shown -----------------------------------------------------------


def datetime_text(local: datetime, seconds: bool = False) -> str:
    """A local date and 24-hour time as the page's language writes it."""
    shown = style()
    pattern = shown.date_time_seconds if seconds else shown.date_time
    return pattern.format(d=local.day, m=local.month, y=local.year,
                          mon=shown.months[local.month - 1], H=local.hour, M=local.minute,
                          S=local.second)


def localtime(moment: datetime | None, fmt: str | bool | None = None,
              seconds: bool = False) -> str:
    """Template filter: a stored time in the display zone ("25.11.2026 14:05"; "" for none).

    ``fmt``, when a strftime format, writes the local time with it (machine-read text
    such as "%Y-%m-%d"); when a bool, it is ``seconds``.
    """
    local = to_local(moment)
    if local is None:
        return ""
    if isinstance(fmt, str):
        return local.strftime(fmt)
    return datetime_text(local, bool(fmt) or seconds)


def clock(moment: datetime | None) -> str:
    """Template filter: only the local 24-hour time of a stored time ("07:00")."""
    local = to_local(moment)
    return f"{local:%H:%M}" if local else ""


def age(moment: datetime | None) -> str:
    """Template filter: how long ago, in words ("just now", "5 min ago", "3 h ago")."""
    if moment is None:
        return _("never")
    seconds = max(0, int((utcnow() - moment).total_seconds()))
    if seconds < 60:
        return _("just now")
    if seconds < 3600:
        return ngettext("%(num)d min ago", "%(num)d min ago", seconds // 60)
    if seconds < 86400:
        return ngettext("%(num)d h ago", "%(num)d h ago", seconds // 3600)
    return ngettext("%(num)d day ago", "%(num)d days ago", seconds // 86400)


def sent_at_text(message) -> str:
    """The "Sent at" cell: the local send time, or when a held message is due."""
    if message.sent_at is not None:
        return localtime(message.sent_at)
    if message.state == State.QUEUED and message.schedule_mode == ScheduleMode.HELD:
        return _("scheduled %(time)s", time=localtime(message.send_at))
    return ""


def local_iso(moment: datetime | None) -> str:
    """A stored time as local ISO 8601 to the second ("" for none), for exports."""
    local = to_local(moment)
    return local.isoformat(timespec="seconds") if local else ""


# -- numbers and money ---------------------------------------------------------------


def _grouped(digits: str, shown: Style) -> str:
    """Python's "1,234.50" in the language's separators."""
    return digits.replace(",", "\0").replace(".", shown.decimal).replace("\0", shown.group)


def _money(text: str, negative: bool) -> str:
    shown = style()
    return ("-" if negative else "") + shown.money.format(amount=_grouped(text, shown))


def lari(amount: Decimal | float | None) -> str:
    """Template filter: an amount in lari ("12,50 ₾" in ka/ru, "₾12.50" in en; "—" for none)."""
    if amount is None:
        return "—"
    value = Decimal(amount)
    return _money(f"{abs(value):,.2f}", value < 0)


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
    """Template filter: credits (tetri, 100 to the lari) as money ("0,45 ₾"; "" for none)."""
    if credits is None:
        return ""
    whole, cents = divmod(abs(int(credits)), 100)
    return _money(f"{whole:,}.{cents:02}", credits < 0)


def money_format() -> dict[str, str]:
    """How the browser writes money (static/message.js): the same pattern and separators."""
    shown = style()
    return {"pattern": shown.money.replace("{amount}", "%(amount)s"),
            "decimal": shown.decimal, "group": shown.group}


def phone(number: str | None) -> str:
    """Template filter: a stored number (``995599445448``) as people read it."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse("+" + number)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# -- times typed by operators ----------------------------------------------------------

_TIME = r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
_DATES = (
    r"(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})",  # 2026-11-25
    r"(?P<nd>\d{1,2})[./](?P<nm>\d{1,2})[./](?P<ny>\d{4})",  # 25.11.2026, 25/11/2026
    r"(?P<wd>\d{1,2})\s+(?P<wm>[^\W\d_]+)\.?,?\s+(?P<wy>\d{4})",  # 25 Nov 2026
)
_TYPED = re.compile(rf"^\s*(?:{'|'.join(_DATES)})(?:\s*[,T]?\s*{_TIME})?\s*$", re.IGNORECASE)
EXAMPLE = datetime(2026, 11, 25, 14, 5)


@dataclass(frozen=True)
class Typed:
    """A date, and a time when one was given, as an operator typed it (local, naive)."""

    moment: datetime
    has_time: bool


def _month_number(name: str) -> int | None:
    """A month from its name in the page's language or in English ("Nov", "november")."""
    name = name.lower().rstrip(".")
    for language in {current_language(), "en"}:
        locale = Locale.parse(language)
        for width in ("abbreviated", "wide"):
            for number_, month in locale.months["format"][width].items():
                if month.lower().rstrip(".") == name:
                    return number_
    return None


def parse_typed(text: str) -> Typed:
    """A typed date with an optional 24-hour time: ``25.11.2026 14:05`` (ka/ru),
    ``25 Nov 2026, 14:05`` (en) or ISO ``2026-11-25 14:05``; ``ValueError`` in words."""
    match = _TYPED.match(text or "")
    if match is None:
        raise ValueError(_("Write the date and 24-hour time like %(example)s.",
                           example=datetime_input(EXAMPLE)))
    parts = match.groupdict()
    if parts["iy"]:
        year, month, day = parts["iy"], parts["im"], parts["id"]
    elif parts["ny"]:
        year, month, day = parts["ny"], parts["nm"], parts["nd"]
    else:
        year, month, day = parts["wy"], _month_number(parts["wm"]), parts["wd"]
        if month is None:
            raise ValueError(_("%(month)s is not a month.", month=parts["wm"]))
    hour, minute, second = (int(parts[name] or 0) for name in ("hour", "minute", "second"))
    try:
        moment = datetime(int(year), int(month), int(day), hour, minute, second)
    except ValueError:
        raise ValueError(_("There is no such date or time: %(text)s.", text=text.strip())) from None
    return Typed(moment, parts["hour"] is not None)


def datetime_input(local: datetime | None) -> str:
    """A local time as the text of a time input (how :func:`parse_typed` reads it back)."""
    return datetime_text(local) if local else ""


def date_input(day: date | None) -> str:
    """A local day as the text of a date input ("25.11.2026", "25 Nov 2026")."""
    if not day:
        return ""
    shown = style()
    return shown.date.format(d=day.day, m=day.month, y=day.year,
                             mon=shown.months[day.month - 1])


def datetime_example() -> str:
    """A sample of what a time input takes, for its placeholder and hint."""
    return datetime_input(EXAMPLE)


def date_example() -> str:
    """A sample of what a date input takes."""
    return date_input(EXAMPLE.date())
