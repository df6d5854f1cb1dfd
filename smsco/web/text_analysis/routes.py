"""``POST /text/analyze``: the live counter's numbers, computed by the server's own rules."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask_babel import gettext as _

from smsco import phones
from smsco.errors import ValidationError

from .analysis import analyze

bp = Blueprint("text", __name__, url_prefix="/text")

#: Longest text analyzed: far beyond any SMS, it only bounds the work per request.
MAX_TEXT = 20_000


@bp.post("/analyze")
def analyze_text():
    """JSON in: ``text``, optional ``style``, ``footer``, ``placeholders``, ``recipients``.

    CSRF-protected like every POST: the page sends its token in ``X-CSRFToken``.
    ``recipients`` (the Recipients field's text) is counted as the form counts it.
    """
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("text", ""), str):
        abort(400, description=_("Send a JSON object with the text."))
    body = data.get("text", "")
    if len(body) > MAX_TEXT:
        abort(413, description=_("Texts over %(num)d characters are not analyzed.",
                                 num=MAX_TEXT))
    try:
        result = analyze(body, style=str(data.get("style") or "national"),
                         footer=bool(data.get("footer")),
                         placeholders=bool(data.get("placeholders")))
    except ValidationError as error:
        abort(400, description=str(error))
    recipients = data.get("recipients")
    if isinstance(recipients, str):
        result["recipients"] = len(phones.parse_recipients(recipients[:200_000]).valid)
    return jsonify(result)
