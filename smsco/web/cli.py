"""Command-line tasks: ``flask --app app prepare``."""

from __future__ import annotations

import click
from flask import Flask


def register_commands(app: Flask) -> None:
    """Attach the project's commands to ``flask``."""

    @app.cli.command("prepare")
    def prepare() -> None:
        """Make everything the dashboard needs before it starts."""
        from pathlib import Path

        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        click.echo("Ready.")
