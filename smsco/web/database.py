"""Database set-up: SQLite pragmas (WAL, busy timeout, foreign keys)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db

SQLITE_BUSY_TIMEOUT_MS = 10_000


def init_database(app: Flask) -> None:
    """Bind SQLAlchemy and tune SQLite connections as they are opened."""
    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def is_postgres(engine: Engine | None = None) -> bool:
    """True when the database is PostgreSQL (for SKIP LOCKED and friends)."""
    return (engine or db.engine).dialect.name == "postgresql"


def escape_like(text: str) -> str:
    """``text`` with LIKE's wildcards escaped (use ``escape="\\"``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
