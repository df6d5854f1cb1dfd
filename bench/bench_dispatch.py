"""10,000 queued messages dispatched to the simulator vs a raw keep-alive loop.

Run: ``.venv/bin/python bench/bench_dispatch.py [--messages 10000]``.
Targets: the dispatcher at concurrency 1 reaches >= 0.8x the raw loop's rate
(it also claims rows, records results and timelines in the database); at
concurrency 4 it is faster than the raw loop. Peak memory is printed.
The simulator runs in its own process; the database is a fresh SQLite file.
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

BODY = "Your order 1234 is ready for pickup"


def numbers(count: int) -> list[str]:
    return [f"995599{i:06d}" for i in range(count)]


def raw_loop(base_url: str, count: int) -> float:
    started = time.perf_counter()
    with requests.Session() as session:
        for number in numbers(count):
            params = {"username": USER, "password": PASSWORD, "recipient": number,
                      "message": BODY}
            reply = session.get(base_url + SEND_PATH, params=params, timeout=(5, 15))
            assert reply.text.startswith("OK"), reply.text
    return time.perf_counter() - started


def dispatcher_run(base_url: str, count: int, concurrency: int, folder: Path) -> float:
    from smsco.web import create_app
    from smsco.web.dispatch import dispatch_due_messages
    from smsco.web.extensions import db
    from smsco.web.models import Message, State, utcnow

    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/c{concurrency}.sqlite",
        "SMSCO_DEMO": False, "SMSCO_USERNAME": USER, "SMSCO_PASSWORD": PASSWORD,
        "SMSCO_BASE_URL": base_url, "SMSCO_SCHEDULER": False,
        "SMSCO_CONCURRENCY": concurrency, "SECRET_KEY": "bench",
    })
    with app.app_context():
        db.create_all()
        now = utcnow()
        db.session.execute(db.insert(Message), [
            {"recipient": n, "body": BODY, "state": State.QUEUED, "send_at": now,
             "created_at": now, "updated_at": now} for n in numbers(count)])
        db.session.commit()
        started = time.perf_counter()
        handled = dispatch_due_messages()
        elapsed = time.perf_counter() - started
        sent = db.session.scalar(db.select(db.func.count()).where(Message.state == State.SENT))
        assert handled == count and sent == count, (handled, sent)
        app.extensions["smsco_dispatcher"].pool.shutdown()
    return elapsed


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    port = free_port()
    proc = start_simulator(port)
    base_url = f"http://127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory() as folder:
            raw = raw_loop(base_url, args.messages)
            c1 = dispatcher_run(base_url, args.messages, 1, Path(folder))
            c4 = dispatcher_run(base_url, args.messages, 4, Path(folder))
    finally:
        proc.terminate()
        proc.wait(10)
    n = args.messages
    for name, seconds in [("raw keep-alive loop", raw), ("dispatcher, concurrency 1", c1),
                          ("dispatcher, concurrency 4", c4)]:
        print(f"{name:26s} {n} messages in {seconds:6.2f} s  {n / seconds:7.0f} msg/s")
    print(f"concurrency 1 / raw = {raw / c1:.2f}x  (target >= 0.80x)")
    print(f"concurrency 4 / raw = {raw / c4:.2f}x  (target > 1.00x)")
    print(f"peak memory (max RSS) = {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
