"""Template pages: list, add, edit, delete; and the opt-out footer setting (administrators)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..admin.settings import optout_footer, set_optout_footer
from ..extensions import db
from ..models import MessageTemplate, User
from ..text_analysis.analysis import PLACEHOLDER
from ..ui.confirm import ask_first
from . import services
from .forms import FooterForm, TemplateForm

bp = Blueprint("templates", __name__, url_prefix="/templates")
# The message field partial shows the footer beside its "Marketing message" box.
bp.add_app_template_global(optout_footer, "optout_footer")


def _user() -> User:
    return current_user._get_current_object()


def _manageable(template_id: int) -> MessageTemplate:
    """The template if the user may change it: 404 if they cannot see it, 403 if only use it."""
    template = db.get_or_404(MessageTemplate, template_id,
                             description=_("There is no such template."))
    if not services.can_see(template, _user()):
        abort(404, description=_("There is no such template."))
    if not services.can_manage(template, _user()):
        abort(403, description=_("Only administrators change shared templates."))
    return template


@bp.route("/")
def index():
    """Shared templates and the user's own."""
    templates = services.visible_templates(_user())
    return render_template("message_templates/list.html", templates=templates,
                           can_manage=lambda t: services.can_manage(t, _user()),
                           # "Use" opens bulk send for a text with {placeholders}, else compose.
                           use_in=lambda t: ("bulk.bulk" if PLACEHOLDER.search(t.body)
                                             else "compose.compose"),
                           footer=optout_footer())


@bp.route("/new", methods=["GET", "POST"])
def add():
    form = TemplateForm()
    if form.validate_on_submit():
        template = services.save_template(None, name=form.name.data, body=form.message.data,
                                          shared=form.shared.data, user=_user())
        flash(_("Template “%(name)s” saved.", name=template.name), "success")
        return redirect(url_for(".index"))
    return render_template("message_templates/edit.html", form=form, template=None)


@bp.route("/<id:template_id>/edit", methods=["GET", "POST"])
def edit(template_id: int):
    template = _manageable(template_id)
    form = TemplateForm()
    if not form.is_submitted():
        form.name.data, form.message.data = template.name, template.body
        form.shared.data = template.owner_id is None
    if form.validate_on_submit():
        services.save_template(template, name=form.name.data, body=form.message.data,
                               shared=form.shared.data, user=_user())
        flash(_("Template “%(name)s” saved.", name=template.name), "success")
        return redirect(url_for(".index"))
    return render_template("message_templates/edit.html", form=form, template=template)


@bp.post("/<id:template_id>/delete")
def delete(template_id: int):
    template = _manageable(template_id)
    if (question := ask_first(_("Delete the template “%(name)s”?", name=template.name),
                              _("Yes, delete the template"), back=url_for(".index"))):
        return question
    services.delete_template(template, _user())
    flash(_("Template “%(name)s” deleted.", name=template.name), "success")
    return redirect(url_for(".index"))


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    """The opt-out footer (administrators only)."""
    if not _user().is_admin:
        abort(403, description=_("Only administrators change the opt-out footer."))
    form = FooterForm()
    if not form.is_submitted():
        form.footer.data = optout_footer()
    if form.validate_on_submit():
        footer = set_optout_footer(form.footer.data or "", by=_user())
        flash(_("Opt-out footer set to “%(footer)s”.", footer=footer) if footer
              else _("Opt-out footer removed."), "success")
        return redirect(url_for(".settings"))
    return render_template("message_templates/settings.html", form=form)
