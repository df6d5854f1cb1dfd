"""``/api/v1``: the endpoints. Each validates with its model, calls one service, answers JSON.

Authentication is the Bearer key (never the session cookie), so the
blueprint is CSRF-exempt; the app's login rule leaves ``/api/`` alone and
nothing here ever redirects to the login page. Every refusal is a problem
document (``problems.py``).
"""

from __future__ import annotations

import hashlib
import re
import time

from flask import Blueprint, current_app, g, jsonify, request
from flask_limiter.util import get_remote_address
from spectree import Response, SpecTree

from ..extensions import limiter
from ..sending.jobs import kick_dispatcher
from . import keys, services
from . import schemas as s
from .problems import (
    ApiProblem,
    FieldError,
    problem_response,
    pydantic_errors,
    validation_problem,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")

#: Endpoints reachable without a key.
OPEN_ENDPOINTS = {"api.openapi_document"}
QUERY_MODELS = {s.MessageQuery.__name__, s.DeliveryQuery.__name__}
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
MAX_BODY_BYTES = 5 * 1024 * 1024
DEFAULT_RATE_LIMIT = "600 per minute"


def _refuse_invalid(req, resp, error, instance, model_adapter) -> None:
    """Spectree's hook: an invalid body or query becomes a 422 problem naming each field."""
    if error is None:
        return
    location = "query" if error.title in QUERY_MODELS else "body"
    raise validation_problem(pydantic_errors(error.errors(include_context=False,
                                                          include_url=False), location))


spec = SpecTree(
    "flask", title="smsco dashboard API", version="1", path="api/v1/_spectree",
    page_templates={}, mode="strict", annotations=True, before=_refuse_invalid,
    validation_error_status=422, validation_error_model=s.Problem,
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
)

#: Problems every endpoint may answer with (documented on each).
COMMON = {f"HTTP_{code}": s.Problem for code in (400, 401, 415, 429)}


def answers(**codes) -> Response:
    """A Response of ``codes`` plus the problems every endpoint may give."""
    return Response(**COMMON, **codes)


# -- before and after each request ---------------------------------------------------


def rate_limit_key() -> str:
    """Per key: a hash of the Authorization header (the address when there is none)."""
    header = request.headers.get("Authorization")
    if not header:
        return "api-anonymous:" + get_remote_address()
    return "api-key:" + hashlib.sha256(header.encode("utf-8", "replace")).hexdigest()[:32]


def rate_limit_value() -> str:
    return current_app.config.get("SMSCO_API_RATE_LIMIT") or DEFAULT_RATE_LIMIT


limiter.limit(rate_limit_value, key_func=rate_limit_key)(bp)


@bp.before_request
def authenticate_and_read_body():
    """The Bearer key (401 without a usable one); a JSON body that parses (400/413/415)."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    key, reason = keys.authenticate(request.headers.get("Authorization"))
    if key is None:
        raise ApiProblem(401, "Unauthorized", reason,
                         headers={"WWW-Authenticate": 'Bearer realm="smsco"'})
    g.api_key = key
    if request.method == "POST" and (request.content_length or 0) > MAX_BODY_BYTES:
        raise ApiProblem(413, "Content Too Large", "Send at most 5 MB in one request.")
    if request.method == "POST" and request.get_data(cache=True):
        if not request.is_json:
            raise ApiProblem(415, "Unsupported Media Type",
                             "Send the body as JSON (Content-Type: application/json).")
        try:
            request.get_json()
        except Exception:
            raise ApiProblem(400, "Bad Request", "The body is not valid JSON.") from None
    return None


@bp.after_request
def rate_limit_headers(response):
    """RateLimit-Limit/-Remaining/-Reset (seconds) on every answer; Retry-After on 429."""
    current = limiter.current_limit
    if current is not None:
        reset = max(0, current.reset_at - int(time.time()))
        response.headers["RateLimit-Limit"] = str(current.limit.amount)
        response.headers["RateLimit-Remaining"] = str(max(0, current.remaining))
        response.headers["RateLimit-Reset"] = str(reset)
        if response.status_code == 429:
            response.headers["Retry-After"] = str(max(1, reset))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(ApiProblem)
def api_problem(problem: ApiProblem):
    return problem_response(problem)


def _key() -> keys.Caller:
    return g.api_key


def _idempotency_key() -> str | None:
    value = request.headers.get("Idempotency-Key")
    if value is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise validation_problem([FieldError("1 to 255 visible ASCII characters",
                                             parameter="Idempotency-Key")])
    return value


def _require_admin() -> None:
    if not _key().owner.is_admin:
        raise ApiProblem(403, "Forbidden", "Only keys of administrators may use this endpoint.")


def _accepted(status: int, body: dict, replayed: bool):
    response = jsonify(body)
    response.status_code = status
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


# -- messages --------------------------------------------------------------------------


@bp.post("/messages")
@spec.validate(resp=answers(HTTP_202=s.MessagesAccepted, HTTP_409=s.Problem, HTTP_413=s.Problem),
               tags=["messages"], operation_id="sendMessages")
def send_messages(json: s.MessageCreate):
    """Send one text to one or many recipients

    Answers 202 with one id per distinct recipient and its state (`queued`, or
    `skipped` for an opted-out number of a marketing message). A refused
    recipient or character refuses the whole request (422, each named) and
    nothing is sent. With an `Idempotency-Key`, a retry gets the first answer
    and sends nothing new; the same key with another body is 422.
    """
    key = _key()
    fingerprint = services.fingerprint("POST", request.path, request.get_json())
    status, body, replayed = services.idempotent(
        key, _idempotency_key(), fingerprint,
        lambda request, commit: s.MessagesAccepted(
            **services.queue_messages(request, key, commit=commit)).model_dump(mode="json"),
        prepare=lambda: services.prepare_messages(json, key))
    if not replayed:
        kick_dispatcher()
    return _accepted(status, body, replayed)


@bp.get("/messages")
@spec.validate(resp=answers(HTTP_200=s.MessageList), tags=["messages"],
               operation_id="listMessages")
def list_messages(query: s.MessageQuery):
    """List messages, newest first

    The history's filters; pages of `limit` rows: pass `next_cursor` as `cursor`.
    """
    return s.MessageList(**services.list_messages(query))


@bp.get("/messages/<id:message_id>")
@spec.validate(resp=answers(HTTP_200=s.MessageOut, HTTP_404=s.Problem), tags=["messages"],
               operation_id="getMessage")
def get_message(message_id: int):
    """One message: its state, gateway status, credits and timeline"""
    return s.MessageOut(**services.message_out(services.message_with_events(message_id),
                                               timeline=True))


@bp.post("/messages/<id:message_id>/cancel")
@spec.validate(resp=answers(HTTP_200=s.MessageOut, HTTP_404=s.Problem, HTTP_409=s.Problem),
               tags=["messages"], operation_id="cancelMessage")
def cancel_message(message_id: int):
    """Cancel a message still waiting here

    409 once it may have left (sending, sent, delivered, …) or was held at the gateway.
    """
    return s.MessageOut(**services.cancel(message_id, _key()))


# -- campaigns -------------------------------------------------------------------------


@bp.post("/campaigns")
@spec.validate(resp=answers(HTTP_202=s.CampaignOut, HTTP_404=s.Problem, HTTP_409=s.Problem,
                            HTTP_413=s.Problem),
               tags=["campaigns"], operation_id="createCampaign")
def create_campaign(json: s.CampaignCreate):
    """Start a campaign

    To `recipients` (each with `fields` for the text's {placeholders}) or to a
    contact group (`group_id`). Marketing campaigns skip opted-out numbers and
    wait out quiet hours unless `transactional`.
    """
    key, idempotency_key = _key(), _idempotency_key()
    fingerprint = services.fingerprint("POST", request.path, request.get_json())
    status, body, replayed = services.idempotent(
        key, idempotency_key, fingerprint,
        lambda _prepared, _commit: s.CampaignOut(
            **services.create_campaign(json, key, idempotency_key)).model_dump(mode="json"),
        one_transaction=False)
    if not replayed:
        kick_dispatcher()
    return _accepted(status, body, replayed)


@bp.get("/campaigns/<id:campaign_id>")
@spec.validate(resp=answers(HTTP_200=s.CampaignOut, HTTP_404=s.Problem), tags=["campaigns"],
               operation_id="getCampaign")
def get_campaign(campaign_id: int):
    """A campaign and its progress counts by state"""
    return s.CampaignOut(**services.campaign_out(services.get_campaign(campaign_id)))


def _campaign_action(campaign_id: int, action: str):
    body = services.campaign_action(campaign_id, action, _key())
    kick_dispatcher()
    return s.CampaignOut(**body)


@bp.post("/campaigns/<id:campaign_id>/pause")
@spec.validate(resp=answers(HTTP_200=s.CampaignOut, HTTP_404=s.Problem, HTTP_409=s.Problem),
               tags=["campaigns"], operation_id="pauseCampaign")
def pause_campaign(campaign_id: int):
    """Pause: its queued messages wait (nothing already sent is touched)"""
    return _campaign_action(campaign_id, "pause")


@bp.post("/campaigns/<id:campaign_id>/resume")
@spec.validate(resp=answers(HTTP_200=s.CampaignOut, HTTP_404=s.Problem, HTTP_409=s.Problem),
               tags=["campaigns"], operation_id="resumeCampaign")
def resume_campaign(campaign_id: int):
    """Resume a paused campaign"""
    return _campaign_action(campaign_id, "resume")


@bp.post("/campaigns/<id:campaign_id>/cancel")
@spec.validate(resp=answers(HTTP_200=s.CampaignOut, HTTP_404=s.Problem, HTTP_409=s.Problem),
               tags=["campaigns"], operation_id="cancelCampaign")
def cancel_campaign(campaign_id: int):
    """Cancel every message not yet handed to the gateway"""
    return _campaign_action(campaign_id, "cancel")


# -- balance and text ------------------------------------------------------------------


@bp.get("/balance")
@spec.validate(resp=answers(HTTP_200=s.BalanceOut), tags=["account"], operation_id="getBalance")
def balance():
    """The latest balance reading and the alerts that pause sending"""
    return s.BalanceOut(**services.balance())


@bp.post("/text/analyze")
@spec.validate(resp=answers(HTTP_200=s.AnalyzeOut), tags=["messages"],
               operation_id="analyzeText")
def analyze_text(json: s.AnalyzeIn):
    """Parts, cost, refused characters and the proposed transliteration of a text"""
    return s.AnalyzeOut(**services.analyze_text(json))


# -- webhook deliveries (administrators) -------------------------------------------------


@bp.get("/webhooks/deliveries")
@spec.validate(resp=answers(HTTP_200=s.DeliveryList, HTTP_403=s.Problem), tags=["webhooks"],
               operation_id="listDeliveries")
def list_deliveries(query: s.DeliveryQuery):
    """Webhook deliveries and their attempts, newest first (administrators' keys only)"""
    from . import webhooks

    _require_admin()
    rows, next_cursor = webhooks.delivery_page(query.state, query.cursor, query.limit)
    return s.DeliveryList(deliveries=[webhooks.delivery_out(d) for d in rows],
                          next_cursor=next_cursor)


@bp.post("/webhooks/deliveries/<id:delivery_id>/resend")
@spec.validate(resp=answers(HTTP_200=s.DeliveryOut, HTTP_403=s.Problem, HTTP_404=s.Problem),
               tags=["webhooks"], operation_id="resendDelivery")
def resend_delivery(delivery_id: int):
    """Deliver an event again, now (administrators' keys only)"""
    from . import webhooks

    _require_admin()
    delivery = webhooks.resend(delivery_id, _key().owner)
    if delivery is None:
        raise ApiProblem(404, "Not Found", f"There is no delivery {delivery_id}.")
    return s.DeliveryOut(**webhooks.delivery_out(delivery))


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 document of this API (no key needed)."""
    from .openapi import document

    return jsonify(document())
