"""The JSON API under gunicorn: 16 clients posting single-recipient messages, vs a minimal endpoint.

Run: ``.venv/bin/python bench/bench_api.py [--database-url URL] [--seconds 15]``.
Without ``--database-url`` a fresh SQLite file under ``instance/bench/`` is used;
give ``postgresql+psycopg://postgres@127.0.0.1:5432/<your db>`` for PostgreSQL
(its tables are dropped and made again).

Both servers run under gunicorn with 2 sync workers on the same database:

* ``api``: ``POST /api/v1/messages`` with a Bearer key, one recipient each;
  ``api+key``: the same with a fresh ``Idempotency-Key`` on every request (as
  the docs page recommends: two more statements per request);
* ``baseline``: the minimal Flask endpoint as one writes it with Flask-SQLAlchemy
  (read the JSON body, ``db.session.add`` one row, commit, answer JSON);
  ``core``: the same with one Core insert and no ORM, for reference.

Each runs for ``--seconds`` with 16 concurrent clients (threads, one keep-alive
connection each). Printed: throughput, p50/p95/p99 of accepted requests, and the
API/baseline throughput ratio. Targets: p95 <= 100 ms, ratio >= 0.5.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_DIR = ROOT / "instance" / "bench"
GUNICORN = [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "sync",
            "--bind"]
IDEMPOTENT = "x-bench-idempotent"  # marks the run whose requests carry an Idempotency-Key
PREFIXES = ["599", "555", "577", "591", "593", "595", "597", "568", "571", "574"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database(url: str) -> str:
    """Fresh tables, one operator and one API key; returns the key."""
    from smsco.web import create_app
    from smsco.web.api.keys import create_key
    from smsco.web.extensions import db
    from smsco.web.models import Role, User

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SMSCO_SCHEDULER": False,
                      "SMSCO_DEMO": False, "SMSCO_USERNAME": "bench", "SMSCO_PASSWORD": "x",
                      "SMSCO_BASE_URL": "http://127.0.0.1:9", "SECRET_KEY": "bench"})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS bench_row")
        db.create_all()
        user = User(username="booking", role=Role.OPERATOR, password_hash="x")
        db.session.add(user)
        db.session.commit()
        secret = create_key("Bench", user, user).secret
        db.session.remove()
        db.engine.dispose()
    os.environ["DATABASE_URL"] = url
    from bench import _baseline_app

    _baseline_app.URL = url
    baseline = _baseline_app.create_engine(url)
    _baseline_app.BenchRow.__table__.create(baseline, checkfirst=True)
    baseline.dispose()
    return secret


def drop_baseline_table(url: str) -> None:
    """The baselines' table goes, so the database holds only the dashboard's schema."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS bench_row")
    engine.dispose()


def start(target: str, port: int, url: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "SMSCO_SCHEDULER": "off",
           "SMSCO_USERNAME": "bench", "SMSCO_PASSWORD": "x", "SMSCO_BASE_URL": "http://127.0.0.1:9",
           "SECRET_KEY": "bench", "SMSCO_API_RATE_LIMIT": "1000000 per minute",
           "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([*GUNICORN, f"127.0.0.1:{port}", "--log-level", "warning",
                                target], env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{target} did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def client_loop(port: int, path: str, headers: dict, stop_at: float, expect: int,
                latencies: list[float], errors: list[int]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.monotonic() < stop_at:
        number = random.choice(PREFIXES) + f"{random.randrange(10**6):06d}"
        body = json.dumps({"recipients": [number], "text": "Your visit is tomorrow at 10.30"})
        request_headers = {key: value for key, value in headers.items() if key != IDEMPOTENT}
        request_headers["Content-Type"] = "application/json"
        if IDEMPOTENT in headers:
            request_headers["Idempotency-Key"] = str(uuid.uuid4())
        started = time.perf_counter()
        try:
            connection.request("POST", path, body=body, headers=request_headers)
            reply = connection.getresponse()
            reply.read()
        except (OSError, http.client.HTTPException):
            errors.append(0)
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        elapsed = time.perf_counter() - started
        if reply.status == expect:
            latencies.append(elapsed)
        else:
            errors.append(reply.status)
    connection.close()


def load(port: int, path: str, headers: dict, seconds: float, clients: int,
         expect: int) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[int] = []
    stop_at = time.monotonic() + seconds
    threads = [threading.Thread(target=client_loop, args=(
        port, path, headers, stop_at, expect, latencies, errors)) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    ordered = sorted(latencies) or [float("nan")]

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"requests": len(latencies), "errors": len(errors), "rps": len(latencies) / elapsed,
            "p50": statistics.median(ordered) * 1000, "p95": pct(0.95), "p99": pct(0.99)}


def warm_up(port: int, path: str, headers: dict, expect: int) -> None:
    load(port, path, headers, 1.5, 4, expect)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    url = args.database_url
    if not url:
        path = BENCH_DIR / "api.sqlite"
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    secret = prepare_database(url)
    results = {}
    api_headers = {"Authorization": f"Bearer {secret}"}
    for name, target, path, headers in (
        ("baseline", "bench._baseline_app:app", "/rows", {}),
        ("core", "bench._baseline_app:core_app", "/rows", {}),
        ("api", "smsco.web:create_app()", "/api/v1/messages", api_headers),
        ("api+key", "smsco.web:create_app()", "/api/v1/messages",
         {**api_headers, IDEMPOTENT: "yes"}),
    ):
        port = free_port()
        server = start(target, port, url)
        try:
            warm_up(port, path, headers, 202)
            results[name] = load(port, path, headers, args.seconds, args.clients, 202)
        finally:
            stop(server)
    drop_baseline_table(url)
    database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"{args.clients} clients, {args.seconds:.0f} s each, gunicorn 2 sync workers, {database}")
    for name, r in results.items():
        print(f"  {name:8s} {r['rps']:7.1f} req/s  p50 {r['p50']:6.1f} ms  p95 {r['p95']:6.1f} ms"
              f"  p99 {r['p99']:6.1f} ms  ({r['requests']} accepted, {r['errors']} errors)")
    ok = True
    for name in ("api", "api+key"):
        ratio = results[name]["rps"] / results["baseline"]["rps"]
        core = results[name]["rps"] / results["core"]["rps"]
        p95 = results[name]["p95"]
        print(f"  {name}: throughput {ratio:.2f}x the Flask-SQLAlchemy baseline (target >= 0.5),"
              f" {core:.2f}x the raw Core one; p95 {p95:.1f} ms (target <= 100 ms)")
        ok = ok and ratio >= 0.5 and p95 <= 100 and not results[name]["errors"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
