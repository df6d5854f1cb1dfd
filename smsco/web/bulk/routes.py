"""The bulk send page (preview, send to all) and the campaign pages (progress, actions, export)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..admin.settings import optout_footer
from ..contacts.importing import ImportFileError, Sheet, inspect, save_upload, upload_path
from ..contacts.services import ContactSelection
from ..extensions import db
from ..message_templates.prefill import template_from_link
from ..message_templates.services import visible_templates
from ..models import Campaign, State
from ..params import arg_int, bounded_ids, bounded_int
from ..reports import presenters as report_presenters
from ..reports import services as report_services
from ..reports import tables as report_tables
from ..reports.queries import Scope
from ..sending.jobs import kick_dispatcher
from ..sending.outbox import OutboxError
from ..text_analysis.analysis import max_parts
from ..ui.confirm import ask_first
from ..ui.exports import export_response
from ..ui.formatting import local_zone, percent, sent_at_text, tetri
from ..ui.labels import gateway_label
from . import campaigns, services, starting
from .campaigns import CampaignSpec
from .forms import BulkForm

bp = Blueprint("bulk", __name__)

COUNT_STATES = (State.QUEUED, State.PAUSED, State.SENT, State.DELIVERED, State.FAILED,
                State.UNKNOWN, State.SKIPPED, State.CANCELED)


# -- the bulk page -----------------------------------------------------------------


@bp.route("/bulk", methods=["GET", "POST"])
def bulk():
    """Show the form; "Preview" counts and prices; "Send to all" creates the campaign."""
    form = BulkForm()
    form.groups.choices = [(g.id, g.name) for g in _groups()]
    if not form.is_submitted():
        return _start(form)
    existing = campaigns.find_campaign(form.key.data or "")
    if existing is not None:  # a double click, or back and submit again
        return redirect(url_for("bulk.campaign", campaign_id=existing.id))
    sources, problem = _sources(form)
    if not (form.name.data or "").strip():
        form.name.data = starting.default_name(form, sources.contacts)
    if not form.validate() or problem:
        if problem:
            form.form_errors.append(problem)
        return _render(form, sheet=sources.sheet)
    footer = optout_footer() if form.marketing else ""
    collected = services.collect(sources)
    result = services.preview(collected, form.message.data, form.marketing, footer)
    result.quiet_start = services.quiet_start(form.marketing, form.schedule()[1])
    if result.too_long:
        form.message.errors.append(ngettext(
            "With the contacts' fields filled in, %(num)d message is longer than %(max)d SMS "
            "parts. Shorten the text.",
            "With the contacts' fields filled in, %(num)d messages are longer than %(max)d SMS "
            "parts. Shorten the text.", result.too_long, max=max_parts()))
        return _render(form, result, sources.sheet)
    if request.form.get("action") != "send":
        return _render(form, result, sources.sheet)
    if not result.to_send:
        form.form_errors.append(_("There is nobody to send to."))
        return _render(form, result, sources.sheet)
    if not result.affordable:
        return _render(form, result, sources.sheet)
    campaign = services.send(collected, _spec(form, footer), current_user._get_current_object(),
                             form.key.data)
    kick_dispatcher()
    flash(ngettext("Campaign “%(name)s” created: %(num)d message queued.",
                   "Campaign “%(name)s” created: %(num)d messages queued.",
                   campaign.recipient_count, name=campaign.name), "success")
    return redirect(url_for("bulk.campaign", campaign_id=campaign.id))


def _start(form: BulkForm):
    """The empty form, or one started from a template, a group or chosen contacts."""
    form.sender.data = current_app.config["SMSCO_SENDER"]
    template = template_from_link(current_user._get_current_object())
    if template is not None:
        form.message.data = template.body
    known = {group_id for group_id, _name in form.groups.choices}
    form.groups.data = [g for g in bounded_ids(",".join(request.args.getlist("groups")), 50)
                        if g in known]
    selection = starting.selection_from_link(form)
    if request.args.get("from") == "contacts" and not (selection or form.groups.data):
        flash(_("Select contacts first (tick their boxes, or all matching ones)."), "error")
        return redirect(url_for("contacts.contacts", q=request.args.get("q") or None,
                                group=bounded_int(request.args.get("group"))))
    starting.keep_selection(form, selection)
    if form.groups.data or selection:
        form.name.data = starting.default_name(form, selection)
    return _render(form)


def _groups():
    from ..contacts.services import groups

    return groups()


def _sources(form: BulkForm) -> tuple[services.Sources, str | None]:
    """The recipients the form names; keeps a new upload and carries its token."""
    upload = form.recipients_file.data
    if upload and getattr(upload, "filename", ""):
        try:
            form.file_token.data, form.file_name.data = save_upload(upload), upload.filename
        except ImportFileError as error:
            return services.Sources(), str(error)
    path = upload_path(form.file_token.data) if form.file_token.data else None
    if form.file_token.data and path is None:
        form.file_token.data = form.file_name.data = ""
        return services.Sources(), _("The uploaded file is gone (kept for a day): choose it "
                                     "again.")
    contacts = starting.chosen_contacts(form) if form.use_contacts.data else ContactSelection()
    sources = services.Sources(tuple(form.groups.data or ()), path, form.phone_column.data,
                               form.pasted.data or "", contacts=contacts,
                               wanted=frozenset(campaigns.placeholders(form.message.data or "")))
    if not (sources.group_ids or sources.file or sources.pasted.strip() or sources.contacts):
        return sources, _("Choose a group, a recipients file, or paste numbers.")
    if path is not None:
        try:  # read the first rows once; the preview and the page reuse them
            sources = replace(sources, sheet=inspect(path))
        except ImportFileError as error:
            return sources, str(error)
    return sources, None


def _spec(form: BulkForm, footer: str) -> CampaignSpec:
    mode, send_at = form.schedule()
    return CampaignSpec(name=form.name.data.strip(), body=form.message.data,
                        sender=form.sender_id, marketing=form.marketing,
                        quiet_hours=form.marketing, mode=mode, send_at=send_at, footer=footer)


def _render(form: BulkForm, result: services.Preview | None = None,
            sheet: Sheet | None = None):
    phone_column = form.phone_column.data
    if sheet is not None and phone_column is None:
        phone_column = sheet.guess_phone_column()
    contacts = starting.chosen_contacts(form)
    return render_template("bulk/bulk.html", form=form, preview=result, sheet=sheet,
                           phone_column=phone_column,
                           contacts_label=starting.selection_label(contacts) if contacts else None,
                           start_text=services.start_text,
                           templates=visible_templates(current_user._get_current_object()))


# -- campaign pages ----------------------------------------------------------------


@bp.get("/campaigns")
def campaign_list():
    rows, older = services.campaign_page(arg_int("before"))
    progress = services.progress_for([c.id for c in rows])
    return render_template("bulk/campaigns.html", campaigns=rows, older=older, progress=progress,
                           statuses={c.id: services.campaign_status(c, progress[c.id])
                                     for c in rows})


def progress_data(campaign: Campaign) -> dict[str, object]:
    """What the campaign page shows and its JSON endpoint sends."""
    progress = campaigns.campaign_progress(campaign.id)
    counts = {state: progress.counts.get(state, 0) for state in COUNT_STATES}
    counts[State.QUEUED] += progress.counts.get(State.SENDING, 0)
    waiting = None
    if campaign.quiet_hours and counts[State.QUEUED]:
        until = campaigns.quiet_wait()
        if until is not None:
            waiting = services.start_text(until)
    rate = progress.delivery_rate
    queued, held = progress.counts.get(State.QUEUED, 0), progress.counts.get(State.PAUSED, 0)
    live = not campaign.canceled
    return {
        "percent": progress.percent, "done": progress.done, "total": progress.total,
        "counts": counts, "credits": tetri(progress.credits),
        "delivery_rate": None if rate is None else percent(rate),
        "finished": not any(progress.counts.get(s) for s in (
            State.QUEUED, State.PAUSED, State.SENDING, State.SENT)),
        "quiet_until": waiting, "paused": campaign.paused, "canceled": campaign.canceled,
        "failed": counts[State.FAILED],
        # Which actions make sense now: the page offers only these (bulk.js keeps it so).
        "actions": {"pause": live and not campaign.paused and bool(queued),
                    "resume": live and campaign.paused,
                    "cancel": live and bool(queued or held),
                    "resend": campaigns.resendable_count(campaign.id) > 0},
    }


@bp.get("/campaigns/<id:campaign_id>")
def campaign(campaign_id: int):
    item = db.get_or_404(Campaign, campaign_id)
    page = services.campaign_messages(campaign_id, arg_int("before"))
    figures = report_services.scope_figures(Scope(campaign_id=campaign_id))
    return render_template("bulk/campaign.html", campaign=item, data=progress_data(item),
                           page=page, STATES=COUNT_STATES, sent_at_text=sent_at_text,
                           gateway_label=gateway_label,
                           FINAL_STATES=State.FINAL,
                           sections=report_presenters.campaign_sections(figures),
                           table_html=report_tables.html,
                           today=datetime.now(local_zone()).date().isoformat())


@bp.get("/campaigns/<id:campaign_id>/progress")
def campaign_progress(campaign_id: int):
    return jsonify(progress_data(db.get_or_404(Campaign, campaign_id)))


@bp.get("/campaigns/<id:campaign_id>/results.csv")
def campaign_csv(campaign_id: int):
    return export_response(services.results_table(db.get_or_404(Campaign, campaign_id)), "csv")


@bp.get("/campaigns/<id:campaign_id>/results.xlsx")
def campaign_xlsx(campaign_id: int):
    return export_response(services.results_table(db.get_or_404(Campaign, campaign_id)), "xlsx")


def _action(campaign_id: int, action, done):
    """Run ``action`` on the campaign; ``done(count)`` says what it did."""
    item = db.get_or_404(Campaign, campaign_id)
    try:
        count = action(item, current_user._get_current_object())
    except OutboxError as error:
        flash(str(error), "error")
    else:
        flash(done(count), "success")
        kick_dispatcher()
    return redirect(url_for("bulk.campaign", campaign_id=campaign_id))


@bp.post("/campaigns/<id:campaign_id>/pause")
def pause(campaign_id: int):
    return _action(campaign_id, campaigns.pause_campaign, lambda n: ngettext(
        "Campaign paused: %(num)d message held.", "Campaign paused: %(num)d messages held.", n))


@bp.post("/campaigns/<id:campaign_id>/resume")
def resume(campaign_id: int):
    return _action(campaign_id, campaigns.resume_campaign, lambda n: ngettext(
        "Campaign resumed: %(num)d message queued again.",
        "Campaign resumed: %(num)d messages queued again.", n))


@bp.post("/campaigns/<id:campaign_id>/cancel")
def cancel(campaign_id: int):
    item = db.get_or_404(Campaign, campaign_id)
    if (question := ask_first(_("Cancel the campaign “%(name)s”?", name=item.name),
                              _("Yes, cancel the campaign"),
                              _("Messages not yet sent will never be sent."),
                              back=url_for("bulk.campaign", campaign_id=campaign_id))):
        return question
    return _action(campaign_id, campaigns.cancel_campaign, lambda n: ngettext(
        "Campaign cancelled: %(num)d message will not be sent.",
        "Campaign cancelled: %(num)d messages will not be sent.", n))


@bp.post("/campaigns/<id:campaign_id>/resend-failed")
def resend_failed(campaign_id: int):
    return _action(campaign_id, campaigns.resend_failed, lambda n: ngettext(
        "%(num)d failed message queued again.", "%(num)d failed messages queued again.", n))
