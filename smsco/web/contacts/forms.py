"""Forms of the contacts pages: a contact, a group, an upload, an opt-out."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import FieldList, FormField, StringField
from wtforms import Form as RowForm
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from smsco import ValidationError as SmscoValidationError
from smsco.phones import normalize

from ..params import form_id
from ..ui.fields import CheckboxListField
from ..ui.forms import Form
from ..ui.labels import validation_text
from .importing import CHOOSE_A_FILE, EXTENSIONS, field_name

#: Empty name/value rows a contact form offers for new fields.
BLANK_ROWS = 2


def _normalized(field) -> None:
    try:
        field.normalized = normalize(field.data or "")
    except SmscoValidationError as error:
        raise ValidationError(validation_text(error)) from None


class FieldRow(RowForm):
    """One custom field: its name (the placeholder, as in {city}) and its value."""

    name = StringField(_l("Field name"), validators=[Optional(), Length(max=60)])
    value = StringField(_l("Value"), validators=[Optional(), Length(max=500)])


class ContactForm(Form):
    """One contact: number, name, other fields (name/value rows), groups."""

    phone = StringField(_l("Phone number"),
                        validators=[DataRequired(_l("Enter the phone number."))])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    custom = FieldList(FormField(FieldRow), label=_l("Other fields"), max_entries=100)
    groups = CheckboxListField(_l("Groups"), coerce=form_id, validate_choice=False)

    def validate_phone(self, field) -> None:
        _normalized(field)

    def show_fields(self, fields: dict[str, str]) -> None:
        """Fill the rows with a contact's fields (all but the name) and blank rows after."""
        for key, value in fields.items():
            if key != "name":
                self.custom.append_entry({"name": key, "value": value})
        self.add_blank_rows()

    def add_blank_rows(self, count: int = BLANK_ROWS) -> None:
        for _row in range(min(count, self.custom.max_entries - len(self.custom.entries))):
            self.custom.append_entry()

    def validate_custom(self, field) -> None:
        seen: set[str] = set()
        for number, row in enumerate(field.entries, start=1):
            raw, value = (row.form.name.data or "").strip(), (row.form.value.data or "").strip()
            if not raw:
                if value:
                    raise ValidationError(_("Row %(row)d has a value but no field name.",
                                            row=number))
                continue
            key = field_name(raw, 0)
            if key == "name":
                raise ValidationError(_("Write the name in the Name field above."))
            if key in seen:
                raise ValidationError(_("The field “%(field)s” is there twice.", field=key))
            seen.add(key)

    def field_values(self) -> dict[str, str]:
        """The name and the other fields as one dict (names as placeholders use them)."""
        values: dict[str, str] = {}
        for row in self.custom.entries:
            raw, value = (row.form.name.data or "").strip(), (row.form.value.data or "").strip()
            if raw and value:
                values[field_name(raw, 0)] = value
        if (self.name.data or "").strip():
            values["name"] = self.name.data.strip()
        return values


class GroupForm(Form):
    name = StringField(_l("Group name"), validators=[DataRequired(_l("Name the group.")),
                                                     Length(max=120)])


class UploadForm(Form):
    file = FileField(_l("File"), validators=[
        FileRequired(CHOOSE_A_FILE),
        FileAllowed(list(EXTENSIONS), CHOOSE_A_FILE)])


class OptOutForm(Form):
    phone = StringField(_l("Phone number"),
                        validators=[DataRequired(_l("Enter the phone number."))])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])

    def validate_phone(self, field) -> None:
        _normalized(field)
