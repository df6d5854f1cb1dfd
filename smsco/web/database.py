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


# -- message tallies (reports) ----------------------------------------------------
#
# Reports count messages from per-day tallies, not from a million message rows.
# Triggers keep them exact: every insert, update or delete of a message adds
# signed rows to ``message_tally_delta`` in the same transaction, so the
# tallies plus the deltas not yet folded into them always equal a recount.
# The scheduler folds deltas into ``message_tally`` (sending/tallies.py), one row
# per day and per month for each sender ID, operator and campaign, with a counter
# for each outcome and cause (``TALLY_COUNTERS``); nothing in the sending code has
# to remember to do it.

TALLY_WAITING = "waiting"  # queued, paused and sending are one key: not sent yet
FINAL_STATUS_CODES = (1, 3, 4, 5, 6, 7)  # DESIGN §2: delivered and the final failures
_WAITING_STATES = ("queued", "paused", "sending")
TALLY_KEY_COLUMNS = ("created_at", "sender", "operator_id", "campaign_id", "state",
                     "final_status", "error_code", "accepted")


def tally_key_sql(row: str) -> list[str]:
    """The tally key of a message row named ``row`` (``NEW``, ``OLD``, a table alias), as
    SQL expressions in ``TALLY_KEY_COLUMNS`` order; the same on SQLite and PostgreSQL."""
    waiting = ", ".join(f"'{state}'" for state in _WAITING_STATES)
    final = ", ".join(str(code) for code in FINAL_STATUS_CODES)
    return [
        f"{row}.created_at",
        f"COALESCE({row}.sender, '')",
        f"COALESCE({row}.created_by_id, 0)",
        f"COALESCE({row}.campaign_id, 0)",
        f"CASE WHEN {row}.state IN ({waiting}) THEN '{TALLY_WAITING}' ELSE {row}.state END",
        f"CASE WHEN {row}.gateway_status IN ({final}) THEN {row}.gateway_status ELSE 0 END",
        f"CASE WHEN {row}.state = 'failed' THEN COALESCE({row}.error_code, 0) ELSE 0 END",
        f"CASE WHEN {row}.mes_id IS NOT NULL THEN 1 ELSE 0 END",
    ]


def _tally_insert(values: str) -> str:
    columns = ", ".join(TALLY_KEY_COLUMNS)
    return f"INSERT INTO message_tally_delta ({columns}, messages, credits) {values}"


_WATCHED = ("created_at, sender, created_by_id, campaign_id, state, gateway_status, "
            "error_code, mes_id, credits")


def _row_values(row: str, sign: str) -> str:
    return f"({', '.join(tally_key_sql(row))}, {sign}1, {sign}COALESCE({row}.credits, 0))"


def _changed(old: str, new: str, is_not: str) -> str:
    """SQL true when a change touches what the tallies count."""
    def key(row: str) -> str:
        return f"({', '.join(tally_key_sql(row))}, COALESCE({row}.credits, 0))"
    return f"{key(old)} {is_not} {key(new)}"


def _sqlite_tally_triggers() -> list[str]:
    return [
        "CREATE TRIGGER message_tally_insert AFTER INSERT ON message BEGIN "
        f"{_tally_insert('VALUES ' + _row_values('NEW', ''))}; END",
        f"CREATE TRIGGER message_tally_update AFTER UPDATE OF {_WATCHED} ON message "
        f"WHEN {_changed('OLD', 'NEW', 'IS NOT')} BEGIN "
        f"{_tally_insert('VALUES ' + _row_values('OLD', '-'))}; "
        f"{_tally_insert('VALUES ' + _row_values('NEW', ''))}; END",
        "CREATE TRIGGER message_tally_delete AFTER DELETE ON message BEGIN "
        f"{_tally_insert('VALUES ' + _row_values('OLD', '-'))}; END",
    ]


def _postgres_tally_triggers() -> list[str]:
    # Inserts: one statement-level trigger with a transition table, so a campaign's
    # 5,000-row insert adds a handful of grouped delta rows, not 5,000. Updates and
    # deletes: row-level, and the WHEN clause skips every update that changes
    # nothing counted (claims, leases, checks) without calling the function.
    keyed = ", ".join(f"{sql} AS k{i}" for i, sql in enumerate(tally_key_sql("r")))
    groups = ", ".join(str(i + 1) for i in range(len(TALLY_KEY_COLUMNS)))
    # Built from the constant expressions above only: no value from outside reaches SQL.
    on_insert = _tally_insert(f"SELECT {keyed}, count(*), "  # noqa: S608
                              f"sum(COALESCE(r.credits, 0)) FROM new_rows r GROUP BY {groups}")
    on_update = _tally_insert(f"VALUES {_row_values('OLD', '-')}, {_row_values('NEW', '')}")
    on_delete = _tally_insert(f"VALUES {_row_values('OLD', '-')}")
    return [
        "CREATE OR REPLACE FUNCTION message_tally_inserted() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$\nBEGIN\n  {on_insert};\n  RETURN NULL;\nEND\n$$",
        "CREATE OR REPLACE FUNCTION message_tally_changed() RETURNS trigger "
        "LANGUAGE plpgsql AS $$\nBEGIN\n"
        f"  IF TG_OP = 'UPDATE' THEN\n    {on_update};\n"
        f"  ELSE\n    {on_delete};\n  END IF;\n  RETURN NULL;\nEND\n$$",
        "CREATE TRIGGER message_tally_insert AFTER INSERT ON message "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION message_tally_inserted()",
        f"CREATE TRIGGER message_tally_update AFTER UPDATE OF {_WATCHED} ON message "
        f"FOR EACH ROW WHEN ({_changed('OLD', 'NEW', 'IS DISTINCT FROM')}) "
        "EXECUTE FUNCTION message_tally_changed()",
        "CREATE TRIGGER message_tally_delete AFTER DELETE ON message "
        "FOR EACH ROW EXECUTE FUNCTION message_tally_changed()",
    ]


# What a tally row counts. Each counter sums ``messages`` over the delta rows (or
# recounted messages) whose tally key meets its condition, written in SQL over the
# key's columns (``TALLY_KEY_COLUMNS``); ``credits`` sums credits. The fold, the
# recount and the reports' reading of pending deltas all use these conditions, so
# a message is classified in one place.
_FAILED = "state = 'failed'"
_REFUSED = f"{_FAILED} AND final_status = 0"
_NAMED_CODES = (2904, 2907, 2908, 2909)
_OUTCOME_STATES = ("delivered", "sent", "failed", "canceled", "skipped", TALLY_WAITING)
TALLY_COUNTERS: dict[str, str] = {
    "messages": "1 = 1",
    "sent": "accepted = 1",  # accepted by the gateway (it has a mes_id)
    "final": "final_status <> 0",  # sent, with a final gateway status
    "delivered": "final_status = 1",
    "is_delivered": "state = 'delivered'",
    "is_pending": "state = 'sent'",  # sent, no final status yet
    "is_failed": _FAILED,
    "is_unknown": "state NOT IN (" + ", ".join(f"'{s}'" for s in _OUTCOME_STATES) + ")",
    "is_canceled": "state IN ('canceled', 'skipped')",
    "is_waiting": f"state = '{TALLY_WAITING}'",
    **{f"failed_status_{code}": f"{_FAILED} AND final_status = {code}"
       for code in FINAL_STATUS_CODES if code != 1},
    **{f"failed_code_{code}": f"{_REFUSED} AND error_code = {code}" for code in _NAMED_CODES},
    "failed_code_field": f"{_REFUSED} AND error_code BETWEEN 2910 AND 2915",  # "… empty"
    "failed_no_code": f"{_REFUSED} AND error_code = 0",  # refused here, or never reached
    "failed_code_other": f"{_REFUSED} AND error_code NOT IN (0, "
                         + ", ".join(str(code) for code in _NAMED_CODES)
                         + ") AND error_code NOT BETWEEN 2910 AND 2915",
}


def tally_counter_sql(counter: str, messages: str = "messages") -> str:
    """``counter``'s share of ``messages``: a CASE expression over the key's columns."""
    return f"CASE WHEN {TALLY_COUNTERS[counter]} THEN {messages} ELSE 0 END"


TALLY_TRIGGERS = ("message_tally_insert", "message_tally_update", "message_tally_delete")


def tally_trigger_ddl(dialect: str) -> list[str]:
    """The statements that create the tally triggers on ``dialect``."""
    return _postgres_tally_triggers() if dialect == "postgresql" else _sqlite_tally_triggers()


def drop_tally_trigger_ddl(dialect: str) -> list[str]:
    """The statements that remove them (bulk loads, downgrades)."""
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {name} ON message" for name in TALLY_TRIGGERS] + [
            "DROP FUNCTION IF EXISTS message_tally_inserted()",
            "DROP FUNCTION IF EXISTS message_tally_changed()"]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in TALLY_TRIGGERS]
