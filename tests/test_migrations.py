"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from smsco.web import create_app
from smsco.web.extensions import db

from .conftest import database_url


def test_migrations_match_the_models(tmp_path, gateway):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
                      "SMSCO_DEMO": False, "SMSCO_USERNAME": "u", "SMSCO_PASSWORD": "p",
                      "SMSCO_BASE_URL": gateway.url, "SECRET_KEY": "x"})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        downgrade(revision="base")
        db.engine.dispose()


def test_rows_sending_before_the_journal_existed_count_as_maybe_sent(tmp_path, gateway):
    from sqlalchemy import text

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
                      "SMSCO_DEMO": False, "SMSCO_USERNAME": "u", "SMSCO_PASSWORD": "p",
                      "SMSCO_BASE_URL": gateway.url, "SECRET_KEY": "x"})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade(revision="5ef0c9214743")
        with db.engine.begin() as connection:
            for state in ("sending", "queued"):
                connection.execute(text(
                    "INSERT INTO message (recipient, body, state, schedule_mode, send_at, "
                    "created_at, priority, quiet_hours, attempts, checks, updated_at) VALUES "
                    "('995599445448', 'Hi', :state, 'now', CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP, 0, false, 0, 0, CURRENT_TIMESTAMP)"), {"state": state})
        upgrade()
        with db.engine.connect() as connection:
            started = dict(connection.execute(text(
                "SELECT state, request_started_at IS NOT NULL FROM message")).all())
        assert started == {"sending": True, "queued": False}
        downgrade(revision="base")
        db.engine.dispose()
