"""Flask extensions, created unbound here and bound to the app in ``create_app``."""

from __future__ import annotations

import threading
import time

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from limits.storage import MemoryStorage
from sqlalchemy import MetaData

# Named constraints, so Alembic migrations work on SQLite and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


class SweepingMemoryStorage(MemoryStorage):
    """``limits``' in-process storage without a new timer thread per counted request.

    The stock one starts a ``threading.Timer`` on nearly every hit to drop
    expired counters; under load a thread start waits for a time slice, which
    cost milliseconds per API request. Expired counters are already ignored
    when read, so here they are swept inline, at most once a second.
    ``RATELIMIT_STORAGE_URI=smsco-memory://`` (the default) selects it.
    """

    STORAGE_SCHEME = ["smsco-memory"]  # noqa: RUF012 - limits' registry reads a list

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        self._next_sweep = 0.0
        self._sweep_lock = threading.Lock()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the parent's private timer
        now = time.monotonic()
        if now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + 1
            self._MemoryStorage__expire_events()
        finally:
            self._sweep_lock.release()
