"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from datetime import datetime

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


def test_the_tally_migration_installs_the_apps_triggers_and_counts_earlier_messages(
        tmp_path, gateway):
    import importlib.util
    from pathlib import Path

    from sqlalchemy import text

    from smsco.web.database import TALLY_TRIGGERS, tally_trigger_ddl
    from smsco.web.sending import tallies

    path = next(Path(__file__).parents[1].glob("migrations/versions/*_message_tallies_*.py"))
    spec = importlib.util.spec_from_file_location("tally_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    for dialect in ("sqlite", "postgresql"):  # its frozen copy is what the app installs
        assert migration.trigger_ddl(dialect) == tally_trigger_ddl(dialect)

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
                      "SMSCO_DEMO": False, "SMSCO_USERNAME": "u", "SMSCO_PASSWORD": "p",
                      "SMSCO_BASE_URL": gateway.url, "SECRET_KEY": "x"})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade(revision=migration.down_revision)
        db.session.execute(text(
            "INSERT INTO message (recipient, body, state, schedule_mode, send_at, created_at,"
            " updated_at, priority, quiet_hours, attempts, checks, mes_id, credits,"
            " gateway_status) VALUES ('995599000001', 'x', 'delivered', 'now', :at, :at, :at,"
            " 0, false, 1, 1, '7', 5, 1)"), {"at": datetime(2030, 3, 1, 12)})
        db.session.commit()
        upgrade()
        assert tallies.installed_tally_triggers() == set(TALLY_TRIGGERS)
        assert tallies.current_tallies() == tallies.recount_tallies() != {}
        tallies.fold_pending_tallies()
        assert tallies.current_tallies() == tallies.recount_tallies()
        db.session.remove()
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
