"""The compose form: recipients, message, sender ID, send time and how to schedule."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional, ValidationError

from ..models import ScheduleMode
from ..ui.formatting import local_zone
from . import rules

SCHEDULE_CHOICES = [
    (ScheduleMode.HELD, "Hold it here until then — it can be edited or cancelled until it "
                        "goes; the dashboard must be running."),
    (ScheduleMode.GATEWAY, "Schedule it at the gateway now — it goes out even if the dashboard "
                           "is off, but it cannot be cancelled."),
]


class SendOptionsForm(FlaskForm):
    """What every sending form has: the message, sender ID, send time and how to schedule."""

    message = TextAreaField("Message", validators=[DataRequired("Write the message.")])
    sender = StringField("Sender ID", validators=[Optional()])
    send_at = DateTimeLocalField("Send at", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                 validators=[Optional()])
    schedule_mode = RadioField("How to schedule", choices=SCHEDULE_CHOICES,
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
        try:
            rules.sender_id(field.data)
        except rules.Refused as refused:
            raise ValidationError(str(refused)) from None

    def validate_send_at(self, field) -> None:
        if field.data is not None and field.data <= local_now():
            raise ValidationError("This time has already passed. Leave it empty to send now, "
                                  "or pick a time in the future.")


class ComposeForm(SendOptionsForm):
    """One message to one or many recipients, now or later."""

    recipients = TextAreaField("Recipients", validators=[DataRequired(
        "Enter at least one phone number.")])
    marketing = BooleanField("Marketing message (adds the opt-out footer)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.valid_recipients: list[str] = []

    def validate_recipients(self, field) -> None:
        try:
            self.valid_recipients = rules.recipients_from_text(field.data or "")
        except rules.Refused as refused:
            raise ValidationError(str(refused)) from None

    def validate_message(self, field) -> None:
        try:
            rules.message_text(field.data or "")
        except rules.Refused as refused:
            raise ValidationError(str(refused)) from None


def local_now() -> datetime:
    """Now in the display time zone, as a naive datetime (what the form holds)."""
    return datetime.now(local_zone()).replace(tzinfo=None, second=0, microsecond=0)
