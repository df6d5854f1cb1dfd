"""The bulk send form: recipients (groups, file, pasted), message, name, sender, time, kind."""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from smsco import ValidationError as SmscoValidationError
from smsco import text

from ..compose.forms import SendOptionsForm
from ..contacts.importing import CHOOSE_A_FILE, EXTENSIONS
from ..params import form_id
from ..ui.fields import CheckboxListField
from ..ui.labels import validation_text
from .campaigns import PLACEHOLDER

#: The last column a spreadsheet can have (XFD, counted from 0).
LAST_COLUMN = 16_383
MARKETING, TRANSACTIONAL = "marketing", "transactional"
KINDS = [(MARKETING, _l("Marketing")), (TRANSACTIONAL, _l("Transactional"))]


class BulkForm(SendOptionsForm):
    """One campaign. ``key`` is made when the form is first shown: one submit, one campaign."""

    # Empty: named after its file or groups and the date (the route fills it in).
    name = StringField(_l("Campaign name"), validators=[Optional(), Length(max=120)])
    groups = CheckboxListField(_l("Groups"), coerce=form_id, validate_choice=False)
    recipients_file = FileField(_l("Recipients file"), validators=[
        FileAllowed(list(EXTENSIONS), CHOOSE_A_FILE)])
    file_token = HiddenField()
    file_name = HiddenField()
    phone_column = IntegerField(_l("Number column"), validators=[
        Optional(), NumberRange(0, LAST_COLUMN, _l("Choose one of the file's columns."))])
    pasted = TextAreaField(_l("Pasted numbers"), validators=[Optional()])
    kind = RadioField(_l("Kind of message"), choices=KINDS, default=MARKETING)
    # Contacts chosen on the contacts page (ContactSelection), kept from request to request.
    use_contacts = BooleanField(default=True)
    contact_ids = HiddenField()
    contact_search = HiddenField()
    contact_group = HiddenField()
    contact_everyone = HiddenField()
    key = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.key.data:
            self.key.data = secrets.token_urlsafe(24)

    @property
    def marketing(self) -> bool:
        """Marketing: opted-out numbers skipped, opt-out footer added, quiet hours kept."""
        return self.kind.data != TRANSACTIONAL

    def footer_applies(self) -> bool:
        return self.marketing

    def validate_message(self, field) -> None:
        # Placeholders are filled (and transliterated) per recipient; the rest must pass as is.
        try:
            text.check_message(PLACEHOLDER.sub("x", field.data or ""))
        except SmscoValidationError as error:
            raise ValidationError(validation_text(error)) from None
        self.check_length(field.data or "")
