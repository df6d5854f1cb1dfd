"""The baseline of ``bench_api.py``: a minimal Flask JSON endpoint that inserts one row.

Same database (``DATABASE_URL``), same SQLite settings as the dashboard (WAL,
busy timeout, synchronous=NORMAL), no ORM, no validation beyond reading JSON.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, request
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, event, insert

URL = os.environ["DATABASE_URL"]
engine = create_engine(URL, pool_pre_ping=True)
if engine.dialect.name == "sqlite":

    @event.listens_for(engine, "connect")
    def _pragmas(connection, _record):
        cursor = connection.cursor()
        for pragma in ("journal_mode=WAL", "busy_timeout=10000", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()


metadata = MetaData()
rows = Table("bench_row", metadata, Column("id", Integer, primary_key=True),
             Column("recipient", String(20)), Column("body", String(2000)))
metadata.create_all(engine)

app = Flask(__name__)


@app.post("/rows")
def add_row():
    data = request.get_json()
    with engine.begin() as connection:
        row_id = connection.execute(insert(rows).values(
            recipient=data["recipients"][0], body=data["text"])).inserted_primary_key[0]
    return jsonify(id=row_id), 202
