"""Command-line tasks: ``flask --app app prepare``, ``serve``, ``worker``, ``rebuild-rollups``,
``translations``."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click
from flask import Flask
from flask_migrate import upgrade

from .ui.i18n import compile_catalogs, update_catalogs


def register_commands(app: Flask) -> None:
    """Attach the project's commands to ``flask``."""

    @app.cli.command("prepare")
    def prepare() -> None:
        """Create the instance folder, compile the language catalogs, bring the schema up
        to date."""
        from .sending.tallies import ensure_tally_triggers, fold_pending_tallies

        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        compile_catalogs()
        upgrade()
        if ensure_tally_triggers():
            click.echo("Report tallies were recounted (their triggers were missing).")
        fold_pending_tallies()
        click.echo("Database is up to date.")

    @app.cli.group("translations")
    def translations() -> None:
        """The language catalogs in translations/ (ka, en, ru)."""

    @translations.command("compile")
    def compile_command() -> None:
        """Compile the .po files that changed into the .mo files the app reads."""
        compiled = compile_catalogs()
        click.echo(f"Compiled: {', '.join(compiled)}." if compiled else "Catalogs up to date.")

    @translations.command("update")
    def update_command() -> None:
        """Extract every marked string and merge it into each language's .po file."""
        template = update_catalogs()
        click.echo(f"Extracted {template.name}; new strings wait untranslated in the .po "
                   "files (tests/test_i18n.py lists them).")

    @app.cli.command("rebuild-rollups")
    def rebuild_rollups() -> None:
        """Recount the reports' day and month tallies from the messages.

        Never needed for correctness (triggers keep them exact); run it after
        changing SMSCO_TIMEZONE, or to check. On SQLite, sending waits while
        it runs (seconds for a million messages).
        """
        from .sending.tallies import ensure_tally_triggers, rebuild_tallies

        ensure_tally_triggers()
        rows = rebuild_tallies()
        click.echo(f"Report tallies rebuilt: {rows} rows.")

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True, envvar="PORT")
    def serve(host: str, port: int) -> None:
        """Serve the dashboard with its scheduler in this process (``make run``)."""
        from werkzeug.serving import run_simple

        from .sending.jobs import start_scheduler, stop_scheduler

        if app.config["SMSCO_SCHEDULER"]:
            start_scheduler(app)
        mode = "demo mode (built-in gateway simulator)" if app.config["SMSCO_DEMO"] else (
            f"gateway {app.config['SMSCO_BASE_URL']}")
        click.echo(f"smsco dashboard on http://{host}:{port}/ — {mode}")
        try:
            run_simple(host, port, app, threaded=True, use_reloader=False)
        finally:
            stop_scheduler(app)

    @app.cli.command("worker")
    def worker() -> None:
        """Run the scheduler alone (dispatch, status, balance) until stopped.

        Use it beside web servers started with SMSCO_SCHEDULER=off.
        """
        from .sending.jobs import start_scheduler, stop_scheduler

        if "smsco_scheduler" not in app.extensions:
            start_scheduler(app)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        click.echo("Worker running: dispatch, status and balance jobs. Ctrl-C stops it.")
        stop.wait()
        stop_scheduler(app)
