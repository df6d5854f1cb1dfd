"""The report filters: read from the query string, checked, and written back into links.

A GET form (nothing changes), so no WTForms: each field is parsed here and
anything that does not parse becomes an error in words beside its field,
while the page falls back to the default (the last 30 days).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..params import bounded_int
from .queries import Scope

PRESETS = {
    "today": _l("Today"), "7d": _l("Last 7 days"), "30d": _l("Last 30 days"),
    "this_month": _l("This month"), "last_month": _l("Last month"), "custom": _l("Custom dates"),
}
GROUPINGS = {"day": _l("Day"), "week": _l("Week"), "month": _l("Month")}
KINDS = {"single": _l("Single messages"), "campaign": _l("Campaign messages")}
BREAKDOWNS = {"sender": _l("By sender ID"), "operator": _l("By operator"),
              "campaign": _l("By campaign")}
SORTS = ("name", "messages", "sent", "delivered", "rate", "failed", "unknown", "spend")
DEFAULT_PRESET = "30d"
NO_SENDER = "-"  # the sender filter's value for messages sent without a sender ID
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
MAX_DAYS = 5 * 366  # the longest custom range
_SENDER = re.compile(r"^[A-Za-z0-9]{1,11}$")


@dataclass(frozen=True)
class ReportFilters:
    """What the operator asked to see; ``errors`` names fields that did not parse."""

    preset: str = DEFAULT_PRESET
    date_from: date | None = None  # custom range, both ends included
    date_to: date | None = None
    group: str | None = None  # None: chosen from the range's length
    sender: str | None = None  # NO_SENDER for "no sender ID"
    operator_id: int | None = None
    campaign_id: int | None = None
    kind: str | None = None
    by: str = "sender"
    sort: str = "sent"
    descending: bool = True
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ReportFilters:
        """Read the filters; a value that does not parse is left out and explained."""
        errors: dict[str, str] = {}
        preset = args.get("range") or DEFAULT_PRESET
        if preset not in PRESETS:
            errors["range"], preset = _("Choose one of the listed periods."), DEFAULT_PRESET
        date_from = date_to = None
        if preset == "custom":
            date_from, date_to = _custom_dates(args, errors)
            if date_from is None or date_to is None:
                preset = DEFAULT_PRESET
        return cls(
            preset=preset, date_from=date_from, date_to=date_to,
            group=_choice(args, "group", GROUPINGS, errors),
            sender=_sender(args.get("sender"), errors),
            operator_id=_positive(args, "operator", errors),
            campaign_id=_positive(args, "campaign", errors),
            kind=_choice(args, "kind", KINDS, errors),
            by=args.get("by") if args.get("by") in BREAKDOWNS else "sender",
            sort=args.get("sort") if args.get("sort") in SORTS else "sent",
            descending=args.get("dir") != "asc",
            errors=errors,
        )

    def span(self, today: date) -> tuple[date, date]:
        """The local days counted: ``(first, day after the last)``."""
        if self.preset == "custom" and self.date_from and self.date_to:
            return self.date_from, self.date_to + timedelta(days=1)
        tomorrow = today + timedelta(days=1)
        first_of_month = today.replace(day=1)
        if self.preset == "today":
            return today, tomorrow
        if self.preset == "7d":
            return today - timedelta(days=6), tomorrow
        if self.preset == "this_month":
            return first_of_month, tomorrow
        if self.preset == "last_month":
            return (first_of_month - timedelta(days=1)).replace(day=1), first_of_month
        return today - timedelta(days=29), tomorrow

    def scope(self, today: date) -> Scope:
        """The messages these filters count."""
        start, end = self.span(today)
        return Scope(start=start, end=end,
                     sender="" if self.sender == NO_SENDER else self.sender,
                     operator_id=self.operator_id, campaign_id=self.campaign_id,
                     kind=self.kind)

    def to_args(self, **changes: object) -> dict[str, str]:
        """The filters as query-string arguments, with ``changes`` applied (for links)."""
        filters = replace(self, **changes) if changes else self
        args = {
            "range": filters.preset,
            "from": filters.date_from.isoformat() if filters.date_from else "",
            "to": filters.date_to.isoformat() if filters.date_to else "",
            "group": filters.group or "", "sender": filters.sender or "",
            "operator": str(filters.operator_id or ""),
            "campaign": str(filters.campaign_id or ""), "kind": filters.kind or "",
            "by": filters.by, "sort": filters.sort,
            "dir": "desc" if filters.descending else "asc",
        }
        if filters.preset != "custom":
            args["from"] = args["to"] = ""
        return {key: value for key, value in args.items() if value}


def _custom_dates(args: Mapping[str, str],
                  errors: dict[str, str]) -> tuple[date | None, date | None]:
    date_from = _date(args.get("from"), "from", errors)
    date_to = _date(args.get("to"), "to", errors)
    if date_from and date_to and date_from > date_to:
        errors["to"] = _("The end date must not be before the start date.")
        return None, None
    if date_from and date_to and (date_to - date_from).days >= MAX_DAYS:
        errors["to"] = _("Choose at most five years at a time.")
        return None, None
    return date_from, date_to


def _date(value: str | None, name: str, errors: dict[str, str]) -> date | None:
    text = (value or "").strip()
    if not text:
        errors[name] = _("Enter a date for a custom period.")
        return None
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        errors[name] = _("Enter a date like 2030-03-01.")
        return None
    if not EARLIEST <= parsed <= LATEST:
        errors[name] = _("Enter a date between the years 2000 and 2099.")
        return None
    return parsed


def _choice(args: Mapping[str, str], name: str, choices: Mapping[str, object],
            errors: dict[str, str]) -> str | None:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    if value not in choices:
        errors[name] = _("Choose one of the listed values.")
        return None
    return value


def _sender(value: str | None, errors: dict[str, str]) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if text == NO_SENDER or _SENDER.match(text):
        return text
    errors["sender"] = _("A sender ID is up to 11 Latin letters and digits.")
    return None


def _positive(args: Mapping[str, str], name: str, errors: dict[str, str]) -> int | None:
    text = (args.get(name) or "").strip()
    if not text:
        return None
    number = bounded_int(text)  # the one bounded reading of ids (params.py)
    if number is not None:
        return number
    errors[name] = _("Choose one of the listed values.")
    return None
