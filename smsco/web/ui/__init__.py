"""How things look on pages: languages, formatting, words for codes, the header, exports,
charts and the forms' base.

``i18n`` chooses the language (Flask-Babel) and keeps the catalogs; ``formatting``
turns stored values (UTC times, tetri, numbers) into what operators read and reads the
times they type; ``labels`` gives codes (states, gateway statuses and errors) their
words; ``header`` gives every page the balance and alerts; ``exports`` keeps
spreadsheet cells safe; ``charts`` draws server-side SVG; ``forms`` is every form's base.
Nothing here changes data.
"""

from __future__ import annotations

from flask import Flask

from . import formatting, labels
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
    app.context_processor(header_context)
