"""The reports page over 1,000,000 messages in 12 months: through the app vs raw SQL.

Run: ``.venv/bin/python bench/bench_reports.py [--rows 1000000] [--repeat 20] [--rebuild]``;
with ``TEST_DATABASE_URL`` set (a PostgreSQL URL) it measures on PostgreSQL too.
The data set (``dataset.py``: 12 months, a campaign every 3 days taking 30% of
the messages, a balance reading every 5 minutes) is built once per database.

Each case renders the whole page through the app (Flask test client, logged
in: five charts, their tables, a breakdown) and runs the raw aggregate the
page replaces: one GROUP BY over the same message rows with the database's
driver. Target: p95 <= 150 ms. The ratio (app p50 / raw p50) is below 1
when the day tallies beat counting the rows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dataset import (  # noqa: E402
    DataSet,
    Target,
    bench_app,
    ensure_built,
    logged_in_client,
    p95,
    targets,
    timed,
    timed_with_cpu,
)

TARGET_MS = 150
# The data ends 2030-01-01 00:00 UTC, 04:00 in Tbilisi (UTC+4, the display zone).
LAST_30_DAYS = "range=custom&from=2029-12-03&to=2030-01-01"
LAST_12_MONTHS = "range=custom&from=2029-01-02&to=2030-01-01&group=month"
RANGES = {LAST_30_DAYS: ("2029-12-02 20:00:00", "2030-01-01 20:00:00"),
          LAST_12_MONTHS: ("2029-01-01 20:00:00", "2030-01-01 20:00:00")}


def reports_data(rows: int) -> DataSet:
    return DataSet("reports", rows, timedelta(days=365), campaign_days=3, campaign_share=0.3,
                   snapshot_minutes=5)


def raw_aggregate(target: Target, group: str) -> str:
    """The GROUP BY the page would need without tallies: local day or month, outcome keys."""
    if target.postgres_url:
        local = "(created_at + interval '4 hours')"
        period = {"day": f"date({local})", "month": f"to_char({local}, 'YYYY-MM')"}
    else:
        local = "created_at, '+4 hours'"
        period = {"day": f"date({local})", "month": f"strftime('%Y-%m', {local})"}
    keys = period.get(group, group)
    return (f"SELECT {keys}, state, gateway_status, error_code, mes_id IS NOT NULL, count(*), "
            f"sum(credits) FROM message WHERE created_at >= ? AND created_at < ? "
            f"GROUP BY 1, 2, 3, 4, 5")


def cases(target: Target) -> list[tuple[str, str, str, tuple]]:
    """(name, app URL, raw SQL, its parameters) for each measured view."""
    thirty, year = RANGES[LAST_30_DAYS], RANGES[LAST_12_MONTHS]
    return [
        ("30 days by day", f"/reports?{LAST_30_DAYS}", raw_aggregate(target, "day"),
         thirty),
        ("12 months by month", f"/reports?{LAST_12_MONTHS}",
         raw_aggregate(target, "month"), year),
        ("12 months, by sender ID", f"/reports?{LAST_12_MONTHS}&by=sender",
         raw_aggregate(target, "sender"), year),
        ("12 months, by operator", f"/reports?{LAST_12_MONTHS}&by=operator",
         raw_aggregate(target, "created_by_id"), year),
        ("12 months, by campaign", f"/reports?{LAST_12_MONTHS}&by=campaign&sort=rate",
         raw_aggregate(target, "campaign_id"), year),
        ("30 days, one campaign", f"/reports?{LAST_30_DAYS}&kind=campaign&sender=Shop",
         raw_aggregate(target, "day").replace(
             "WHERE", "WHERE campaign_id IS NOT NULL AND sender = 'Shop' AND"), thirty),
        ("CSV, campaigns, 12 months", f"/reports/campaigns.csv?{LAST_12_MONTHS}",
         raw_aggregate(target, "campaign_id"), year),
    ]


def measure(target: Target, repeat: int) -> list[str]:
    """Time every case on one database; returns the names of cases over the target."""
    web = logged_in_client(bench_app(target))
    connection = target.raw_connection()
    print(f"\n{target.label}: {target.data.rows:,} messages over 12 months")
    print(f"{'case':26} {'app p50':>8} {'app p95':>8} {'raw p50':>8} {'raw p95':>8}"
          f" {'ratio':>6} {'app cpu':>8}  (ms; ratio = app p50 / raw p50)")
    failures = []
    for name, url, sql, params in cases(target):
        sql = target.placeholders(sql)

        def through_app(url=url):
            reply = web.get(url)
            assert reply.status_code == 200, (url, reply.status_code)

        def raw(sql=sql, params=params):
            connection.execute(sql, params).fetchall()

        app_ms, cpu_ms = timed_with_cpu(through_app, repeat)
        raw_ms = timed(raw, max(3, repeat // 4))
        ratio = statistics.median(app_ms) / statistics.median(raw_ms)
        print(f"{name:26} {statistics.median(app_ms):8.1f} {p95(app_ms):8.1f}"
              f" {statistics.median(raw_ms):8.1f} {p95(raw_ms):8.1f} {ratio:6.2f}"
              f" {statistics.median(cpu_ms):8.1f}", flush=True)
        if p95(app_ms) > TARGET_MS:
            failures.append(name)
    connection.close()
    print(f"p95 <= {TARGET_MS} ms everywhere on {target.label}:",
          "yes" if not failures else f"NO ({', '.join(failures)})")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--database", choices=("all", "sqlite", "postgresql"), default="all")
    args = parser.parse_args()
    chosen = targets(reports_data(args.rows), args.database)
    for target in chosen:
        ensure_built(target, args.rebuild)
    for target in chosen:
        measure(target, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
