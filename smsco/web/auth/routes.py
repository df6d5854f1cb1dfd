"""Setup, login and logout pages."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from . import services
from .forms import LoginForm, SetupForm
from .throttle import RETRY_AFTER_SECONDS

bp = Blueprint("auth", __name__)

TOO_MANY_ATTEMPTS = "Too many login attempts. Wait a minute and try again."


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
            flash(f"Welcome, {user.username}. Your administrator account is ready.", "success")
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
    flash("You have logged out.", "info")
    return redirect(url_for("auth.login"))
