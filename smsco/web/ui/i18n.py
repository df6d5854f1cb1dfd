"""Languages: which one a request speaks (ka, en, ru), where the catalogs live, and how they
are compiled and updated.

Python code marks strings with Flask-Babel directly (``from flask_babel import
gettext as _, lazy_gettext as _l, ngettext``); templates use ``_()`` and
``ngettext()``, which Flask-Babel puts in every template. The order of choice
is DESIGN §8: the user's saved choice, a choice made before login (cookie),
the browser's ``Accept-Language``, then ``SMSCO_DEFAULT_LANGUAGE``.

Catalogs: ``translations/<lang>/LC_MESSAGES/messages.po`` are kept in the
repository; the ``.mo`` files are compiled from them by :func:`compile_catalogs`
(``make run``, ``make test``, ``flask prepare``). :func:`update_catalogs`
(``make translations``) extracts every marked string and merges it into the
``.po`` files, where new entries wait, untranslated, for a translator.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import TypeVar

from babel import Locale
from babel.support import NullTranslations
from flask import Flask, current_app, g, request
from flask_babel import Babel, get_locale, get_translations
from flask_login import current_user
from markupsafe import Markup

from ..config import PROJECT_ROOT

# Each language named in its own script, for the switch.
LANGUAGES = {"ka": "ქართული", "en": "English", "ru": "Русский"}
LANGUAGE_COOKIE = "lang"
LANGUAGE_COOKIE_AGE = 400 * 24 * 3600  # the longest a browser keeps a cookie
TRANSLATIONS_DIR = PROJECT_ROOT / "translations"
DOMAIN = "messages"
# What `make translations` extracts (babel.cfg): Python of the web app and every template.
EXTRACT_CONFIG = PROJECT_ROOT / "babel.cfg"
# _l is lazy_gettext, browser_text and plural_forms are texts for the browser; _, gettext,
# ngettext, pgettext and N_ are Babel's defaults.
EXTRACT_KEYWORDS = ("_l", "browser_text", "plural_forms:1,2")

babel = Babel()
# One Locale each: Flask-Babel takes a Locale as it is, instead of parsing a code per request.
_LOCALES = {code: Locale.parse(code) for code in LANGUAGES}

T = TypeVar("T")


def select_language() -> Locale:
    """The language of this request (Flask-Babel's locale selector)."""
    language = _chosen_language()
    return _LOCALES.get(language) or Locale.parse(language)


def _chosen_language() -> str:
    # The JSON API's language is English: programs read it.
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


def current_language() -> str:
    """The language code of this request ("ka", "en" or "ru").

    Reads the locale Flask-Babel keeps for the request (``g._flask_babel``) directly:
    pages ask for it once per table cell, and ``get_locale()`` costs several context
    lookups each time.
    """
    try:
        locale = g._flask_babel.babel_locale
    except (AttributeError, RuntimeError):  # not chosen yet, or no request
        locale = get_locale()
    return locale.language if locale is not None else "en"


def per_language(build: Callable[[], T]) -> Callable[[], T]:
    """``build()`` once per language, then from memory: for tables of translated words that
    pages look up row by row (state names, gateway statuses), so a page of 50 rows does
    not translate the same word 50 times."""
    built: dict[str, T] = {}

    @wraps(build)
    def for_current_language() -> T:
        language = current_language()
        if language not in built:
            built[language] = build()
        return built[language]

    return for_current_language


# Each language's catalog, loaded once (Flask-Babel's cache is keyed by str(locale) and
# looked up through three context lookups a string; a page translates ~50 strings).
_loaded: dict[str, NullTranslations] = {}


def translations() -> NullTranslations:
    """The catalog of this request's language."""
    language = current_language()
    catalog = _loaded.get(language)
    if catalog is None:
        catalog = _loaded[language] = get_translations()
    return catalog


def _format(text: str, variables: dict[str, object]) -> Markup:
    """Jinja's newstyle gettext result: the text is markup, the variables are escaped."""
    markup = Markup(text)  # noqa: S704 - our catalogs' texts; the variables are escaped
    return markup % variables if variables or "%" in text else markup


# Templates' texts without variables, as markup, per language: most of a page's strings.
_plain: dict[str, dict[str, Markup]] = {}


def gettext_for(language: str, catalog: NullTranslations):
    """Templates' ``_()`` in one language: a text without variables is looked up once."""
    plain = _plain.setdefault(language, {})

    def template_gettext(string: str, **variables: object) -> Markup:
        if variables:
            return _format(catalog.ugettext(string), variables)
        text = plain.get(string)
        if text is None:
            text = plain[string] = _format(catalog.ugettext(string), {})
        return text

    return template_gettext


def template_gettext(string: str, **variables: object) -> Markup:
    """Templates' ``_()`` and ``gettext()`` (where no page context gives a faster one)."""
    return gettext_for(current_language(), translations())(string, **variables)


def page_gettext() -> dict[str, object]:
    """Context processor: each page's ``_()`` bound to its language once, not per string."""
    bound = gettext_for(current_language(), translations())
    return {"_": bound, "gettext": bound}


def template_ngettext(singular: str, plural: str, num: int, **variables: object) -> Markup:
    """Templates' ``ngettext()``; ``%(num)s`` is the number."""
    variables.setdefault("num", num)
    return _format(translations().ungettext(singular, plural, num), variables)


def template_pgettext(context: str, string: str, **variables: object) -> Markup:
    """Templates' ``pgettext()``."""
    return _format(translations().upgettext(context, string), variables)


def _install_fast_gettext(app: Flask) -> None:
    """Templates' gettext functions through :func:`translations`, with the semantics of
    Jinja's newstyle gettext (escaped variables, ``%%`` for a percent sign) but as plain
    functions: Jinja's wrappers cost several microseconds per string."""
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext,
                                 ngettext=template_ngettext, pgettext=template_pgettext)
    app.context_processor(page_gettext)


@cache
def _plural_samples(language: str) -> dict[str, int]:
    """A whole number for each CLDR plural category of ``language`` ("one": 1, "few": 2…)."""
    rule = Locale.parse(language).plural_form
    samples: dict[str, int] = {}
    for number in (1, 2, 5, 0, 11, 21, 22, 25, 101, 111):
        samples.setdefault(rule(number), number)
    return samples


def browser_text(message: str) -> str:
    """A message for the browser, its ``%(name)s`` placeholders left for the script to fill
    (Jinja's ``_()`` would fill them)."""
    return translations().ugettext(message)


def plural_forms(singular: str, plural: str) -> dict[str, str]:
    """A plural message for the browser: its text for each CLDR plural category of this
    language, placeholders unfilled; the script picks one with ``Intl.PluralRules``."""
    catalog = translations()
    forms = {category: catalog.ungettext(singular, plural, number)
             for category, number in _plural_samples(current_language()).items()}
    forms.setdefault("other", catalog.ungettext(singular, plural, 5))
    return forms


def init_i18n(app: Flask) -> None:
    """Bind Flask-Babel with our locale selector, catalogs and display zone."""
    app.config.setdefault("SMSCO_DEFAULT_LANGUAGE", "ka")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["SMSCO_TIMEZONE"]
    babel.init_app(app, locale_selector=select_language)
    _install_fast_gettext(app)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["browser_text"] = browser_text
    app.jinja_env.globals["plural_forms"] = plural_forms


# -- catalogs ----------------------------------------------------------------------


def _catalogs(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def compile_catalogs(directory: Path = TRANSLATIONS_DIR) -> list[str]:
    """Compile each ``.po`` whose ``.mo`` is missing or older; the languages compiled.

    Fuzzy entries are left out (they show in English), as ``pybabel compile`` does.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    compiled = []
    for po_path in _catalogs(directory):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parts[-3])
        partial = mo_path.with_suffix(".mo.tmp")
        with partial.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        partial.replace(mo_path)  # a running server never reads half a file
        compiled.append(po_path.parts[-3])
    return compiled


def update_catalogs(directory: Path = TRANSLATIONS_DIR) -> Path:
    """Extract every marked string into ``messages.pot`` and merge it into each language's
    ``.po`` (new strings arrive untranslated; strings no longer used are dropped)."""
    from babel.messages.frontend import CommandLineInterface

    template = directory / f"{DOMAIN}.pot"
    keywords = [arg for keyword in EXTRACT_KEYWORDS for arg in ("-k", keyword)]
    run = CommandLineInterface().run
    run(["pybabel", "-q", "extract", "-F", str(EXTRACT_CONFIG), *keywords, "--no-location",
         "--sort-output", "--project", "smsco dashboard", "-o", str(template),
         str(PROJECT_ROOT)])
    for language in LANGUAGES:
        po_path = directory / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        command = "update" if po_path.exists() else "init"
        run(["pybabel", "-q", command, "-i", str(template), "-d", str(directory),
             "-D", DOMAIN, "-l", language,
             *(["--ignore-obsolete", "--no-fuzzy-matching"] if command == "update" else [])])
    return template
