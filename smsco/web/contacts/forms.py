"""Forms of the contacts pages: a contact, a group, an upload, an opt-out."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from smsco import ValidationError as SmscoValidationError
from smsco.phones import normalize

from ..params import form_id
from ..ui.fields import CheckboxListField
from .importing import CHOOSE_A_FILE, EXTENSIONS, field_name

_FIELD_LINE = re.compile(r"^\s*([^:=]+?)\s*[:=]\s*(.*?)\s*$")


def _normalized(field) -> None:
    try:
        field.normalized = normalize(field.data or "")
    except SmscoValidationError as error:
        raise ValidationError(str(error)) from None


class ContactForm(FlaskForm):
    """One contact: number, name, other fields, groups."""

    phone = StringField("Phone number", validators=[DataRequired("Enter the phone number.")])
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    other_fields = TextAreaField("Other fields", validators=[Optional()])
    groups = CheckboxListField("Groups", coerce=form_id, validate_choice=False)

    def validate_phone(self, field) -> None:
        _normalized(field)

    def validate_other_fields(self, field) -> None:
        for line in (field.data or "").splitlines():
            if line.strip() and not _FIELD_LINE.match(line):
                raise ValidationError(f"Write one field per line as name: value ({line!r}).")

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


class GroupForm(FlaskForm):
    name = StringField("Group name", validators=[DataRequired("Name the group."),
                                                 Length(max=120)])


class UploadForm(FlaskForm):
    file = FileField("File", validators=[
        FileRequired(CHOOSE_A_FILE),
        FileAllowed(list(EXTENSIONS), CHOOSE_A_FILE)])


class OptOutForm(FlaskForm):
    phone = StringField("Phone number", validators=[DataRequired("Enter the phone number.")])
    reason = StringField("Reason", validators=[Optional(), Length(max=200)])

    def validate_phone(self, field) -> None:
        _normalized(field)
