"""Forms of the contacts pages: a contact, a group, an upload, an opt-out."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from smsco import ValidationError as SmscoValidationError
from smsco.phones import normalize

from ..ui.forms import Form
from ..ui.labels import validation_text
from .importing import EXTENSIONS, field_name

_FIELD_LINE = re.compile(r"^\s*([^:=]+?)\s*[:=]\s*(.*?)\s*$")


def _normalized(field) -> None:
    try:
        field.normalized = normalize(field.data or "")
    except SmscoValidationError as error:
        raise ValidationError(validation_text(error)) from None


class ContactForm(Form):
    """One contact: number, name, other fields, groups."""

    phone = StringField(_l("Phone number"),
                        validators=[DataRequired(_l("Enter the phone number."))])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    other_fields = TextAreaField(_l("Other fields"), validators=[Optional()])
    groups = SelectMultipleField(_l("Groups"), coerce=int, validate_choice=False)

    def validate_phone(self, field) -> None:
        _normalized(field)

    def validate_other_fields(self, field) -> None:
        for line in (field.data or "").splitlines():
            if line.strip() and not _FIELD_LINE.match(line):
                raise ValidationError(_("Write one field per line as name: value (%(line)s).",
                                        line=line.strip()))

    def field_values(self) -> dict[str, str]:
        """The name and the other fields as one dict (names as placeholders use them)."""
        values: dict[str, str] = {}
        for line in (self.other_fields.data or "").splitlines():
            match = _FIELD_LINE.match(line)
            if match and match.group(2):
                values[field_name(match.group(1), 0)] = match.group(2)
        if (self.name.data or "").strip():
            values["name"] = self.name.data.strip()
        return values


class GroupForm(Form):
    name = StringField(_l("Group name"), validators=[DataRequired(_l("Name the group.")),
                                                     Length(max=120)])


class UploadForm(Form):
    file = FileField(_l("File"), validators=[
        FileRequired(_l("Choose a CSV or XLSX file.")),
        FileAllowed(list(EXTENSIONS), _l("Choose a CSV or XLSX file."))])


class OptOutForm(Form):
    phone = StringField(_l("Phone number"),
                        validators=[DataRequired(_l("Enter the phone number."))])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])

    def validate_phone(self, field) -> None:
        _normalized(field)
