"""The admin pages: accounts and the audit log (administrators only)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import services
from ..extensions import db
from ..models import User
from ..params import arg_int
from ..ui.confirm import ask_first
from ..ui.exports import export_response
from . import audit as audit_log
from .forms import AddUserForm, ResetPasswordForm, RoleForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def require_admin():
    """Operators get a plain 403 page (login itself is checked app-wide first)."""
    if not current_user.is_authenticated or not current_user.is_admin:
        abort(403, description=_("Only administrators can open this page."))


def _actor() -> User:
    return current_user._get_current_object()


def _user_or_404(user_id: int) -> User:
    return db.get_or_404(User, user_id, description=_("There is no such account."))


@bp.route("/users", methods=["GET", "POST"])
def users():
    """The accounts, with a form to add one."""
    form = AddUserForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(form.username.data, form.password.data,
                                        form.role.data, by=_actor())
        except services.AccountError as exc:
            getattr(form, exc.field or "username").errors.append(str(exc))
        else:
            flash(_("Added %(name)s.", name=user.username), "success")
            return redirect(url_for(".users"))
    return render_template("admin/users.html", users=services.list_users(), form=form)


@bp.post("/users/<id:user_id>/disable")
def disable(user_id: int):
    """Disable an account: it can no longer log in and its sessions end (after asking)."""
    user = _user_or_404(user_id)
    if (question := ask_first(_("Disable %(name)s?", name=user.username), _("Yes, disable"),
                              _("They can no longer log in, and their open sessions end."),
                              back=url_for(".users"))):
        return question
    return _change_active(user_id, active=False)


@bp.post("/users/<id:user_id>/enable")
def enable(user_id: int):
    """Let a disabled account log in again."""
    return _change_active(user_id, active=True)


def _change_active(user_id: int, active: bool):
    user = _user_or_404(user_id)
    try:
        services.set_active(user, active, by=_actor())
    except services.AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Enabled %(name)s.", name=user.username) if active
              else _("Disabled %(name)s.", name=user.username), "success")
    return redirect(url_for(".users"))


@bp.post("/users/<id:user_id>/role")
def change_role(user_id: int):
    """Make an account an operator or an administrator."""
    user = _user_or_404(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.set_role(user, form.role.data, by=_actor())
    except services.AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(_("%(name)s is now an administrator.", name=user.username) if user.is_admin
              else _("%(name)s is now an operator.", name=user.username), "success")
    return redirect(url_for(".users"))


@bp.route("/users/<id:user_id>/password", methods=["GET", "POST"])
def reset_password(user_id: int):
    """Set a new password for an account."""
    user = _user_or_404(user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(user, form.password.data, by=_actor())
        except services.AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            flash(_("New password set for %(name)s.", name=user.username), "success")
            return redirect(url_for(".users"))
    return render_template("admin/reset_password.html", user=user, form=form)


@bp.get("/audit")
def audit():
    """The audit log, filtered, newest first, 50 a page, paged by id (``?before=<id>``)."""
    filters = audit_log.AuditFilters.from_args(request.args)
    before = arg_int("before")
    entries, older = audit_log.audit_page(filters, before)
    names = audit_log.usernames()
    return render_template("admin/audit.html", entries=entries, older=older, before=before,
                           filters=filters, users=names, actions=audit_log.ACTIONS,
                           action_label=audit_log.action_label,
                           subject=lambda entry: audit_log.subject(entry, names))


@bp.get("/audit.csv")
def audit_csv():
    """The filtered audit log as CSV."""
    filters = audit_log.AuditFilters.from_args(request.args)
    return export_response(audit_log.audit_table(filters), "csv")
