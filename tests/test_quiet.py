"""Quiet hours: Georgian practice, in Tbilisi time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from smsco.web.sending.quiet_hours import parse_quiet_hours, quiet_until

TBILISI = ZoneInfo("Asia/Tbilisi")
RULE = parse_quiet_hours(None)


def local(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=TBILISI)


@pytest.mark.parametrize(("moment", "end"), [
    ("2026-11-24 21:59", None),                 # Tuesday evening, still allowed
    ("2026-11-24 22:00", "2026-11-25 08:00"),   # Tuesday night until Wednesday 08:00
    ("2026-11-25 07:59", "2026-11-25 08:00"),
    ("2026-11-25 08:00", None),
    ("2026-11-27 22:30", "2026-11-28 09:00"),   # Friday night until Saturday 09:00
    ("2026-11-28 08:30", "2026-11-28 09:00"),   # Saturday morning
    ("2026-11-28 19:59", None),
    ("2026-11-28 20:00", "2026-11-29 09:00"),   # Saturday evening
    ("2026-11-29 20:15", "2026-11-30 08:00"),   # Sunday night until Monday 08:00
    ("2026-11-30 07:00", "2026-11-30 08:00"),
])
def test_default_windows(moment, end):
    found = RULE.window_end(local(moment))
    assert found == (local(end) if end else None)


def test_custom_and_off():
    rule = parse_quiet_hours("23:00-07:00,21:00-10:00")
    assert rule.window_end(local("2026-11-24 22:30")) is None
    assert rule.window_end(local("2026-11-28 09:30")) == local("2026-11-28 10:00")
    assert parse_quiet_hours("off") is None
    with pytest.raises(ValueError):
        parse_quiet_hours("nonsense")


def test_quiet_until_works_in_utc():
    utc_moment = datetime(2026, 11, 24, 18, 30)  # 22:30 in Tbilisi
    assert quiet_until(RULE, utc_moment, TBILISI) == datetime(2026, 11, 25, 4, 0)
    assert quiet_until(None, utc_moment, TBILISI) is None
