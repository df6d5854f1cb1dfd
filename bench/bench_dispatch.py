"""10,000 queued messages dispatched to the simulator vs a raw keep-alive loop.

Run: ``.venv/bin/python bench/bench_dispatch.py [--messages 10000] [--rounds 5]``.
Targets: the dispatcher at concurrency 1 reaches >= 0.8x the raw loop's rate
(it also claims rows, records results and timelines in the database); at
concurrency 4 it is faster than the raw loop. Peak memory is printed.
The simulator runs in its own process; each dispatcher has a fresh SQLite
file. The three runs are interleaved in rounds so drift hits them alike.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_client import PASSWORD, USER, free_port, start_simulator  # noqa: E402
from smsco.client import SEND_PATH  # noqa: E402
from smsco.web.sending.dispatch import stop_dispatcher  # noqa: E402

BODY = "Your order 1234 is ready for pickup"


def numbers(count: int, offset: int) -> list[str]:
    return [f"995599{offset + i:06d}" for i in range(count)]


def raw_loop(base_url: str, batch: list[str]) -> float:
    started = time.perf_counter()
    with requests.Session() as session:
        for number in batch:
            params = {"username": USER, "password": PASSWORD, "recipient": number,
                      "message": BODY}
            reply = session.get(base_url + SEND_PATH, params=params, timeout=(5, 15))
            assert reply.text.startswith("OK"), reply.text
    return time.perf_counter() - started


def make_app(base_url: str, concurrency: int, folder: Path):
    from smsco.web import create_app
    from smsco.web.extensions import db

    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/c{concurrency}.sqlite",
        "SMSCO_DEMO": False, "SMSCO_USERNAME": USER, "SMSCO_PASSWORD": PASSWORD,
        "SMSCO_BASE_URL": base_url, "SMSCO_SCHEDULER": False, "SMSCO_QUIET_RULE": None,
        "SMSCO_CONCURRENCY": concurrency, "SECRET_KEY": "bench",
    })
    with app.app_context():
        db.create_all()
    return app


def dispatcher_run(app, batch: list[str]) -> float:
    """Queue ``batch`` (not timed), then time dispatching all of it."""
    from smsco.web.extensions import db
    from smsco.web.models import Message, State, utcnow
    from smsco.web.sending.dispatch import dispatch_due_messages

    with app.app_context():
        now = utcnow()
        db.session.execute(db.insert(Message.__table__), [
            {"recipient": n, "body": BODY, "state": State.QUEUED, "send_at": now,
             "created_at": now, "updated_at": now} for n in batch])
        db.session.commit()
        started = time.perf_counter()
        handled = dispatch_due_messages()
        elapsed = time.perf_counter() - started
        queued = db.session.scalar(db.select(db.func.count()).where(
            Message.state != State.SENT))
        assert handled == len(batch) and queued == 0, (handled, queued)
    return elapsed


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    port = free_port()
    proc = start_simulator(port)
    base_url = f"http://127.0.0.1:{port}"
    per_round = args.messages // args.rounds
    elapsed = {"raw keep-alive loop": 0.0, "dispatcher, concurrency 1": 0.0,
               "dispatcher, concurrency 4": 0.0}
    try:
        with tempfile.TemporaryDirectory() as folder:
            apps = {1: make_app(base_url, 1, Path(folder)), 4: make_app(base_url, 4, Path(folder))}
            raw_loop(base_url, numbers(50, 900_000))  # warm-up
            for round_no in range(args.rounds):
                offset = round_no * per_round * 3
                elapsed["raw keep-alive loop"] += raw_loop(base_url, numbers(per_round, offset))
                elapsed["dispatcher, concurrency 1"] += dispatcher_run(
                    apps[1], numbers(per_round, offset + per_round))
                elapsed["dispatcher, concurrency 4"] += dispatcher_run(
                    apps[4], numbers(per_round, offset + 2 * per_round))
            for app in apps.values():
                stop_dispatcher(app)
    finally:
        proc.terminate()
        proc.wait(10)
    n = per_round * args.rounds
    for name, seconds in elapsed.items():
        print(f"{name:26s} {n} messages in {seconds:6.2f} s  {n / seconds:7.0f} msg/s")
    raw = elapsed["raw keep-alive loop"]
    print(f"concurrency 1 / raw = {raw / elapsed['dispatcher, concurrency 1']:.2f}x  "
          "(target >= 0.80x)")
    print(f"concurrency 4 / raw = {raw / elapsed['dispatcher, concurrency 4']:.2f}x  "
          "(target > 1.00x)")
    print(f"peak memory (max RSS) = {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
