"""How things look on pages: formatting, the header, exports and charts.

``formatting`` turns stored values (UTC times, tetri, numbers, gateway codes)
into what operators read; ``header`` gives every page the balance and alerts;
``exports`` writes CSV and XLSX that Excel opens right and keeps cells safe;
``confirm`` makes destructive actions ask first; ``charts`` draws server-side SVG;
``i18n`` chooses the language (Flask-Babel); ``causes`` words why a message
failed and what to do; ``fields`` holds shared form fields.
Nothing here changes data.
"""

from __future__ import annotations

from flask import Flask

from ..models import State
from .causes import message_cause
from .formatting import age, lari, localtime, number, percent, phone, tetri
from .header import header_context
from .i18n import init_i18n


def init_ui(app: Flask) -> None:
    """Languages, template filters and the header data every page shows."""
    init_i18n(app)
    for template_filter in (localtime, age, lari, tetri, phone, number, percent):
        app.add_template_filter(template_filter)
    app.jinja_env.globals["STATE_LABELS"] = State.LABELS
    app.jinja_env.globals["State"] = State
    app.jinja_env.globals["message_cause"] = message_cause
    app.context_processor(header_context)
