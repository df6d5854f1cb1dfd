"""History pages over 1,000,000 messages: through the app vs the raw SQL.

Run: ``.venv/bin/python bench/bench_history.py [--rows 1000000] [--repeat 30] [--rebuild]``.
The database is built once (about a minute) under ``instance/bench/`` and
reused. Each case is timed through the app (Flask test client, logged in,
full rendering) and as the equivalent SELECT run directly with ``sqlite3``.
Targets: p95 <= 100 ms at any depth and <= 3x the raw query.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smsco.web.models import State  # noqa: E402

BENCH_DIR = ROOT / "instance" / "bench"
OPERATORS = ["admin", "olga", "nika", "tamar", "giorgi"]
SENDERS = ["Shop", "Bank", "Clinic"]
BODIES = [
    "Your code is {n}", "Order {n} has shipped", "Your appointment is confirmed for {n}",
    "Payment of {n} GEL received thank you", "Sale this weekend - 20 percent off",
    "Reminder: visit us at branch {n}", "Your parcel {n} is ready for pickup",
    "Balance low. Top up to keep your plan", "Welcome to our loyalty club",
    "Password reset code {n}",
]
STATE_WEIGHTS = {State.DELIVERED: 80, State.SENT: 4, State.FAILED: 8, State.UNKNOWN: 1,
                 State.CANCELED: 2, State.QUEUED: 5}
END = datetime(2030, 1, 1)
SPAN = timedelta(days=90)


def bench_app(db_path: Path):
    from smsco.web import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", "SMSCO_SCHEDULER": False,
        "TESTING": True, "SMSCO_DEMO": False, "SMSCO_USERNAME": "bench",
        "SMSCO_PASSWORD": "x", "SMSCO_BASE_URL": "http://127.0.0.1:9",
        "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
    })


def build(db_path: Path, rows: int) -> None:
    """Schema from the models, then bulk rows through the raw DBAPI."""
    from smsco.web.extensions import db

    db_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = db_path.with_suffix(".building")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    app = bench_app(tmp)
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    rng = random.Random(7)
    numbers = list({f"9955{rng.randrange(10**8):08d}" for _ in range(21_000)})[:20_000]
    states, weights = zip(*STATE_WEIGHTS.items(), strict=True)
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.executemany("INSERT INTO user (id, username, password_hash, role, active, created_at)"
                     " VALUES (?, ?, 'x', ?, 1, ?)",
                     [(i + 1, name, "admin" if i == 0 else "operator", END - SPAN)
                      for i, name in enumerate(OPERATORS)])
    step = SPAN / rows
    batch = []
    for n in range(rows):
        created = END - SPAN + step * n
        state = rng.choices(states, weights)[0] if n < rows - 2000 else State.QUEUED
        went = state in (State.SENT, State.DELIVERED)
        body = rng.choice(BODIES).format(n=rng.randrange(1000, 9999))
        batch.append((
            rng.choice(numbers), body, rng.choice(SENDERS), state, "now", created, created,
            rng.randrange(1, 6), 1, created + timedelta(seconds=2) if went else None,
            str(n + 1) if went else None, 5 if went else None,
            1 if state == State.DELIVERED else (2 if state == State.SENT else None),
            2904 if state == State.FAILED else None,
            "Gateway error 2904: SMS sending failed" if state == State.FAILED else None,
            created, 0,
        ))
        if len(batch) == 50_000:
            _insert(conn, batch)
            batch = []
    _insert(conn, batch)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    tmp.rename(db_path)


def _insert(conn: sqlite3.Connection, batch: list[tuple]) -> None:
    with conn:
        conn.executemany(
            "INSERT INTO message (recipient, body, sender, state, schedule_mode, send_at,"
            " created_at, created_by_id, attempts, sent_at, mes_id, credits, gateway_status,"
            " error_code, error_text, updated_at, checks, priority, quiet_hours)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)", batch)


RAW_SELECT = ("SELECT m.*, u.* FROM message m LEFT JOIN user u ON u.id = m.created_by_id"
              " WHERE {where} ORDER BY m.id DESC LIMIT 51")


def cases(conn: sqlite3.Connection) -> list[tuple[str, str, str, tuple]]:
    """(name, app URL, raw WHERE, raw parameters) for each measured view."""
    deep = conn.execute("SELECT id FROM message ORDER BY id DESC LIMIT 1 OFFSET 9999").fetchone()[0]
    number = conn.execute("SELECT recipient FROM message WHERE state = 'delivered'"
                          " ORDER BY id DESC LIMIT 1").fetchone()[0]
    written = f"+{number[:3]} {number[3:6]} {number[6:8]} {number[8:10]} {number[10:]}"
    operator = 3
    return [
        ("first page", "/history", "1", ()),
        ("10,000 rows deep", f"/history?before={deep}", "m.id < ?", (deep,)),
        ("delivered + number", f"/history?state=delivered&q={written}",
         "m.state = 'delivered' AND m.recipient = ?", (number,)),
        ("text search", "/history?q=parcel", "m.body LIKE '%parcel%'", ()),
        ("rare text search", "/history?q=club+xyz", "m.body LIKE '%club xyz%'", ()),
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
        ("updates JSON, 50 ids", "/history/updates?ids=" + ",".join(
            str(deep + i) for i in range(50)),
         "m.id IN ({})".format(",".join(str(deep + i) for i in range(50))), ()),
    ]


def timed(fn, repeat: int) -> list[float]:
    fn()  # warm caches
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def schema_tag() -> str:
    """A short hash of the models' schema: a cached database of another schema is rebuilt."""
    import hashlib

    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    from smsco.web.extensions import db

    ddl = []
    for table in db.metadata.sorted_tables:
        ddl.append(str(CreateTable(table).compile(dialect=sqlite.dialect())))
        ddl.extend(str(CreateIndex(index).compile(dialect=sqlite.dialect()))
                   for index in sorted(table.indexes, key=lambda i: i.name))
    return hashlib.sha256("".join(ddl).encode()).hexdigest()[:8]


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    db_path = BENCH_DIR / f"history-{args.rows}-{schema_tag()}.sqlite"
    if args.rebuild or not db_path.exists():
        print(f"Building {db_path} with {args.rows:,} messages ...", flush=True)
        start = time.perf_counter()
        build(db_path, args.rows)
        print(f"  built in {time.perf_counter() - start:.1f} s")
    app = bench_app(db_path)
    web = app.test_client()
    with web.session_transaction() as session:
        session["_user_id"] = "1"
        session["_fresh"] = True
        session["_session_version"] = 0
    conn = sqlite3.connect(db_path)
    print(f"{'case':24} {'app p50':>8} {'app p95':>8} {'raw p50':>8} {'raw p95':>8}"
          f" {'ratio':>6}  (ms; ratio = app p50 / raw p50)")
    failures = []
    for name, url, where, params in cases(conn):
        sql = RAW_SELECT.format(where=where)

        def through_app(url=url):
            reply = web.get(url)
            assert reply.status_code == 200, (url, reply.status_code)

        def raw(sql=sql, params=params):
            conn.execute(sql, params).fetchall()

        app_ms, raw_ms = timed(through_app, args.repeat), timed(raw, args.repeat)
        ratio = statistics.median(app_ms) / statistics.median(raw_ms)
        print(f"{name:24} {statistics.median(app_ms):8.2f} {p95(app_ms):8.2f}"
              f" {statistics.median(raw_ms):8.2f} {p95(raw_ms):8.2f} {ratio:6.1f}")
        if p95(app_ms) > 100:
            failures.append(name)
    print("p95 <= 100 ms everywhere:", "yes" if not failures else f"NO ({', '.join(failures)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
