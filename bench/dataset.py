"""The benchmarks' message history: a million messages built once, on SQLite or PostgreSQL.

Shared by ``bench_history.py`` and ``bench_reports.py``. Rows are generated
with a fixed seed (states, gateway statuses, causes, senders, operators,
campaigns) and loaded through the raw driver (``executemany`` on SQLite,
``COPY`` on PostgreSQL) with the report tally triggers off; the tallies are
then recounted once, as ``flask --app app rebuild-rollups`` does.

SQLite files live under ``instance/bench/``. PostgreSQL uses the database of
``TEST_DATABASE_URL``, one schema per data set (``bench_<name>``), so both
benchmarks keep their data between runs. A data set is rebuilt when the
models' schema or its parameters change.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from smsco.web.models import State

ROOT = Path(__file__).resolve().parents[1]
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
GATEWAY_FAILURES = (3, 5, 6)  # Failed, Expired, Rejected
END = datetime(2030, 1, 1)
MESSAGE_COLUMNS = (
    "recipient", "body", "sender", "state", "schedule_mode", "send_at", "created_at",
    "created_by_id", "attempts", "sent_at", "mes_id", "credits", "gateway_status", "error_code",
    "error_text", "updated_at", "checks", "priority", "quiet_hours", "campaign_id")


@dataclass(frozen=True)
class DataSet:
    """What to build: ``rows`` messages over ``span`` ending at ``END``; a campaign every
    ``campaign_days`` days takes ``campaign_share`` of the messages; a balance reading
    every ``snapshot_minutes`` (0: none)."""

    name: str
    rows: int
    span: timedelta
    campaign_days: int = 0
    campaign_share: float = 0.0
    snapshot_minutes: int = 0

    @property
    def start(self) -> datetime:
        return END - self.span

    @property
    def campaigns(self) -> int:
        return self.span.days // self.campaign_days if self.campaign_days else 0

    def tag(self) -> str:
        """Its parameters and the models' schema, hashed: a cached copy of another is rebuilt."""
        return hashlib.sha256(f"{self}{schema_ddl()}".encode()).hexdigest()[:8]


def schema_ddl() -> str:
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    from smsco.web.extensions import db

    ddl = []
    for table in db.metadata.sorted_tables:
        ddl.append(str(CreateTable(table).compile(dialect=sqlite.dialect())))
        ddl.extend(str(CreateIndex(index).compile(dialect=sqlite.dialect()))
                   for index in sorted(table.indexes, key=lambda i: i.name))
    return "".join(ddl)


def message_rows(data: DataSet, seed: int = 7) -> Iterator[tuple]:
    """The messages, oldest first, as tuples in ``MESSAGE_COLUMNS`` order."""
    rng = random.Random(seed)
    numbers = list({f"9955{rng.randrange(10**8):08d}" for _ in range(21_000)})[:20_000]
    states, weights = zip(*STATE_WEIGHTS.items(), strict=True)
    step = data.span / data.rows
    for n in range(data.rows):
        created = data.start + step * n
        state = rng.choices(states, weights)[0] if n < data.rows - 2000 else State.QUEUED
        reached = state in (State.SENT, State.DELIVERED) or (
            state == State.FAILED and rng.random() < 0.6)
        status = {State.DELIVERED: 1, State.SENT: 2}.get(state)
        if state == State.FAILED and reached:
            status = rng.choice(GATEWAY_FAILURES)
        refused = state == State.FAILED and not reached
        campaign = None
        if data.campaigns and rng.random() < data.campaign_share:
            campaign = min(data.campaigns, (created - data.start).days // data.campaign_days + 1)
        yield (
            rng.choice(numbers), rng.choice(BODIES).format(n=rng.randrange(1000, 9999)),
            rng.choice(SENDERS), state, "now", created, created, rng.randrange(1, 6), 1,
            created + timedelta(seconds=2) if reached else None,
            str(n + 1) if reached else None, 5 if reached else None, status,
            2904 if refused else None,
            "Gateway error 2904: SMS sending failed" if refused else None,
            created, 0, 1 if campaign else 0, False, campaign,
        )


def snapshot_rows(data: DataSet) -> Iterator[tuple]:
    """Balance readings: spending down, topped up to 1,000 GEL whenever below 100."""
    if not data.snapshot_minutes:
        return
    balance, at = Decimal("1000.00"), data.start
    rng = random.Random(11)
    while at < END:
        yield at, balance
        balance -= Decimal(rng.randrange(0, 120)) / 100
        if balance < 100:
            balance = Decimal("1000.00")
        at += timedelta(minutes=data.snapshot_minutes)


def user_rows(data: DataSet) -> list[tuple]:
    return [(i + 1, name, "x", "admin" if i == 0 else "operator", True, data.start)
            for i, name in enumerate(OPERATORS)]


def campaign_rows(data: DataSet) -> list[tuple]:
    return [(k, f"Campaign {k}", "Sale this weekend", SENDERS[k % len(SENDERS)], True, True,
             "now", False, False, f"bench-{k}", 0, 0, 0,
             data.start + timedelta(days=(k - 1) * data.campaign_days), 1 + k % 5)
            for k in range(1, data.campaigns + 1)]


USER_INSERT = ('INSERT INTO "user" (id, username, password_hash, role, active, created_at) '
               "VALUES (?, ?, ?, ?, ?, ?)")
CAMPAIGN_INSERT = (
    "INSERT INTO campaign (id, name, body, sender, marketing, quiet_hours, schedule_mode, "
    "paused, canceled, idempotency_key, recipient_count, invalid_count, duplicate_count, "
    "created_at, created_by_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


# -- where the data lives ----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A database to build into and measure: a SQLite file or a PostgreSQL schema."""

    data: DataSet
    postgres_url: str | None = None  # TEST_DATABASE_URL

    @property
    def schema(self) -> str:
        return f"bench_{self.data.name}"

    @property
    def sqlite_path(self) -> Path:
        return BENCH_DIR / f"{self.data.name}-{self.data.rows}-{self.data.tag()}.sqlite"

    @property
    def url(self) -> str:
        if self.postgres_url is None:
            return f"sqlite:///{self.sqlite_path}"
        joiner = "&" if "?" in self.postgres_url else "?"
        return f"{self.postgres_url}{joiner}options={quote(f'-csearch_path={self.schema}')}"

    @property
    def label(self) -> str:
        return "PostgreSQL" if self.postgres_url else "SQLite"

    def raw_connection(self):
        """A plain DBAPI connection for the baseline queries (no SQLAlchemy, no Flask)."""
        if self.postgres_url is None:
            return sqlite3.connect(self.sqlite_path)
        import psycopg

        dsn = self.postgres_url.replace("postgresql+psycopg://", "postgresql://")
        connection = psycopg.connect(dsn, autocommit=True)
        connection.execute(f"SET search_path TO {self.schema}")
        return connection

    def placeholders(self, sql: str) -> str:
        """``?`` parameters as the driver wants them (psycopg: ``%s``, and ``%%`` for ``%``)."""
        return sql if self.postgres_url is None else sql.replace("%", "%%").replace("?", "%s")


def targets(data: DataSet, database: str) -> list[Target]:
    """SQLite, and PostgreSQL when ``TEST_DATABASE_URL`` is set; ``database`` picks one."""
    chosen = []
    if database in ("all", "sqlite"):
        chosen.append(Target(data))
    url = os.environ.get("TEST_DATABASE_URL")
    if database in ("all", "postgresql") and url:
        chosen.append(Target(data, url))
    if not chosen:
        raise SystemExit("No database to measure: set TEST_DATABASE_URL for PostgreSQL.")
    return chosen


def bench_app(target: Target):
    from smsco.web import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": target.url, "SMSCO_SCHEDULER": False,
        "TESTING": True, "SMSCO_DEMO": False, "SMSCO_USERNAME": "bench",
        "SMSCO_PASSWORD": "x", "SMSCO_BASE_URL": "http://127.0.0.1:9",
        "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False, "SMSCO_DEFAULT_LANGUAGE": "en",
    })


def ensure_built(target: Target, rebuild: bool = False) -> None:
    """Build the data set unless an up-to-date copy is there."""
    if not rebuild and _is_built(target):
        return
    where = target.schema if target.postgres_url else target.sqlite_path
    print(f"Building {target.data.rows:,} messages on {target.label} ({where}) ...", flush=True)
    started = time.perf_counter()
    if target.postgres_url is None:
        _build_sqlite(target)
    else:
        _build_postgres(target)
    print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)


def _is_built(target: Target) -> bool:
    if target.postgres_url is None:
        return target.sqlite_path.exists()
    with target.raw_connection() as connection:
        found = connection.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = 'bench_meta'", (target.schema,)).fetchone()
        if not found:
            return False
        row = connection.execute("SELECT tag FROM bench_meta").fetchone()
        return row is not None and row[0] == target.data.tag()


def _create_schema(target: Target) -> None:
    """Tables from the models, then the tally triggers off for the bulk load."""
    from sqlalchemy import text

    from smsco.web.database import drop_tally_trigger_ddl
    from smsco.web.extensions import db

    app = bench_app(target)
    with app.app_context():
        db.create_all()
        for statement in drop_tally_trigger_ddl(db.engine.dialect.name):
            db.session.execute(text(statement))
        db.session.commit()
        db.engine.dispose()


def _recount(target: Target) -> None:
    """Triggers back on, tallies recounted (``flask --app app rebuild-rollups``)."""
    from smsco.web.extensions import db
    from smsco.web.sending.tallies import ensure_tally_triggers

    app = bench_app(target)
    with app.app_context():
        started = time.perf_counter()
        ensure_tally_triggers()
        print(f"  tallies recounted in {time.perf_counter() - started:.1f} s", flush=True)
        db.engine.dispose()


def _build_sqlite(target: Target) -> None:
    path = target.sqlite_path
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    _create_schema(target)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    with connection:
        connection.executemany(USER_INSERT, user_rows(target.data))
        connection.executemany(CAMPAIGN_INSERT, campaign_rows(target.data))
        connection.executemany("INSERT INTO balance_snapshot (at, balance) VALUES (?, ?)",
                               [(at, str(b)) for at, b in snapshot_rows(target.data)])
    insert = (f"INSERT INTO message ({', '.join(MESSAGE_COLUMNS)}) "
              f"VALUES ({', '.join('?' * len(MESSAGE_COLUMNS))})")
    for batch in _batches(message_rows(target.data), 50_000):
        with connection:
            connection.executemany(insert, batch)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    _recount(target)


def _build_postgres(target: Target) -> None:
    with target.raw_connection() as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {target.schema} CASCADE")
        connection.execute(f"CREATE SCHEMA {target.schema}")
    _create_schema(target)
    with target.raw_connection() as connection:
        connection.cursor().executemany(target.placeholders(USER_INSERT),
                                        user_rows(target.data))
        connection.cursor().executemany(target.placeholders(CAMPAIGN_INSERT),
                                        campaign_rows(target.data))
        _copy(connection, "balance_snapshot", ("at", "balance"), snapshot_rows(target.data))
        _copy(connection, "message", MESSAGE_COLUMNS, message_rows(target.data))
        for table in ("user", "campaign", "message", "balance_snapshot"):
            connection.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                               f'(SELECT max(id) FROM "{table}"))')
        connection.execute("VACUUM ANALYZE")
    _recount(target)
    with target.raw_connection() as connection:
        connection.execute("CREATE TABLE bench_meta (tag text)")
        connection.execute("INSERT INTO bench_meta VALUES (%s)", (target.data.tag(),))
        connection.execute("VACUUM ANALYZE")


def _copy(connection, table: str, columns: tuple[str, ...], rows) -> None:
    with connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _batches(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# -- timing ------------------------------------------------------------------------


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds of ``repeat`` calls, after one warm-up call."""
    return timed_with_cpu(fn, repeat)[0]


def timed_with_cpu(fn: Callable[[], object], repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and this process's CPU milliseconds of ``repeat`` calls (after a warm-up).

    On a shared machine the wall clock includes waiting for a core; the CPU time
    is the work itself (on SQLite the database's too, as it runs in-process).
    """
    fn()
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return wall, cpu


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def logged_in_client(app):
    """The Flask test client with the administrator's session."""
    web = app.test_client()
    with web.session_transaction() as session:
        session["_user_id"] = "1"
        session["_fresh"] = True
    return web
