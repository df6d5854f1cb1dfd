"""The history pages: the message table, its CSV export, live updates, one message's page."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from smsco import SmscoError

from ..extensions import db
from ..models import Message, State, audit
from ..params import arg_int, bounded_ids
from ..sending.jobs import check_status_now, kick_dispatcher
from ..sending.outbox import OutboxError, cancel_message, resend_message
from ..ui.causes import message_cause
from ..ui.confirm import ask_first
from ..ui.exports import export_response
from ..ui.formatting import lari, phone, sent_at_text, tetri
from ..ui.header import header_context
from ..ui.labels import error_text, gateway_label, state_label
from . import queries
from .export import history_table

bp = Blueprint("history", __name__)


# -- how a row looks (shared by the templates and the JSON updates) ----------------


def row_update(message) -> dict[str, object]:
    """The live-changing cells of one row, as the JSON updates send them."""
    return {
        "state": (shown := State.shown(message.state, message.send_at)),
        "label": state_label(shown),
        "gateway": gateway_label(message.gateway_status) if message.state == State.SENT else "",
        "error": str(cause.title) if (cause := message_cause(message)) else "",
        "sent_at": sent_at_text(message),
        "credits": tetri(message.credits),
        "final": message.state in State.FINAL,
    }


@bp.context_processor
def history_helpers() -> dict[str, object]:
    return {"FINAL_STATES": State.FINAL}


# -- the table -----------------------------------------------------------------------


@bp.get("/history")
def history():
    """The filtered message table, newest first, one keyset page at a time."""
    filters = queries.HistoryFilters.from_args(request.args)
    page = queries.history_page(filters, before=arg_int("before"), after=arg_int("after"))
    config = current_app.config
    senders = sorted({s for s in [config.get("SMSCO_SENDER"), *config.get("SMSCO_SENDERS", [])]
                      if s})
    return render_template(
        "history/history.html", page=page, filters=filters, states=State.FILTERS,
        operators=queries.operators(), senders=senders,
        can_compose="compose.compose" in current_app.view_functions,
        scan_window=queries.SCAN_WINDOW,
    )


@bp.get("/history.csv")
def export_csv():
    """The filtered view as CSV, streamed in batches."""
    return export_response(history_table(queries.HistoryFilters.from_args(request.args)), "csv")


@bp.get("/history.xlsx")
def export_xlsx():
    """The filtered view as an Excel workbook."""
    return export_response(history_table(queries.HistoryFilters.from_args(request.args)), "xlsx")


@bp.get("/history/updates")
def updates():
    """Current state of the given messages (``?ids=1,2,3``, at most 200) and the balance."""
    ids = bounded_ids(request.args.get("ids"), queries.UPDATES_LIMIT)
    messages = {str(row.id): row_update(row) for row in queries.updates_for(ids)}
    balance = header_context().get("balance")
    return jsonify(messages=messages, balance=lari(balance) if balance is not None else None)


# -- one message -----------------------------------------------------------------------


def _message_or_404(message_id: int) -> Message:
    message = db.session.get(Message, message_id)
    if message is None:
        abort(404)
    return message


@bp.get("/messages/<id:message_id>")
def message(message_id: int):
    """Everything about one message, with its timeline and actions."""
    item = _message_or_404(message_id)
    return render_template("history/message.html", message=item,
                           resent_as=queries.resend_of(item))


@bp.get("/messages/<id:message_id>/live")
def message_live(message_id: int):
    """The changing part of the message page (status, actions, timeline), for polling."""
    return render_template("history/_message_live.html", message=_message_or_404(message_id))


def _back(message_id: int):
    return redirect(url_for("history.message", message_id=message_id))


@bp.post("/messages/<id:message_id>/cancel")
def cancel(message_id: int):
    """Cancel a message still waiting here (after asking)."""
    item = _message_or_404(message_id)
    if (question := ask_first(_("Cancel the message to %(phone)s?", phone=phone(item.recipient)),
                              _("Yes, cancel the message"), _("It will not be sent."),
                              back=url_for("history.message", message_id=message_id))):
        return question
    try:
        cancel_message(item, current_user._get_current_object())
    except OutboxError as exc:
        flash(str(exc), "error")
    else:
        flash(_("The message was cancelled."), "success")
    return _back(message_id)


@bp.post("/messages/<id:message_id>/resend")
def resend(message_id: int):
    """Queue a new copy of a failed or unknown message, linked to it."""
    item = _message_or_404(message_id)
    try:
        copy = resend_message(item, current_user._get_current_object())
    except OutboxError as exc:
        flash(str(exc), "error")
        return _back(message_id)
    kick_dispatcher()
    flash(_("Queued again as message #%(id)s.", id=copy.id), "success")
    return _back(copy.id)


@bp.post("/messages/<id:message_id>/check")
def check_status(message_id: int):
    """Ask the gateway for the delivery status now and record the answer."""
    item = _message_or_404(message_id)
    if item.state != State.SENT or not item.mes_id:
        flash(_("Only messages accepted by the gateway and not yet final can be checked."),
              "error")
        return _back(message_id)
    try:
        status = check_status_now(item)
    except SmscoError as exc:  # its text never holds the password
        flash(_("The status could not be checked: %(reason)s",
                reason=error_text(exc.code, str(exc))), "error")
        return _back(message_id)
    audit(current_user._get_current_object(), "check", item, f"gateway status {status.label}")
    db.session.commit()
    flash(_("The gateway says: %(status)s.", status=gateway_label(status)), "success")
    return _back(message_id)
