"""The bulk send page (preview, send to all) and the campaign pages (progress, actions, export)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..admin.settings import optout_footer
from ..contacts.importing import ImportFileError, Sheet, inspect, save_upload, upload_path
from ..extensions import db
from ..message_templates.services import visible_templates
from ..models import Campaign, State, utcnow
from ..sending.jobs import kick_dispatcher
from ..sending.outbox import OutboxError
from ..sending.quiet_hours import quiet_until
from ..ui.formatting import clock, local_zone, percent, tetri
from . import campaigns, services
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
        form.sender.data = current_app.config["SMSCO_SENDER"]
        return _render(form)
    existing = campaigns.find_campaign(form.key.data or "")
    if existing is not None:  # a double click, or back and submit again
        return redirect(url_for("bulk.campaign", campaign_id=existing.id))
    sources, problem = _sources(form)
    if not form.validate() or problem:
        if problem:
            form.form_errors.append(problem)
        return _render(form, sheet=sources.sheet)
    footer = optout_footer() if form.marketing.data else ""
    collected = services.collect(sources)
    result = services.preview(collected, form.message.data, form.marketing.data, footer)
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
    sources = services.Sources(tuple(form.groups.data or ()), path, form.phone_column.data,
                               form.pasted.data or "")
    if not (sources.group_ids or sources.file or sources.pasted.strip()):
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
                        sender=form.sender_id, marketing=form.marketing.data,
                        quiet_hours=not form.transactional.data, mode=mode, send_at=send_at,
                        footer=footer)


def _render(form: BulkForm, result: services.Preview | None = None,
            sheet: Sheet | None = None):
    phone_column = form.phone_column.data
    if sheet is not None and phone_column is None:
        phone_column = sheet.guess_phone_column()
    return render_template("bulk/bulk.html", form=form, preview=result, sheet=sheet,
                           phone_column=phone_column,
                           templates=visible_templates(current_user._get_current_object()))


# -- campaign pages ----------------------------------------------------------------


@bp.get("/campaigns")
def campaign_list():
    rows, older = services.campaign_page(request.args.get("before", type=int))
    return render_template("bulk/campaigns.html", campaigns=rows, older=older,
                           progress=services.progress_for([c.id for c in rows]))


def progress_data(campaign: Campaign) -> dict[str, object]:
    """What the campaign page shows and its JSON endpoint sends."""
    progress = campaigns.campaign_progress(campaign.id)
    counts = {state: progress.counts.get(state, 0) for state in COUNT_STATES}
    counts[State.QUEUED] += progress.counts.get(State.SENDING, 0)
    waiting = None
    if campaign.quiet_hours and counts[State.QUEUED]:
        until = quiet_until(current_app.config.get("SMSCO_QUIET_RULE"), utcnow(), local_zone())
        if until is not None:
            waiting = clock(until)
    rate = progress.delivery_rate
    return {
        "percent": progress.percent, "done": progress.done, "total": progress.total,
        "counts": counts, "credits": tetri(progress.credits),
        "delivery_rate": None if rate is None else percent(rate),
        "finished": not any(progress.counts.get(s) for s in (
            State.QUEUED, State.PAUSED, State.SENDING, State.SENT)),
        "quiet_until": waiting, "paused": campaign.paused, "canceled": campaign.canceled,
        "failed": counts[State.FAILED],
    }


@bp.get("/campaigns/<int:campaign_id>")
def campaign(campaign_id: int):
    item = db.get_or_404(Campaign, campaign_id)
    page = services.campaign_messages(campaign_id, request.args.get("before", type=int))
    return render_template("bulk/campaign.html", campaign=item, data=progress_data(item),
                           page=page, STATES=COUNT_STATES, FINAL_STATES=State.FINAL)


@bp.get("/campaigns/<int:campaign_id>/progress")
def campaign_progress(campaign_id: int):
    return jsonify(progress_data(db.get_or_404(Campaign, campaign_id)))


@bp.get("/campaigns/<int:campaign_id>/results.csv")
def campaign_csv(campaign_id: int):
    item = db.get_or_404(Campaign, campaign_id)
    filename = f"smsco-campaign-{item.id}-{date.today().isoformat()}.csv"
    return Response(stream_with_context(services.results_csv(item.id)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


def _action(campaign_id: int, action, done):
    """Run a campaign action; ``done(count)`` says what it did."""
    item = db.get_or_404(Campaign, campaign_id)
    try:
        count = action(item, current_user._get_current_object())
    except OutboxError as error:
        flash(str(error), "error")
    else:
        flash(done(count), "success")
        kick_dispatcher()
    return redirect(url_for("bulk.campaign", campaign_id=campaign_id))


@bp.post("/campaigns/<int:campaign_id>/pause")
def pause(campaign_id: int):
    return _action(campaign_id, campaigns.pause_campaign, lambda count: ngettext(
        "Campaign paused: %(num)d message held.", "Campaign paused: %(num)d messages held.",
        count))


@bp.post("/campaigns/<int:campaign_id>/resume")
def resume(campaign_id: int):
    return _action(campaign_id, campaigns.resume_campaign, lambda count: ngettext(
        "Campaign resumed: %(num)d message queued again.",
        "Campaign resumed: %(num)d messages queued again.", count))


@bp.post("/campaigns/<int:campaign_id>/cancel")
def cancel(campaign_id: int):
    return _action(campaign_id, campaigns.cancel_campaign, lambda count: ngettext(
        "Campaign cancelled: %(num)d message will not be sent.",
        "Campaign cancelled: %(num)d messages will not be sent.", count))


@bp.post("/campaigns/<int:campaign_id>/resend-failed")
def resend_failed(campaign_id: int):
    return _action(campaign_id, campaigns.resend_failed, lambda count: ngettext(
        "%(num)d failed message queued again.", "%(num)d failed messages queued again.",
        count))
