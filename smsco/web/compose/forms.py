"""The compose form: recipients, message, sender ID, send time and how to schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional, ValidationError

from ..admin.settings import optout_footer
from ..models import ScheduleMode
from ..text_analysis.analysis import length_problem
from ..ui.formatting import local_zone
from ..ui.forms import Form, LocalDateTimeField
from . import rules

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
        try:
            rules.sender_id(field.data)
        except rules.Refused as refused:
            raise ValidationError(str(refused)) from None

    def validate_send_at(self, field) -> None:
        if field.data is None:
            return
        now = local_now()
        if field.data <= now:
            raise ValidationError(_("This time has already passed. Leave it empty to send now, "
                                    "or pick a time in the future."))
        days = int(current_app.config["SMSCO_MAX_SCHEDULE_DAYS"])
        if field.data - now > timedelta(days=days):  # a difference: no overflow near 9999
            raise ValidationError(ngettext(
                "Pick a time at most %(num)d day ahead (until %(until)s).",
                "Pick a time at most %(num)d days ahead (until %(until)s).", days,
                until=(now + timedelta(days=days)).strftime("%Y-%m-%d %H:%M")))

    def footer_applies(self) -> bool:
        """Whether the opt-out footer is added (the form's marketing box is ticked)."""
        marketing = getattr(self, "marketing", None)
        return marketing is not None and bool(marketing.data)

    def check_length(self, body: str) -> None:
        """Refuse a text longer than ``SMSCO_MAX_PARTS`` parts, footer included if added."""
        footer = optout_footer() if self.footer_applies() else ""
        problem = length_problem(body, footer)
        if problem:
            raise ValidationError(problem)


class ComposeForm(SendOptionsForm):
    """One message to one or many recipients, now or later."""

    recipients = TextAreaField(_l("Recipients"), validators=[DataRequired(
        _l("Enter at least one phone number."))])
    marketing = BooleanField(_l("Marketing message (adds the opt-out footer)"))

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
        self.check_length(field.data or "")


def local_now() -> datetime:
    """Now in the display time zone, as a naive datetime (what the form holds)."""
    return datetime.now(local_zone()).replace(tzinfo=None, second=0, microsecond=0)
