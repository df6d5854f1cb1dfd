"""The smsco dashboard: a Flask application factory.

This is the only part of the project that joins the ``smsco`` client to the
web and the database.
"""

from __future__ import annotations

from flask import Flask, render_template

from .cli import register_commands
from .config import INSTANCE_DIR, PROJECT_ROOT, load_config
from .gateway import init_gateway


def create_app(overrides: dict[str, object] | None = None) -> Flask:
    """Build the app from the environment, then apply ``overrides`` (tests use them)."""
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(load_config())
    app.config.update(overrides or {})
    init_gateway(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def register_blueprints(app: Flask) -> None:
    """Attach every feature blueprint."""
    from .main.routes import bp as main_bp

    app.register_blueprint(main_bp)


def register_error_handlers(app: Flask) -> None:
    """Plain-words error pages; never a stack trace."""

    def render_error(error):
        code = getattr(error, "code", 500) or 500
        return render_template("error.html", code=code, error=error), code

    for code in (400, 403, 404, 405, 429, 500):
        app.register_error_handler(code, render_error)
