"""Quiet hours: when marketing campaigns must not send (Georgian practice).

Default: no messages between 22:00 and 08:00 on working days and between
20:00 and 09:00 at weekends, in ``SMSCO_TIMEZONE``. A quiet night starts by
the rule of the evening's day and ends by the rule of the next morning's day:
Friday 22:00 → Saturday 09:00, Sunday 20:00 → Monday 08:00.

``SMSCO_QUIET_HOURS`` is ``"22:00-08:00,20:00-09:00"`` (working days, then
weekends) or ``off``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_QUIET_HOURS = "22:00-08:00,20:00-09:00"
_WINDOW = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class QuietHours:
    """Evening start and morning end for working days and for weekends."""

    workday: tuple[time, time]
    weekend: tuple[time, time]

    def _rule(self, day: date) -> tuple[time, time]:
        return self.weekend if day.weekday() >= 5 else self.workday

    def window_end(self, local: datetime) -> datetime | None:
        """If ``local`` (aware, local zone) is in quiet hours, when they end; else None."""
        today = local.date()
        evening_start = self._rule(today)[0]
        morning_end = self._rule(today)[1]
        if local.time() < morning_end:
            return datetime.combine(today, morning_end, tzinfo=local.tzinfo)
        if local.time() >= evening_start:
            tomorrow = today + timedelta(days=1)
            return datetime.combine(tomorrow, self._rule(tomorrow)[1], tzinfo=local.tzinfo)
        return None


def parse_quiet_hours(value: str | None) -> QuietHours | None:
    """``SMSCO_QUIET_HOURS`` as ``QuietHours``; ``None`` when turned off."""
    value = (value or DEFAULT_QUIET_HOURS).strip()
    if value.lower() in {"off", "none", "0", "false"}:
        return None
    windows = _WINDOW.findall(value)
    if len(windows) not in (1, 2):
        raise ValueError(f"SMSCO_QUIET_HOURS {value!r}: expected 'HH:MM-HH:MM,HH:MM-HH:MM' "
                         "(working days, weekends) or 'off'")
    parsed = [(time(int(a), int(b)), time(int(c), int(d))) for a, b, c, d in windows]
    return QuietHours(parsed[0], parsed[-1])


def quiet_until(rule: QuietHours | None, moment_utc: datetime, zone: ZoneInfo) -> datetime | None:
    """When the quiet hours around a naive-UTC moment end, as naive UTC; None if not quiet."""
    if rule is None:
        return None
    end = rule.window_end(moment_utc.replace(tzinfo=UTC).astimezone(zone))
    return end.astimezone(UTC).replace(tzinfo=None) if end else None
