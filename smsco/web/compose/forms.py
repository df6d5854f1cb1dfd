"""The compose form: recipients, message, sender ID, send time and how to schedule."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional, ValidationError

from smsco import ValidationError as SmscoValidationError
from smsco import phones, text
from smsco.client import check_sender

from ..models import ScheduleMode
from ..text_analysis.analysis import PLACEHOLDER
from ..ui.formatting import local_zone
from ..ui.forms import Form, LocalDateTimeField
from ..ui.labels import validation_text

SCHEDULE_CHOICES = [
    (ScheduleMode.HELD, _l("Hold it here until then — it can be edited or cancelled until it "
                           "goes; the dashboard must be running.")),
    (ScheduleMode.GATEWAY, _l("Schedule it at the gateway now — it goes out even if the "
                              "dashboard is off, but it cannot be cancelled.")),
]


class SendOptionsForm(Form):
    """What every sending form has: the message, sender ID, send time and how to schedule."""

    message = TextAreaField(_l("Message"), validators=[DataRequired(_l("Write the message."))])
    sender = StringField(_l("Sender ID"), validators=[Optional()])
    send_at = LocalDateTimeField(_l("Send at"), validators=[Optional()])
    schedule_mode = RadioField(_l("How to schedule"), choices=SCHEDULE_CHOICES,
                               default=ScheduleMode.HELD)

    def schedule(self) -> tuple[str, datetime | None]:
        """How to schedule and when, the time as the naive UTC the database stores."""
        if self.send_at.data is None:
            return ScheduleMode.NOW, None
        local = self.send_at.data.replace(tzinfo=local_zone())
        return (self.schedule_mode.data or ScheduleMode.HELD,
                local.astimezone(UTC).replace(tzinfo=None))

    @property
    def sender_id(self) -> str | None:
        """The sender ID entered, or None for the gateway's default."""
        return (self.sender.data or "").strip() or None

    def validate_sender(self, field) -> None:
        senders = current_app.config["SMSCO_SENDERS"]
        if senders and (field.data or "").strip() not in senders:
            raise ValidationError(_("Choose one of the agreed sender IDs: %(senders)s",
                                    senders=", ".join(senders)))
        try:
            check_sender((field.data or "").strip() or None)
        except SmscoValidationError as error:
            raise ValidationError(validation_text(error)) from None

    def validate_send_at(self, field) -> None:
        if field.data is not None and field.data <= local_now():
            raise ValidationError(_("This time has already passed. Leave it empty to send now, "
                                    "or pick a time in the future."))


class ComposeForm(SendOptionsForm):
    """One message to one or many recipients, now or later."""

    recipients = TextAreaField(_l("Recipients"), validators=[DataRequired(
        _l("Enter at least one phone number."))])
    marketing = BooleanField(_l("Marketing message (adds the opt-out footer)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.valid_recipients: list[str] = []

    def validate_recipients(self, field) -> None:
        parsed = phones.parse_recipients(field.data or "")
        if parsed.invalid:
            raise ValidationError(_("Not valid phone numbers: %(numbers)s. Write Georgian "
                                    "numbers as 599 12 34 56 or with +995.",
                                    numbers=", ".join(parsed.invalid)))
        if not parsed.valid:
            raise ValidationError(_("Enter at least one phone number."))
        self.valid_recipients = parsed.valid

    def validate_message(self, field) -> None:
        try:
            text.check_message(field.data or "")
        except SmscoValidationError as error:
            if PLACEHOLDER.search(field.data or ""):
                raise ValidationError(_(
                    "Placeholders like {name} only work on the bulk page; here, write the "
                    "text in full. %(problem)s", problem=validation_text(error))) from None
            raise ValidationError(validation_text(error)) from None


def local_now() -> datetime:
    """Now in the display time zone, as a naive datetime (what the form holds)."""
    return datetime.now(local_zone()).replace(tzinfo=None, second=0, microsecond=0)
