"""Crash safety with real worker processes: kill -9 mid-campaign, restart, count requests.

Each worker is ``flask --app app worker``, configured through environment
variables against the simulator served by the test; the simulator's request
log says what reached the gateway. The database is shared by the test and the
workers: SQLite, and PostgreSQL too when ``TEST_DATABASE_URL`` is set (CI).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from smsco.client import SEND_PATH
from smsco.web import create_app
from smsco.web.extensions import db
from smsco.web.models import Dispatcher, Message, MessageEvent, State
from smsco.web.sending.dispatch import stop_dispatcher
from smsco.web.sending.outbox import NewMessages, create_messages

from .conftest import GATEWAY_PASSWORD, GATEWAY_USER
from .waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
CONCURRENCY = 4


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    """A database URL the test and its workers share."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crash.sqlite'}"
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("runs on PostgreSQL when TEST_DATABASE_URL is set (CI sets it)")
    return url


@pytest.fixture
def postgresql():
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("runs on PostgreSQL when TEST_DATABASE_URL is set (CI sets it)")
    return url


def shared_app(url, gateway):
    app = create_app({"TESTING": True, "SECRET_KEY": "crash-test", "SQLALCHEMY_DATABASE_URI": url,
                      "SMSCO_DEMO": False, "SMSCO_USERNAME": GATEWAY_USER,
                      "SMSCO_PASSWORD": GATEWAY_PASSWORD, "SMSCO_BASE_URL": gateway.url,
                      "SMSCO_SCHEDULER": False})
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


@pytest.fixture
def workers(gateway, tmp_path):
    """Starts workers (``workers.start(url, **env)``); kills any still running at the end."""
    started = Workers(gateway, tmp_path)
    yield started
    started.kill_all()


class Workers:
    def __init__(self, gateway, folder: Path):
        self.gateway, self.folder, self.running = gateway, folder, []

    def start(self, url: str, **settings: str) -> subprocess.Popen:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("SMSCO_", "DATABASE_URL"))}
        env.update({"DATABASE_URL": url, "SECRET_KEY": "crash-test",
                    "SMSCO_USERNAME": GATEWAY_USER, "SMSCO_PASSWORD": GATEWAY_PASSWORD,
                    "SMSCO_BASE_URL": self.gateway.url, "SMSCO_CONCURRENCY": str(CONCURRENCY),
                    "SMSCO_DISPATCH_INTERVAL": "0.2", "SMSCO_STATUS_INTERVAL": "3600",
                    "SMSCO_BALANCE_INTERVAL": "3600", **settings})
        log = open(self.folder / f"worker-{len(self.running)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.running.append(process)
        return process

    def kill_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.kill()
            process.wait(30)

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace")
                         for path in sorted(self.folder.glob("worker-*.log")))


def queue_messages(app, count: int) -> list[str]:
    numbers = [f"99559{i:07d}" for i in range(count)]
    with app.app_context():
        create_messages(NewMessages(numbers, "Crash test", None), None)
        db.session.commit()
    return numbers


def sends(gateway) -> Counter:
    """Send requests per recipient, as the gateway saw them."""
    return Counter(r.recipient for r in gateway.simulator.requests
                   if r.path == SEND_PATH and r.recipient)


def states(app) -> dict[str, str]:
    with app.app_context():
        rows = dict(db.session.execute(select(Message.recipient, Message.state)).all())
        db.session.remove()
    return rows


def left_sending(app) -> tuple[int, int]:
    """Rows a dead worker left ``sending``: (request never started, may have left without
    its outcome kept)."""
    with app.app_context():
        rows = db.session.execute(select(Message.request_started_at, Message.journal).where(
            Message.state == State.SENDING)).all()
        db.session.remove()
    return (sum(started is None for started, _ in rows),
            sum(started is not None and kept is None for started, kept in rows))


def all_settled(app) -> bool:
    return not {State.QUEUED, State.SENDING} & set(states(app).values())


def test_kill_9_mid_campaign_loses_nothing_and_sends_nothing_twice(database, gateway, workers):
    gateway.simulator.configure(latency=0.01)
    app = shared_app(database, gateway)
    try:
        numbers = queue_messages(app, 400)
        never_started, in_doubt = [], []
        for kill_after in (80, 200):  # killed twice, restarted twice
            worker = workers.start(database)
            wait_until(lambda n=kill_after: sum(sends(gateway).values()) >= n, timeout=60,
                       every=0.005, what=f"{kill_after} sends")
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
            waiting, leaving = left_sending(app)
            never_started.append(waiting)
            in_doubt.append(leaving)
        assert max(in_doubt) <= CONCURRENCY, in_doubt
        assert sum(never_started) > 0  # claimed but not requested: they must go out later
        finisher = workers.start(database)
        wait_until(lambda: all_settled(app), timeout=90, every=0.1, what="every row settled")
        finisher.terminate()
        assert finisher.wait(30) == 0, workers.logs()
        final, requests = states(app), sends(gateway)
        assert set(final) == set(numbers)
        assert max(requests.values()) == 1  # no recipient got two requests
        unknown = {n for n, state in final.items() if state == State.UNKNOWN}
        # Unknown only where a request may have left: at most CONCURRENCY per kill.
        assert len(unknown) == sum(in_doubt)
        assert {n for n, state in final.items() if state == State.SENT} == set(numbers) - unknown
        # Every row whose request had not started went out after a restart, exactly once.
        assert all(requests[n] == 1 for n in set(numbers) - unknown)
    finally:
        stop_dispatcher(app)
        with app.app_context():
            db.drop_all()
            db.engine.dispose()


@pytest.mark.postgres
def test_two_workers_through_a_run_longer_than_the_heartbeat_timeout(postgresql, gateway,
                                                                      workers):
    timeout = 1.0
    gateway.simulator.configure(latency=0.02)
    app = shared_app(postgresql, gateway)
    try:
        numbers = queue_messages(app, 800)  # about 4 s for two workers of two senders
        for _ in range(2):
            workers.start(postgresql, SMSCO_CONCURRENCY="2",
                          SMSCO_HEARTBEAT_TIMEOUT=str(timeout))
        gaps = heartbeat_gaps_until_settled(app)
        for process in workers.running:
            process.terminate()
            assert process.wait(30) == 0, workers.logs()
        requests = [r.time for r in gateway.simulator.requests
                    if r.path == SEND_PATH and r.recipient]
        assert max(requests) - min(requests) > 3 * timeout  # runs outlived the timeout
        assert set(states(app).values()) == {State.SENT}
        assert sends(gateway) == Counter(numbers)
        with app.app_context():  # not even for a moment: the timeline keeps every state
            assert not db.session.scalar(select(func.count()).where(
                MessageEvent.state == State.UNKNOWN))
        assert len(gaps) == 2 and max(gaps.values()) < timeout
    finally:
        stop_dispatcher(app)
        with app.app_context():
            db.drop_all()
            db.engine.dispose()


def heartbeat_gaps_until_settled(app) -> dict[str, float]:
    """The longest time each dispatcher's heartbeat stood still while rows were sent."""
    last_change: dict[str, tuple[object, float]] = {}
    gaps: dict[str, float] = {}

    def settled() -> bool:
        now = time.monotonic()
        with app.app_context():
            beats = dict(db.session.execute(
                select(Dispatcher.id, Dispatcher.heartbeat_at)).all())
            db.session.remove()
        for dispatcher_id, beat in beats.items():
            previous, since = last_change.get(dispatcher_id, (None, now))
            if beat != previous:
                since = now
            last_change[dispatcher_id] = (beat, since)
            gaps[dispatcher_id] = max(gaps.get(dispatcher_id, 0.0), now - since)
        return all_settled(app)

    wait_until(settled, timeout=90, every=0.05, what="every row sent")
    return gaps
