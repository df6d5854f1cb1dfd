"""Setup, login and logout pages."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..ui.i18n import LANGUAGE_COOKIE, LANGUAGE_COOKIE_AGE, LANGUAGES
from . import services
from .forms import LoginForm, SetupForm
from .throttle import RETRY_AFTER_SECONDS

bp = Blueprint("auth", __name__)

TOO_MANY_ATTEMPTS = _l("Too many login attempts. Wait a minute and try again.")


@bp.app_template_global()
def has_endpoint(endpoint: str) -> bool:
    """True when a view exists, so templates can link to pages still being built."""
    return endpoint in current_app.view_functions


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """First run: create the first administrator; gone once any account exists."""
    if services.has_users():
        abort(404)
    form = SetupForm()
    if form.validate_on_submit():
        try:
            user = services.create_first_admin(form.username.data, form.password.data)
        except services.AccountError as exc:
            form.username.errors.append(str(exc))
        else:
            services.log_in(user)
            flash(_("Welcome, %(name)s. Your administrator account is ready.",
                    name=user.username), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/setup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in, then go to ``next`` if it is a page of this site."""
    if not services.has_users():
        return redirect(url_for("auth.setup"))
    target = request.args.get("next")
    target = target if services.is_safe_next(target) else None
    if current_user.is_authenticated:
        return redirect(target or url_for("main.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.username.data, form.password.data,
                                         request.remote_addr or "")
        except services.LoginThrottled:
            return _too_many_attempts()
        if user is not None:
            services.log_in(user)
            return redirect(target or url_for("main.index"))
        error = services.WRONG_CREDENTIALS
    return render_template("auth/login.html", form=form, error=error)


def _too_many_attempts():
    """The login page again, saying why and when to retry; the password was not checked."""
    return (render_template("auth/login.html", form=LoginForm(), error=TOO_MANY_ATTEMPTS), 429,
            {"Retry-After": str(RETRY_AFTER_SECONDS)})


@bp.post("/logout")
def logout():
    """Log out (POST with the CSRF token, from the header)."""
    if current_user.is_authenticated:
        services.log_out(current_user._get_current_object())
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def set_language():
    """The language switch on every page: a cookie keeps the choice before login; a
    logged-in user's choice is saved on the account. Back to the page it came from."""
    language = request.form.get("language", "")
    target = request.form.get("next")
    response = redirect(target if services.is_safe_next(target) else url_for("main.index"))
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=LANGUAGE_COOKIE_AGE,
                            samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
        if current_user.is_authenticated:
            services.set_language(current_user._get_current_object(), language)
    return response
