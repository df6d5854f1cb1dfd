"""The bulk send form: recipients (groups, file, pasted), message, name, sender, time, kind."""

from __future__ import annotations

import secrets

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from smsco import ValidationError as SmscoValidationError
from smsco import text
from smsco.client import check_sender

from ..campaigns import PLACEHOLDER
from ..compose.forms import SCHEDULE_CHOICES, local_now
from ..importing import EXTENSIONS
from ..models import ScheduleMode


class BulkForm(FlaskForm):
    """One campaign. ``key`` is made when the form is first shown: one submit, one campaign."""

    name = StringField("Campaign name", validators=[DataRequired("Name the campaign."),
                                                    Length(max=120)])
    groups = SelectMultipleField("Groups", coerce=int, validate_choice=False)
    recipients_file = FileField("Recipients file", validators=[
        FileAllowed(list(EXTENSIONS), "Choose a CSV or XLSX file.")])
    file_token = HiddenField()
    file_name = HiddenField()
    phone_column = IntegerField("Number column", validators=[Optional()])
    pasted = TextAreaField("Pasted numbers", validators=[Optional()])
    message = TextAreaField("Message", validators=[DataRequired("Write the message.")])
    sender = StringField("Sender ID", validators=[Optional()])
    send_at = DateTimeLocalField("Send at", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                 validators=[Optional()])
    schedule_mode = RadioField("How to schedule", choices=SCHEDULE_CHOICES,
                               default=ScheduleMode.HELD)
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

    def validate_sender(self, field) -> None:
        from flask import current_app

        senders = current_app.config["SMSCO_SENDERS"]
        if senders and (field.data or "").strip() not in senders:
            raise ValidationError("Choose one of the agreed sender IDs: " + ", ".join(senders))
        try:
            check_sender((field.data or "").strip() or None)
        except SmscoValidationError as error:
            raise ValidationError(str(error)) from None

    def validate_send_at(self, field) -> None:
        if field.data is not None and field.data <= local_now():
            raise ValidationError("This time has already passed. Leave it empty to send now, "
                                  "or pick a time in the future.")
