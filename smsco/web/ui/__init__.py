"""How things look on pages: languages, formatting, words for codes, the header, exports,
charts and the forms' base.

``i18n`` chooses the language (Flask-Babel) and keeps the catalogs; ``formatting``
turns stored values (UTC times, tetri, numbers) into what operators read and reads the
times they type; ``labels`` gives codes (states, gateway statuses and errors) their
words; ``header`` gives every page the balance and alerts; ``exports`` writes CSV and
XLSX that Excel opens right and keeps cells safe; ``confirm`` makes destructive actions
ask first; ``charts`` draws server-side SVG; ``causes`` words why a message failed and
what to do; ``fields`` holds shared form fields; ``forms`` is every form's base.
Nothing here changes data.
"""

from __future__ import annotations

from flask import Flask

from ..models import State
from . import formatting, labels
from .causes import message_cause
from .header import header_context
from .i18n import init_i18n

FILTERS = (formatting.localtime, formatting.clock, formatting.age, formatting.lari,
           formatting.tetri, formatting.number, formatting.percent, formatting.phone)
GLOBALS = (labels.state_label, labels.state_labels, labels.gateway_label, labels.error_text,
           labels.stored_text, labels.audit_action, labels.role_labels, formatting.zone_name,
           formatting.datetime_example, formatting.date_example, formatting.money_format,
           formatting.sent_at_text)


def init_ui(app: Flask) -> None:
    """Languages, template filters and helpers, and the header data every page shows."""
    init_i18n(app)
    for template_filter in FILTERS:
        app.add_template_filter(template_filter)
    for helper in GLOBALS:
        app.jinja_env.globals[helper.__name__] = helper
    app.jinja_env.globals["STATE_LABELS"] = State.LABELS
    app.jinja_env.globals["State"] = State
    app.jinja_env.globals["message_cause"] = message_cause
    app.context_processor(header_context)
