"""History pages over 1,000,000 messages: through the app vs the raw SQL.

Run: ``.venv/bin/python bench/bench_history.py [--rows 1000000] [--repeat 30] [--rebuild]``;
with ``TEST_DATABASE_URL`` set (a PostgreSQL URL) it measures on PostgreSQL too.
The data set (``dataset.py``, 90 days) is built once per database and reused.
Each case is timed through the app (Flask test client, logged in, full
rendering) and as the equivalent SELECT run directly with the database's driver.
Targets: p95 <= 100 ms at any depth and <= 3x the raw query.
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

TARGET_MS = 100
RAW_SELECT = ('SELECT m.*, u.* FROM message m LEFT JOIN "user" u ON u.id = m.created_by_id'
              " WHERE {where} ORDER BY m.id DESC LIMIT 51")


def history_data(rows: int) -> DataSet:
    return DataSet("history", rows, timedelta(days=90))


def cases(target: Target, connection) -> list[tuple[str, str, str, tuple]]:
    """(name, app URL, raw WHERE, raw parameters) for each measured view."""
    deep = connection.execute(
        "SELECT id FROM message ORDER BY id DESC LIMIT 1 OFFSET 9999").fetchone()[0]
    number = connection.execute("SELECT recipient FROM message WHERE state = 'delivered'"
                                " ORDER BY id DESC LIMIT 1").fetchone()[0]
    written = f"+{number[:3]} {number[3:6]} {number[6:8]} {number[8:10]} {number[10:]}"
    operator = 3
    # The app searches text with ILIKE on PostgreSQL and LIKE on SQLite (both ignore case).
    like = "ILIKE" if target.postgres_url else "LIKE"
    ids = ",".join(str(deep + i) for i in range(50))
    return [
        ("first page", "/history", "1 = 1", ()),
        ("10,000 rows deep", f"/history?before={deep}", "m.id < ?", (deep,)),
        ("delivered + number", f"/history?state=delivered&q={written}",
         "m.state = 'delivered' AND m.recipient = ?", (number,)),
        ("text search", "/history?q=parcel", f"m.body {like} '%parcel%'", ()),
        ("rare text search", "/history?q=club+xyz", f"m.body {like} '%club xyz%'", ()),
        ("operator + sender", f"/history?operator={operator}&sender=Clinic",
         "m.created_by_id = ? AND m.sender = 'Clinic'", (operator,)),
        ("failed, last 30 days", "/history?state=failed&from=2029-12-02&to=2030-01-01",
         "m.state = 'failed' AND m.created_at >= '2029-12-01 20:00:00'"
         " AND m.created_at < '2030-01-01 20:00:00'", ()),
        ("one day, 60 days back", "/history?from=2029-11-01&to=2029-11-01",
         "m.created_at >= '2029-10-31 20:00:00' AND m.created_at < '2029-11-01 20:00:00'", ()),
        ("from 80 days back (wide)", "/history?from=2029-10-13",
         "m.created_at >= '2029-10-12 20:00:00'", ()),
        ("short number prefix", "/history?q=599", "substr(m.recipient, 1, 6) = '995599'", ()),
        ("updates JSON, 50 ids", f"/history/updates?ids={ids}", f"m.id IN ({ids})", ()),
    ]


def measure(target: Target, repeat: int) -> list[str]:
    """Time every case on one database; returns the names of cases over the target."""
    web = logged_in_client(bench_app(target))
    connection = target.raw_connection()
    print(f"\n{target.label}: {target.data.rows:,} messages over 90 days")
    print(f"{'case':24} {'app p50':>8} {'app p95':>8} {'raw p50':>8} {'raw p95':>8}"
          f" {'ratio':>6} {'app cpu':>8}  (ms; ratio = app p50 / raw p50)")
    failures = []
    for name, url, where, params in cases(target, connection):
        sql = target.placeholders(RAW_SELECT.format(where=where))

        def through_app(url=url):
            reply = web.get(url)
            assert reply.status_code == 200, (url, reply.status_code)

        def raw(sql=sql, params=params):
            connection.execute(sql, params).fetchall()

        app_ms, cpu_ms = timed_with_cpu(through_app, repeat)
        raw_ms = timed(raw, repeat)
        ratio = statistics.median(app_ms) / statistics.median(raw_ms)
        print(f"{name:24} {statistics.median(app_ms):8.2f} {p95(app_ms):8.2f}"
              f" {statistics.median(raw_ms):8.2f} {p95(raw_ms):8.2f} {ratio:6.1f}"
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
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--database", choices=("all", "sqlite", "postgresql"), default="all")
    args = parser.parse_args()
    chosen = targets(history_data(args.rows), args.database)
    for target in chosen:
        ensure_built(target, args.rebuild)
    for target in chosen:
        measure(target, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
