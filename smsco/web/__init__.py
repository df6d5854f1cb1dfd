"""The smsco dashboard: a Flask application factory.

This is the only part of the project that joins the ``smsco`` client to the
web and the database.
"""

from __future__ import annotations

from flask import Flask, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from smsco import text

from .auth.throttle import init_throttle
from .cli import register_commands
from .config import INSTANCE_DIR, PROJECT_ROOT, load_config
from .database import init_database
from .extensions import csrf, db, limiter, login_manager, migrate
from .params import register_parameters
from .sending import init_sending
from .ui.browser_policy import init_browser_policy

# Endpoints reachable without logging in.
PUBLIC_ENDPOINTS = {"auth.login", "auth.setup", "auth.set_language", "static"}


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
    text.set_extra_characters(app.config.get("SMSCO_EXTRA_CHARS", ""))
    register_proxy(app)
    register_extensions(app)
    register_parameters(app)  # before the blueprints' routes use <id:...>
    init_sending(app)
    register_feature_jobs(app)
    register_blueprints(app)
    register_access_rules(app)
    register_template_helpers(app)
    init_browser_policy(app)
    register_error_handlers(app)
    register_commands(app)
    register_scheduler_start(app)
    return app


def register_scheduler_start(app: Flask) -> None:
    """Start the scheduler with the first request, when this process should run it.

    ``flask --app app serve`` (``make run``) and ``worker`` start it at once;
    this covers ``flask run`` and single-process WSGI servers. Commands such
    as ``prepare`` or ``db`` never serve a request, so they never start it.
    """
    import threading

    lock = threading.Lock()

    @app.before_request
    def start_scheduler_once():
        if not app.config["SMSCO_SCHEDULER"] or "smsco_scheduler" in app.extensions:
            return
        with lock:
            if "smsco_scheduler" not in app.extensions:
                from .sending.jobs import start_scheduler

                start_scheduler(app)


def register_proxy(app: Flask) -> None:
    """Behind ``SMSCO_PROXY_HOPS`` trusted reverse proxies, take the client's address and
    scheme from their X-Forwarded-For/-Proto headers, so the login limit counts real
    clients rather than the proxy. Off (0) by default: without a proxy those headers
    come from the client and must not be believed.
    """
    hops = app.config.get("SMSCO_PROXY_HOPS", 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def register_feature_jobs(app: Flask) -> None:
    """Jobs of feature packages, run by the one scheduler beside dispatch (webhooks)."""
    from .api.webhooks import init_webhooks

    init_webhooks(app)


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions of ``extensions.py``."""
    from . import models  # noqa: F401 - models must be imported before migrations look

    init_database(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"),
                     render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Log in to continue.")
    login_manager.localize_callback = str  # the lazy text in the page's language
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    limiter.init_app(app)  # the API's per-key limit (login has its own, auth/throttle.py)
    init_throttle(app)


def register_blueprints(app: Flask) -> None:
    """Attach every feature blueprint (the JSON API is CSRF-exempt: it takes no cookies)."""
    from .admin.routes import bp as admin_bp
    from .api.pages import bp as api_pages_bp
    from .api.routes import bp as api_bp
    from .auth.routes import bp as auth_bp
    from .bulk.routes import bp as bulk_bp
    from .compose.routes import bp as compose_bp
    from .contacts.routes import bp as contacts_bp
    from .history.routes import bp as history_bp
    from .message_templates.routes import bp as templates_bp
    from .overview.routes import bp as main_bp
    from .reports.routes import bp as reports_bp
    from .text_analysis.routes import bp as text_bp

    for blueprint in (main_bp, auth_bp, admin_bp, compose_bp, history_bp, text_bp, templates_bp,
                      bulk_bp, contacts_bp, reports_bp, api_bp, api_pages_bp):
        app.register_blueprint(blueprint)
    csrf.exempt(api_bp)


def register_access_rules(app: Flask) -> None:
    """Every page but login, setup and static files needs a logged-in user.

    The JSON API (``/api/``) checks its Bearer key itself and never redirects.
    """
    from .api.problems import is_api_request
    from .auth.services import has_users

    @app.before_request
    def require_login():
        if request.endpoint in PUBLIC_ENDPOINTS or is_api_request():
            return None
        if current_user.is_authenticated:
            return None
        if not has_users():
            return redirect(url_for("auth.setup"))
        return login_manager.unauthorized()


def register_template_helpers(app: Flask) -> None:
    """Filters and the header data (balance, alerts) every page shows."""
    from .ui import init_ui

    init_ui(app)


def register_error_handlers(app: Flask) -> None:
    """Plain-words error pages; never a stack trace. Under ``/api/``: problem details."""
    from .api.problems import from_http_exception, is_api_request, problem_response, unexpected

    def render_error(error):
        code = getattr(error, "code", 500) or 500
        if is_api_request():
            return problem_response(unexpected() if code == 500 else from_http_exception(error))
        # Our own descriptions are in the reader's language; Werkzeug's stock ones and
        # Flask-WTF's CSRF texts are not (the page says it in words of its own).
        description = getattr(error, "description", None)
        if description == getattr(type(error), "description", None) or isinstance(
                error, CSRFError):
            description = None
        return render_template("error.html", code=code, description=description), code

    def other_http_error(error: HTTPException):
        return problem_response(from_http_exception(error)) if is_api_request() else error

    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, render_error)
    app.register_error_handler(HTTPException, other_http_error)
