"""The bulk send form: recipients (groups, file, pasted), message, name, sender, time, kind."""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from smsco import ValidationError as SmscoValidationError
from smsco import text

from ..compose.forms import SendOptionsForm
from ..contacts.importing import EXTENSIONS
from ..ui.labels import validation_text
from .campaigns import PLACEHOLDER


class BulkForm(SendOptionsForm):
    """One campaign. ``key`` is made when the form is first shown: one submit, one campaign."""

    name = StringField(_l("Campaign name"), validators=[DataRequired(_l("Name the campaign.")),
                                                        Length(max=120)])
    groups = SelectMultipleField(_l("Groups"), coerce=int, validate_choice=False)
    recipients_file = FileField(_l("Recipients file"), validators=[
        FileAllowed(list(EXTENSIONS), _l("Choose a CSV or XLSX file."))])
    file_token = HiddenField()
    file_name = HiddenField()
    phone_column = IntegerField(_l("Number column"), validators=[Optional()])
    pasted = TextAreaField(_l("Pasted numbers"), validators=[Optional()])
    marketing = BooleanField(_l("Marketing message"), default=True)
    transactional = BooleanField(_l("Transactional (ignore quiet hours)"), default=False)
    key = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.key.data:
            self.key.data = secrets.token_urlsafe(24)

    def validate_message(self, field) -> None:
        # Placeholders are filled (and transliterated) per recipient; the rest must pass as is.
        try:
            text.check_message(PLACEHOLDER.sub("x", field.data or ""))
        except SmscoValidationError as error:
            raise ValidationError(validation_text(error)) from None
