"""Which dispatchers are alive: each writes a heartbeat, others judge it by a safe rule.

A dispatcher writes its heartbeat from a thread of its own, four times per
``SMSCO_HEARTBEAT_TIMEOUT``, however long its runs last (a 100,000-message
campaign is one run). Another dispatcher takes it as dead, and recovers its
rows, only when it cannot still be sending:

- on the same machine, when its process is gone (or, in this very process,
  when it has been stopped);
- on another machine, when its heartbeat has not moved for the timeout. The
  observer times that with its own monotonic clock from when it last saw the
  heartbeat change, so the clocks of different machines need not agree.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

from flask import Flask
from sqlalchemy import update

from ..extensions import db
from ..models import Dispatcher, utcnow

log = logging.getLogger(__name__)

HOST = socket.gethostname()[:40]
# Beats per timeout: a dispatcher misses three in a row before anyone may judge it.
BEATS_PER_TIMEOUT = 4

# Dispatchers running in this process (a process may make several apps, e.g. tests).
_live_here: set[str] = set()
_live_here_lock = threading.Lock()


def new_dispatcher_id() -> str:
    """``host:pid:random``: the host and pid let others on this machine check the process."""
    return f"{HOST}:{os.getpid()}:{secrets.token_hex(3)}"


def write_heartbeat(dispatcher_id: str) -> None:
    """Tell other dispatchers this one is alive; registers it the first time (commits)."""
    now = utcnow()
    beat = update(Dispatcher).where(Dispatcher.id == dispatcher_id).values(heartbeat_at=now)
    if not db.session.execute(beat).rowcount:
        host, pid, _ = dispatcher_id.rsplit(":", 2)
        db.session.add(Dispatcher(id=dispatcher_id, hostname=host, pid=int(pid), started_at=now,
                                  heartbeat_at=now))
    db.session.commit()


class Heartbeat:
    """One dispatcher's heartbeat, written by a thread of its own until ``stop``."""

    def __init__(self, app: Flask, dispatcher_id: str, timeout: float,
                 write_lock: AbstractContextManager):
        self.app, self.dispatcher_id, self.write_lock = app, dispatcher_id, write_lock
        self.every = timeout / BEATS_PER_TIMEOUT
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Register now (a dispatcher must be known before it claims), then keep beating.

        Needs an app context; does nothing once started.
        """
        if self._thread is not None:
            return
        with _live_here_lock:
            _live_here.add(self.dispatcher_id)
        self.beat()
        self._thread = threading.Thread(target=self._run, name="smsco-heartbeat", daemon=True)
        self._thread.start()

    def beat(self) -> None:
        with self.write_lock:
            write_heartbeat(self.dispatcher_id)

    def _run(self) -> None:
        while not self._stopping.wait(self.every):
            try:
                with self.app.app_context():
                    self.beat()
            # Whatever went wrong, the thread must live on: a dispatcher whose heartbeat
            # stopped for good would be taken as dead while it still sends.
            except Exception:
                log.warning("Could not write the dispatcher's heartbeat; trying again in %s s",
                            self.every, exc_info=True)

    def stop(self) -> None:
        """Stop beating; this process no longer counts the dispatcher as alive."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        with _live_here_lock:
            _live_here.discard(self.dispatcher_id)


class LivenessJudge:
    """Decides which other dispatchers are dead, remembering when each heartbeat last moved."""

    def __init__(self, own_id: str, timeout: float):
        self.own_id, self.timeout = own_id, timeout
        self._seen: dict[str, tuple[datetime, float]] = {}

    def dead(self, dispatchers: Iterable[Dispatcher]) -> list[str]:
        """Ids of the dispatchers that cannot still be sending (never this one)."""
        now = time.monotonic()
        seen, dead = {}, []
        for row in dispatchers:
            if row.id == self.own_id:
                continue
            if row.hostname == HOST:
                gone = not _process_alive(row.pid) or (
                    row.pid == os.getpid() and not _alive_here(row.id))
            else:
                beat, since = self._seen.get(row.id, (row.heartbeat_at, now))
                if beat != row.heartbeat_at:
                    since = now
                seen[row.id] = (row.heartbeat_at, since)
                gone = now - since >= self.timeout
            if gone:
                dead.append(row.id)
        self._seen = seen
        return dead


def _alive_here(dispatcher_id: str) -> bool:
    with _live_here_lock:
        return dispatcher_id in _live_here


def _process_alive(pid: int) -> bool:
    """True while process ``pid`` runs on this machine (a zombie has stopped running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # Field 3 of /proc/<pid>/stat is the state; "Z" is a dead process not yet reaped.
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc here: the signal check is all there is
    return stat.rpartition(")")[2].split()[:1] != ["Z"]
