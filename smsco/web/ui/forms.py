"""The base of every form: WTForms' own messages ("This field is required.") in the page's
language, from our catalogs.

Flask-WTF would read WTForms' bundled catalogs, which have no Georgian; every form of
the app derives from :class:`Form` instead of ``FlaskForm`` (tests/test_i18n.py checks).
"""

from __future__ import annotations

from flask_babel import get_translations, gettext, ngettext
from flask_wtf import FlaskForm
from wtforms import StringField

from .formatting import datetime_input, parse_typed


class Form(FlaskForm):
    """A ``FlaskForm`` whose built-in validation messages come from our catalogs."""

    class Meta:
        def get_translations(self, form):
            return get_translations()


class LocalDateTimeField(StringField):
    """A date and 24-hour time typed as the page's language writes it (``25.11.2026 14:05``;
    ISO ``2026-11-25 14:05`` too), not the browser's AM/PM picker. ``data`` is a naive
    datetime in ``SMSCO_TIMEZONE``, or None when left empty."""

    def process_formdata(self, valuelist):
        self.data = None
        typed = (valuelist[0] if valuelist else "").strip()
        if not typed:
            return
        moment = parse_typed(typed)  # a ValueError in words becomes the field's error
        if not moment.has_time:
            raise ValueError(gettext("Add the time (24-hour), for example %(example)s.",
                                     example=datetime_input(moment.moment.replace(hour=9))))
        self.data = moment.moment.replace(second=0)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return datetime_input(self.data)


def wtforms_messages() -> list[str]:
    """WTForms' built-in messages our forms can show, written out so that
    ``make translations`` extracts them into our catalogs (never needed at run time)."""
    return [
        gettext("This field is required."),
        gettext("Invalid input."),
        gettext("Field must be equal to %(other_name)s."),
        ngettext("Field must be at least %(min)d character long.",
                 "Field must be at least %(min)d characters long.", 1),
        ngettext("Field cannot be longer than %(max)d character.",
                 "Field cannot be longer than %(max)d characters.", 1),
        ngettext("Field must be exactly %(max)d character long.",
                 "Field must be exactly %(max)d characters long.", 1),
        gettext("Field must be between %(min)d and %(max)d characters long."),
        gettext("Number must be at least %(min)s."),
        gettext("Number must be at most %(max)s."),
        gettext("Number must be between %(min)s and %(max)s."),
        gettext("Invalid email address."),
        gettext("Invalid URL."),
        gettext("Invalid value, must be one of: %(values)s."),
        gettext("Invalid value, can't be any of: %(values)s."),
        gettext("This field cannot be edited."),
        gettext("This field is disabled and cannot have a value."),
        gettext("Invalid Choice: could not coerce."),
        gettext("Not a valid choice."),
        gettext("Invalid choice(s): one or more data inputs could not be coerced."),
        ngettext("'%(value)s' is not a valid choice for this field.",
                 "'%(value)s' are not valid choices for this field.", 1),
        gettext("Not a valid datetime value."),
        gettext("Not a valid date value."),
        gettext("Not a valid time value."),
        gettext("Not a valid integer value."),
        gettext("Not a valid decimal value."),
        gettext("Not a valid float value."),
    ]
