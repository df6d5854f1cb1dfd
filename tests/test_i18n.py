"""Languages (DESIGN §8): complete catalogs, no text outside gettext, the order of choice,
the switch, and dates, times and money as each language writes them."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from jinja2 import nodes

from smsco.web.extensions import db
from smsco.web.models import User

from .conftest import ADMIN_PASSWORD

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "translations"
TEMPLATES = ROOT / "templates"
TRANSLATED = ("ka", "ru")


# -- catalogs ------------------------------------------------------------------------


def extracted_messages() -> set[str | tuple[str, ...]]:
    """Every marked string in the code and templates now (as `make translations` finds
    them), so a string added without updating the catalogs fails here too."""
    from babel.messages.frontend import parse_mapping_cfg

    from smsco.web.ui.i18n import EXTRACT_CONFIG, EXTRACT_KEYWORDS

    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2),
                "N_": None}
    for keyword in EXTRACT_KEYWORDS:
        name, _, spec = keyword.partition(":")
        keywords[name] = tuple(int(p) for p in spec.split(",")) if spec else None
    with EXTRACT_CONFIG.open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        found.add((context, message))
    return found


def catalog(language: str):
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def test_marked_strings_are_found():
    messages = {message for _context, message in extracted_messages()}
    assert "Send at" in messages and "This field is required." in messages
    assert ("%(num)s character", "%(num)s characters") in messages  # the counter's plurals
    assert "Opted out of marketing messages" in messages  # a stored engine text


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_has_a_translation(language):
    """Run `make translations` and translate what this lists."""
    translations = catalog(language)
    missing = []
    for context, message in sorted(extracted_messages(), key=str):
        msgid = message[0] if isinstance(message, tuple) else message
        entry = translations.get(msgid, context=context)
        strings = entry.string if entry is not None and isinstance(entry.string, tuple) else (
            (entry.string,) if entry is not None else ())
        if entry is None or entry.fuzzy or not strings or not all(strings):
            missing.append(msgid)
    assert missing == []


def test_the_catalogs_compile_and_declare_their_plurals():
    from smsco.web.ui.i18n import compile_catalogs

    compile_catalogs()
    assert catalog("ru").num_plurals == 3  # one, few, many
    assert catalog("ka").num_plurals == 1  # a Georgian noun after a number stays singular
    for language in ("ka", "en", "ru"):
        assert (TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo").exists()


# -- templates -------------------------------------------------------------------------

# Attributes people read or hear.
HUMAN_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-confirm",
                    "data-sending-label", "label"}
# The product's name; the contact field every placeholder list offers as {name};
# a URL's scheme (placeholder="https://…").
ALLOWED_WORDS = {"smsco", "name", "https"}
GETTEXT_CALLS = {"_", "gettext", "ngettext", "pgettext", "browser_text", "plural_forms"}
_JINJA = re.compile(r"{#.*?#}|{%.*?%}|{{.*?}}", re.DOTALL)
_LETTER = re.compile(r"[^\W\d_]")
_ATTRIBUTES_ONLY = re.compile(r'^\s*(?:[\w-]+="[^"]*"\s*)+$')


class _TextFinder(HTMLParser):
    """Text nodes and human attributes with letters, outside scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "code"):  # code samples are not prose
            self._skip += 1
        self.found.extend(value for name, value in attrs
                          if name in HUMAN_ATTRIBUTES and value and _shows_words(value))

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if _ATTRIBUTES_ONLY.match(data):
            return  # a macro's attributes (confirm_attrs), printed inside a tag
        if not self._skip and _shows_words(data):
            self.found.append(data.strip())


def _shows_words(text: str) -> bool:
    words = set(re.findall(r"[^\W\d_]+", text))
    return bool(words - ALLOWED_WORDS)


def _macro_names() -> set[str]:
    found = set()
    for path in TEMPLATES.rglob("*.html"):
        found.update(re.findall(r"{%-?\s*macro\s+(\w+)", path.read_text()))
    return found


MACROS = _macro_names()


def _looks_like_words(value: str) -> bool:
    """A macro argument for people ("Delete", "At least 10 characters."), not an id ("from")."""
    return _shows_words(value) and bool(re.search(r"[A-Z]|\w\s+\w", value))


def _shown_constants(node) -> list[str]:
    """String constants an expression would print as they are (not through gettext)."""
    if isinstance(node, nodes.Const):
        return [node.value] if isinstance(node.value, str) and _shows_words(node.value) else []
    if isinstance(node, nodes.Call):
        name = node.node.name if isinstance(node.node, nodes.Name) else None
        if name not in MACROS:  # gettext, url_for, csrf_token…
            return []
        arguments = [*node.args, *(kw.value for kw in node.kwargs)]
        return [argument.value for argument in arguments  # submit("Send"), hint="…"
                if isinstance(argument, nodes.Const) and isinstance(argument.value, str)
                and _looks_like_words(argument.value)]
    if isinstance(node, nodes.CondExpr):
        return _shown_constants(node.expr1) + _shown_constants(node.expr2)
    if isinstance(node, (nodes.Or, nodes.And)):
        return _shown_constants(node.left) + _shown_constants(node.right)
    if isinstance(node, nodes.Filter):
        return _shown_constants(node.node) if node.node is not None else []
    return []


_EXPRESSION = re.compile(r"{{-?(.*?)-?}}", re.DOTALL)
_OPEN_ATTRIBUTE = re.compile(r"([\w:-]+)\s*=\s*\"[^\"]*$")


def _prints_for_people(source: str, position: int) -> bool:
    """Whether a ``{{ }}`` at ``position`` prints into text or a human attribute (not into
    ``data-final="…"`` or ``class="…"``)."""
    before = source[:position]
    if before.rfind("<") <= before.rfind(">"):
        return True  # between tags: text
    attribute = _OPEN_ATTRIBUTE.search(before[before.rfind("<"):])
    return attribute is None or attribute.group(1) in HUMAN_ATTRIBUTES


def untranslated_texts(path: Path) -> list[str]:
    """What a template shows without gettext: HTML text and attributes, printed strings."""
    from jinja2 import Environment

    source = re.sub(r"{#.*?#}", lambda comment: " " * len(comment.group()), path.read_text(),
                    flags=re.DOTALL)
    finder = _TextFinder()
    finder.feed(_JINJA.sub(" ", source))
    found = list(finder.found)
    environment = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    for match in _EXPRESSION.finditer(source):
        if not _prints_for_people(source, match.start()):
            continue
        for output in environment.parse("{{" + match.group(1) + "}}").find_all(nodes.Output):
            for child in output.nodes:
                found.extend(_shown_constants(child))
    return found


def test_the_template_checker_finds_text_outside_gettext(tmp_path):
    sample = tmp_path / "sample.html"
    sample.write_text('<p title="Hover me">Hello {{ name }}</p><button>{{ _("OK") }}</button>'
                      '{{ "Shown" if x else _("Fine") }} {{ submit("Go") }} <b>smsco</b> — 5'
                      '{{ url_for("main.index") }} {{ date_field("from", _("From")) }}'
                      '<script>var words = "not text";</script>{{ x or "never" }}')
    assert sorted(untranslated_texts(sample)) == ["Go", "Hello", "Hover me", "Shown", "never"]


@pytest.mark.parametrize("path", sorted(TEMPLATES.rglob("*.html")),
                         ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_show_no_text_outside_gettext(path):
    assert untranslated_texts(path) == []


def test_every_form_takes_its_builtin_messages_from_our_catalogs():
    from smsco.web.ui.forms import Form

    offenders = []
    for source in (ROOT / "smsco" / "web").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                    getattr(base, "id", None) == "FlaskForm" for base in node.bases):
                offenders.append(f"{source.name}:{node.name}")
    assert offenders == ["forms.py:Form"]
    assert Form.Meta.get_translations  # the one FlaskForm subclass


# -- which language --------------------------------------------------------------------


def translate(language: str, message: str) -> str:
    entry = catalog(language).get(message)
    assert entry is not None and entry.string, message
    return entry.string


def html_lang(response) -> str:
    return re.search(r'<html lang="(\w+)">', response.get_data(as_text=True)).group(1)


def test_the_default_language_is_georgian(gateway, tmp_path):
    from smsco.web import create_app

    from .conftest import database_url

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SMSCO_SCHEDULER": False,
                      "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
                      "SMSCO_BASE_URL": gateway.url})
    assert app.config["SMSCO_DEFAULT_LANGUAGE"] == "ka"
    with app.app_context():
        db.create_all()
        page = app.test_client().get("/setup")
        db.session.remove()  # on PostgreSQL an open read would block the DROP
        db.drop_all()
        db.engine.dispose()
    assert html_lang(page) == "ka"
    assert translate("ka", "Create account") in page.get_data(as_text=True)


def test_accept_language_chooses_georgian(web, users):
    page = web.get("/login", headers={"Accept-Language": "ka-GE,ka;q=0.9,en;q=0.5"})
    html = page.get_data(as_text=True)
    assert html_lang(page) == "ka"
    for english in ("Log in", "Username", "Password"):
        assert translate("ka", english) in html
    assert ">Log in<" not in html


def test_the_switch_is_on_the_login_page_naming_each_language_in_its_script(web, users):
    html = web.get("/login").get_data(as_text=True)
    for code, name in (("ka", "ქართული"), ("en", "English"), ("ru", "Русский")):
        assert f'value="{code}" lang="{code}"' in html and f">{name}</button>" in html
    assert 'action="/language"' in html and 'name="csrf_token"' in html


def test_a_choice_before_login_is_a_cookie_and_after_login_is_saved(app, web, users):
    switched = web.post("/language", data={"language": "ru", "next": "/login?next=/history"})
    assert switched.status_code == 302 and switched.headers["Location"] == "/login?next=/history"
    assert "lang=ru" in switched.headers["Set-Cookie"]
    login = web.get("/login", headers={"Accept-Language": "ka"})
    assert html_lang(login) == "ru"  # the cookie wins over the browser
    assert translate("ru", "Log in") in login.get_data(as_text=True)
    web.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD})
    web.post("/language", data={"language": "en", "next": "/history"})
    with app.app_context():
        assert db.session.get(User, users["admin"]).language == "en"
    other = app.test_client()  # another browser, no cookie, Georgian by its settings
    other.post("/login", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert html_lang(other.get("/", headers={"Accept-Language": "ka"})) == "en"


def test_the_switch_ignores_unknown_languages_and_foreign_targets(web, users):
    response = web.post("/language", data={"language": "xx", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    assert "Set-Cookie" not in response.headers


def test_wtforms_own_messages_are_translated(logged_in):
    logged_in.post("/language", data={"language": "ru", "next": "/"})
    html = logged_in.post("/contacts/groups", data={"name": "x" * 121}).get_data(as_text=True)
    entry = catalog("ru").get("Field cannot be longer than %(max)d character.")
    assert entry.string[2] % {"max": 120} in html  # 120: the "many" form


def test_flashes_and_errors_speak_the_language(logged_in):
    logged_in.post("/language", data={"language": "ka", "next": "/"})
    html = logged_in.post("/messages/999/cancel", follow_redirects=True).get_data(as_text=True)
    assert translate("ka", "Page not found") in html


# -- dates, times, money ------------------------------------------------------------------

MOMENT = datetime(2026, 11, 25, 10, 5)  # naive UTC: 14:05 in Tbilisi


@pytest.mark.parametrize(("language", "moment", "money", "small", "number"), [
    ("ka", "25.11.2026 14:05", "1\u00a0234,50\u00a0₾", "0,45\u00a0₾", "12\u00a0345"),
    ("ru", "25.11.2026 14:05", "1\u00a0234,50\u00a0₾", "0,45\u00a0₾", "12\u00a0345"),
    ("en", "25 Nov 2026, 14:05", "₾1,234.50", "₾0.45", "12,345"),
])
def test_each_language_writes_times_and_money_its_way(app, language, moment, money, small,
                                                      number):
    from flask_babel import force_locale

    from smsco.web.ui import formatting

    with app.test_request_context(), force_locale(language):
        assert formatting.localtime(MOMENT) == moment
        assert formatting.lari(Decimal("1234.5")) == money
        assert formatting.tetri(45) == small
        assert formatting.number(12345) == number
        assert formatting.lari(Decimal("-2")).startswith("-")
        assert formatting.clock(MOMENT) == "14:05"
        assert formatting.parse_typed(formatting.datetime_input(
            datetime(2026, 11, 25, 14, 5))).moment == datetime(2026, 11, 25, 14, 5)


@pytest.mark.parametrize(("typed", "expected", "has_time"), [
    ("25.11.2026 14:05", datetime(2026, 11, 25, 14, 5), True),
    ("2026-11-25T14:05", datetime(2026, 11, 25, 14, 5), True),
    ("2026-11-25 14:05:30", datetime(2026, 11, 25, 14, 5, 30), True),
    ("25 Nov 2026, 14:05", datetime(2026, 11, 25, 14, 5), True),
    ("25 november 2026", datetime(2026, 11, 25), False),
    ("5/1/2027", datetime(2027, 1, 5), False),
    (" 25.11.2026 ", datetime(2026, 11, 25), False),
])
def test_typed_times_are_24_hour_day_first_or_iso(app, typed, expected, has_time):
    from smsco.web.ui.formatting import parse_typed

    with app.test_request_context():
        read = parse_typed(typed)
    assert (read.moment, read.has_time) == (expected, has_time)


@pytest.mark.parametrize("typed", ["2:05 PM", "31.02.2026 10:00", "25.11.2026 25:00",
                                   "25 Brumaire 2026", "tomorrow", "11/25/2026"])
def test_typed_times_that_cannot_be_read_say_so(app, typed):
    from smsco.web.ui.formatting import parse_typed

    with app.test_request_context(), pytest.raises(ValueError, match=r"\w"):
        parse_typed(typed)


def test_send_at_takes_the_languages_format_and_says_what_it_wants(app, logged_in):
    logged_in.post("/language", data={"language": "ru", "next": "/"})
    page = logged_in.get("/compose").get_data(as_text=True)
    assert 'placeholder="25.11.2026 14:05"' in page and 'type="datetime-local"' not in page
    reply = logged_in.post("/compose", data={"recipients": "599445448", "message": "Hi",
                                             "send_at": "2:05 PM"})
    html = reply.get_data(as_text=True)
    assert 'id="send_at-error"' in html and "2:05 PM" in html  # kept, with the reason
    day = (datetime.now(UTC) + timedelta(days=2)).date()  # within SMSCO_MAX_SCHEDULE_DAYS
    reply = logged_in.post("/compose", data={"recipients": "599445448", "message": "Hi",
                                             "send_at": f"{day:%d.%m.%Y} 14:05"})
    assert reply.status_code == 302
    from smsco.web.models import Message

    with app.app_context():
        message = db.session.scalar(db.select(Message))
        assert message.send_at == datetime(day.year, day.month, day.day, 10, 5)  # 14:05 Tbilisi


def test_history_dates_take_the_languages_format_with_optional_time(app, logged_in, users):
    from smsco.web.models import Message

    with app.app_context():
        for hour in (9, 11):  # 13:00 and 15:00 in Tbilisi
            db.session.add(Message(recipient="995599445448", body=f"at {hour}",
                                   created_at=datetime(2030, 3, 1, hour)))
        db.session.commit()
    page = logged_in.get("/history?from=01.03.2030 14:00&to=1 Mar 2030").get_data(as_text=True)
    assert "at 11" in page and "at 9" not in page
    assert 'value="1 Mar 2030, 14:00"' in page and 'value="1 Mar 2030"' in page
    page = logged_in.get("/history?to=01.03.2030 13:00").get_data(as_text=True)
    assert "at 9" in page and "at 11" not in page  # "to" includes its whole minute
    page = logged_in.get("/history?from=13/13/2030").get_data(as_text=True)
    assert 'id="from-error"' in page and 'value="13/13/2030"' in page


# -- texts stored in English ---------------------------------------------------------


def test_the_engines_stored_texts_are_shown_in_the_readers_language(app):
    """What the dispatcher writes (timeline, error_text) comes out Russian, by its shape."""
    from flask_babel import force_locale

    from smsco import AmbiguousSend, CreditExhausted, DeliveryStatus, GatewayUnavailable
    from smsco.client import SendResult
    from smsco.errors import error_for_code
    from smsco.web.sending.dispatch import Claimed, outcome_for
    from smsco.web.ui.labels import gateway_label, stored_text

    first, last = (Claimed(1, "995599445448", "Hi", None, None, attempts=n) for n in (0, 99))
    with app.test_request_context(), force_locale("ru"):
        outcomes = [outcome_for(first, result, MOMENT) for result in (
            SendResult(5, "77"), GatewayUnavailable("x", code=2907), CreditExhausted("x"),
            error_for_code(2904), error_for_code(2905))]
        outcomes.append(outcome_for(last, GatewayUnavailable("x", code=2907), MOMENT))
        stored = [o.detail for o in outcomes] + [o.values["error_text"] for o in outcomes
                                                 if o.values.get("error_text")]
        ambiguous = outcome_for(first, AmbiguousSend("No answer."), MOMENT).detail
        shown = {text: stored_text(text) for text in stored}
        library_text_kept = stored_text(ambiguous)
        assert gateway_label(DeliveryStatus.DELIVERED) == translate("ru", "Delivered")
    assert {text: shown_ for text, shown_ in shown.items()
            if re.search(r"[a-z]{3,}", shown_)} == {}  # no English word left
    assert library_text_kept.startswith("No answer.") and "re-sent" not in library_text_kept
