"""A suite-wide guard: the gateway password and ``SECRET_KEY`` never show up anywhere.

Every test is watched (the ``secret_guard`` fixture in conftest.py): each log
record of every logger at DEBUG (its message and exception text), and, for
tests with the ``app`` fixture, each response the app sends (body, headers and
the session it carries, flashes included) and finally every row of every
table. A find fails the test at teardown, naming the secret and where it was seen.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, request, request_finished, session


class SecretGuard(logging.Handler):
    """Collects every place a secret was seen; ``findings`` empty means none."""

    def __init__(self, secrets: dict[str, str]) -> None:
        super().__init__(level=logging.DEBUG)
        self.secrets = {name: value for name, value in secrets.items() if value}
        self.findings: list[str] = []
        self._lock = threading.Lock()
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def check(self, where: str, text: str) -> None:
        for name, value in self.secrets.items():
            if value in text:
                with self._lock:
                    self.findings.append(f"{name} in {where}: {text[:300]!r}")

    def emit(self, record: logging.LogRecord) -> None:
        """Logging: the formatted record, exception and stack included."""
        self.check(f"log record of {record.name}", self.format(record))

    def watch(self, app: Flask) -> None:
        """Check every response of ``app`` until ``forget`` is called."""
        request_finished.connect(self._response_sent, app)

    def forget(self, app: Flask) -> None:
        request_finished.disconnect(self._response_sent, app)

    def _response_sent(self, sender: Flask, response, **_) -> None:
        where = f"response to {request.method} {request.full_path}"
        self.check(f"{where} (headers)", str(response.headers))
        self.check(f"{where} (session)", repr(dict(session)))
        if not response.is_streamed and not response.direct_passthrough:
            self.check(where, response.get_data(as_text=True))

    def scan_database(self, app: Flask) -> None:
        """Every row of every table."""
        from smsco.web.extensions import db

        with app.app_context():
            for table in db.metadata.sorted_tables:
                for row in db.session.execute(table.select()):
                    self.check(f"table {table.name}", repr(tuple(row)))
