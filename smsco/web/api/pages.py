"""Dashboard pages of the API: API keys, the API docs page and the webhook delivery log.

Administrators manage every key and resend deliveries; an operator manages
their own keys and sees their own deliveries. A new key's secret is shown
once, in the answer to the form that made it (never stored, never flashed:
flashes travel in the session cookie).
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.services import list_users
from ..models import User
from ..params import arg_int
from ..ui.formatting import local_zone
from . import keys, webhooks
from .forms import NewKeyForm, WebhookForm

bp = Blueprint("api_pages", __name__)


def _me() -> User:
    return current_user._get_current_object()


def _key_or_404(key_id: int):
    key = keys.visible_key(key_id, _me())
    if key is None:
        abort(404)
    return key


def _expiry(day) -> datetime | None:
    """The end of the chosen local day, as the naive UTC the database stores."""
    if day is None:
        return None
    local = datetime.combine(day, time.max, tzinfo=local_zone())
    return local.astimezone(UTC).replace(tzinfo=None)


@bp.route("/api-keys", methods=["GET", "POST"])
def key_list():
    """The keys this user may manage, and the form for a new one."""
    me = _me()
    form = NewKeyForm()
    users = list_users() if me.is_admin else [me]
    form.owner.choices = [(user.id, user.username) for user in users if user.active]
    if not form.is_submitted():
        form.owner.data = me.id
    created = None
    if form.validate_on_submit():
        owner = next((user for user in users if user.id == form.owner.data), me)
        try:
            created = keys.create_key(form.name.data, owner, me, _expiry(form.expires_on.data),
                                      form.webhook_url.data)
        except keys.ApiKeyError as error:
            getattr(form, error.field or "name", form.name).errors.append(str(error))
        else:
            form = NewKeyForm(formdata=None)
            form.owner.choices, form.owner.data = [(u.id, u.username) for u in users], me.id
    response = make_response(render_template(
        "api/keys.html", keys=keys.visible_keys(me), form=form, created=created,
        webhook_form=WebhookForm(formdata=None)))
    response.headers["Cache-Control"] = "no-store"  # a new key's secret is on this page
    return response


@bp.post("/api-keys/<id:key_id>/revoke")
def revoke(key_id: int):
    key = _key_or_404(key_id)
    keys.revoke_key(key, _me())
    flash(_("Key “%(name)s” revoked: requests with it are refused from now on.",
            name=key.name), "success")
    return redirect(url_for(".key_list"))


@bp.post("/api-keys/<id:key_id>/webhook")
def webhook(key_id: int):
    """Set, change or remove (empty) the key's webhook URL."""
    key = _key_or_404(key_id)
    form = WebhookForm()
    if not form.validate():
        flash(" ".join(form.webhook_url.errors), "error")
        return redirect(url_for(".key_list"))
    try:
        keys.set_webhook(key, form.webhook_url.data, _me())
    except keys.ApiKeyError as error:
        flash(str(error), "error")
    else:
        flash(_("Webhook saved.") if key.webhook_url else _("Webhook removed."), "success")
    return redirect(url_for(".key_list"))


@bp.post("/api-keys/<id:key_id>/webhook-secret")
def rotate_secret(key_id: int):
    key = _key_or_404(key_id)
    keys.rotate_webhook_secret(key, _me())
    flash(_("New signing secret made; update your receiver."), "success")
    return redirect(url_for(".key_list"))


@bp.get("/api-docs")
def docs():
    """How to use the API: curl and Python, errors, idempotency, webhooks and signatures."""
    return render_template("api/docs.html", base_url=request.host_url.rstrip("/"))


@bp.get("/webhooks")
def deliveries():
    """The webhook delivery log: each event, its attempts, and (administrators) resend."""
    state = request.args.get("state") or None
    state = state if state in (webhooks.WebhookDelivery.PENDING,
                               webhooks.WebhookDelivery.DELIVERED,
                               webhooks.WebhookDelivery.FAILED) else None
    before = arg_int("before")
    rows, older = webhooks.delivery_page(state, before if before and 0 < before < 2**31 else None,
                                         owner=_me())
    return render_template("api/deliveries.html", deliveries=rows, older=older, state=state)


@bp.post("/webhooks/<id:delivery_id>/resend")
def resend(delivery_id: int):
    if not _me().is_admin:
        abort(403, description=_("Only administrators can resend a delivery."))
    delivery = webhooks.resend(delivery_id, _me())
    if delivery is None:
        abort(404)
    flash(_("Delivery %(event)s will be sent again in a moment.", event=delivery.event_id),
          "success")
    return redirect(url_for(".deliveries"))
