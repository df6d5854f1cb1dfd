"""Baselines of ``bench_api.py``: minimal Flask JSON endpoints that insert one row.

``app``: the idiomatic minimal endpoint, Flask-SQLAlchemy with one model,
``db.session.add`` and ``commit``. ``core_app``: the same without the ORM (one
Core insert on the engine), the cheapest a Flask endpoint can be. Both use
``DATABASE_URL`` with the dashboard's SQLite settings (WAL, busy timeout,
synchronous=NORMAL); ``bench_api.py`` makes the table before the servers start.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String, create_engine, event, insert
from sqlalchemy.orm import Mapped, mapped_column

URL = os.environ.get("DATABASE_URL", "sqlite://")
PRAGMAS = ("journal_mode=WAL", "busy_timeout=10000", "synchronous=NORMAL")


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    for pragma in PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


app = Flask(__name__)
app.config.update(SQLALCHEMY_DATABASE_URI=URL,
                  SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True})
db = SQLAlchemy(app)


class BenchRow(db.Model):
    __tablename__ = "bench_row"
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(String(2000))


with app.app_context():
    if db.engine.dialect.name == "sqlite":
        event.listen(db.engine, "connect", _sqlite_pragmas)


@app.post("/rows")
def add_row():
    data = request.get_json()
    row = BenchRow(recipient=data["recipients"][0], body=data["text"])
    db.session.add(row)
    db.session.commit()
    return jsonify(id=row.id), 202


core_app = Flask(__name__)
engine = create_engine(URL, pool_pre_ping=True)
if engine.dialect.name == "sqlite":
    event.listen(engine, "connect", _sqlite_pragmas)


@core_app.post("/rows")
def add_row_core():
    data = request.get_json()
    with engine.begin() as connection:
        row_id = connection.execute(insert(BenchRow.__table__).values(
            recipient=data["recipients"][0], body=data["text"])).inserted_primary_key[0]
    return jsonify(id=row_id), 202


def create_table() -> None:
    """Made once by the benchmark, before any worker starts."""
    with app.app_context():
        db.create_all()
