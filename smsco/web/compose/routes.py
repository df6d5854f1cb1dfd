"""The compose page: one message to one or many numbers, now or scheduled."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..admin.settings import optout_footer, with_footer
from ..extensions import db
from ..message_templates.prefill import template_from_link
from ..message_templates.services import visible_templates
from ..models import Message, ScheduleMode, State
from ..sending.jobs import kick_dispatcher
from ..sending.outbox import NewMessages, OutboxError, create_messages, edit_held_message
from ..text_analysis.analysis import PLACEHOLDER
from ..ui.formatting import to_local
from .forms import ComposeForm

bp = Blueprint("compose", __name__)


@bp.route("/compose", methods=["GET", "POST"])
def compose():
    """Show the form; on a valid POST queue one row per recipient and redirect."""
    form = ComposeForm()
    if not form.is_submitted():
        form.sender.data = form.sender.data or current_app.config["SMSCO_SENDER"]
        template = template_from_link(current_user)
        if template is not None and PLACEHOLDER.search(template.body):
            # Placeholders are filled per recipient only on the bulk page.
            return redirect(url_for("bulk.bulk", template=template.id))
        if template is not None:
            form.message.data = template.body
    if form.validate_on_submit():
        messages = create_messages(new_messages_from(form), current_user)
        kick_dispatcher()
        scheduled = form.send_at.data is not None
        # "Sending now" is news only until the messages move on: the page drops it then.
        flash(queued_text(len(messages), scheduled), "success" if scheduled else "progress")
        if len(messages) == 1:
            return redirect(url_for("history.message", message_id=messages[0].id))
        return redirect(url_for("history.history"))
    return render_template("compose/compose.html", form=form,
                           templates=visible_templates(current_user))


@bp.route("/messages/<id:message_id>/edit", methods=["GET", "POST"])
def edit(message_id: int):
    """Edit a message held here until its time (the compose form, one recipient)."""
    message = db.get_or_404(Message, message_id)
    if message.state != State.QUEUED or message.schedule_mode != ScheduleMode.HELD:
        flash(_("Only messages held here for a later time can be edited."), "error")
        return redirect(url_for("history.message", message_id=message_id))
    form = ComposeForm(obj=None)
    if not form.is_submitted():
        form.recipients.data, form.message.data = message.recipient, message.body
        form.sender.data = message.sender
        form.send_at.data = to_local(message.send_at).replace(tzinfo=None)
    elif form.validate_on_submit() and _one_recipient(form):
        try:
            edit_held_message(message, new_messages_from(form), current_user)
        except OutboxError as error:
            flash(str(error), "error")
        else:
            kick_dispatcher()
            flash(_("Changes saved."), "success")
        return redirect(url_for("history.message", message_id=message_id))
    return render_template("compose/compose.html", form=form, editing=message)


def _one_recipient(form: ComposeForm) -> bool:
    if len(form.valid_recipients) != 1:
        form.recipients.errors = [_("An edited message goes to exactly one number.")]
        return False
    return True


def new_messages_from(form: ComposeForm) -> NewMessages:
    """The form's content as an outbox request (the send time in naive UTC)."""
    mode, send_at = form.schedule()
    body = form.message.data
    if form.marketing.data:
        body = with_footer(body, optout_footer())
    return NewMessages(recipients=form.valid_recipients, body=body, sender=form.sender_id,
                       mode=mode, send_at=send_at)


def queued_text(count: int, scheduled: bool) -> str:
    if scheduled:
        return ngettext("%(num)d message scheduled.", "%(num)d messages scheduled.", count)
    return ngettext("%(num)d message queued; sending now.",
                    "%(num)d messages queued; sending now.", count)
