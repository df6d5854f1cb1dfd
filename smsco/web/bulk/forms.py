"""The bulk send form: recipients (groups, file, pasted), message, name, sender, time, kind."""

from __future__ import annotations

import secrets

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
from ..contacts.importing import CHOOSE_A_FILE, EXTENSIONS
from .campaigns import PLACEHOLDER


class BulkForm(SendOptionsForm):
    """One campaign. ``key`` is made when the form is first shown: one submit, one campaign."""

    name = StringField("Campaign name", validators=[DataRequired("Name the campaign."),
                                                    Length(max=120)])
    groups = SelectMultipleField("Groups", coerce=int, validate_choice=False)
    recipients_file = FileField("Recipients file", validators=[
        FileAllowed(list(EXTENSIONS), CHOOSE_A_FILE)])
    file_token = HiddenField()
    file_name = HiddenField()
    phone_column = IntegerField("Number column", validators=[Optional()])
    pasted = TextAreaField("Pasted numbers", validators=[Optional()])
    marketing = BooleanField("Marketing message", default=True)
    transactional = BooleanField("Transactional (ignore quiet hours)", default=False)
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
            raise ValidationError(str(error)) from None
