"""Languages: which one a request speaks (ka, en, ru) and where the catalogs live.

Python code marks strings with Flask-Babel directly (``from flask_babel import
gettext as _, lazy_gettext as _l, ngettext``); templates use ``_()`` and
``ngettext()``, which Flask-Babel puts in every template. The order of choice
is DESIGN §8: the user's saved choice, a choice made before login (cookie),
the browser's ``Accept-Language``, then ``SMSCO_DEFAULT_LANGUAGE``.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_babel import Babel
from flask_login import current_user

from ..config import PROJECT_ROOT

# Each language named in its own script, for the switch.
LANGUAGES = {"ka": "ქართული", "en": "English", "ru": "Русский"}
LANGUAGE_COOKIE = "lang"
TRANSLATIONS_DIR = PROJECT_ROOT / "translations"

babel = Babel()


def select_language() -> str:
    """The language of this request (the JSON API's is English: programs read it)."""
    if request and request.path.startswith("/api/"):
        return "en"
    saved = getattr(current_user, "language", None) if current_user else None
    if saved in LANGUAGES:
        return saved
    chosen = request.cookies.get(LANGUAGE_COOKIE) if request else None
    if chosen in LANGUAGES:
        return chosen
    if request:
        best = request.accept_languages.best_match(list(LANGUAGES))
        if best:
            return best
    return current_app.config["SMSCO_DEFAULT_LANGUAGE"]


def init_i18n(app: Flask) -> None:
    """Bind Flask-Babel with our locale selector, catalogs and display zone."""
    app.config.setdefault("SMSCO_DEFAULT_LANGUAGE", "ka")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["SMSCO_TIMEZONE"]
    babel.init_app(app, locale_selector=select_language)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
