"""Forms for saved message texts and the opt-out footer."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from smsco import ValidationError as SmscoValidationError
from smsco import text

from ..text_analysis.analysis import check_with_placeholders, length_problem
from ..ui.forms import Form
from ..ui.labels import validation_text


class TemplateForm(Form):
    """A saved message text; placeholders such as {name} are allowed."""

    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the template a name.")),
                                               Length(max=120)])
    message = TextAreaField(_l("Message"), validators=[DataRequired(_l("Write the text."))])
    shared = BooleanField(_l("Shared with all users"))

    def validate_message(self, field) -> None:
        try:
            check_with_placeholders(field.data or "")
        except SmscoValidationError as error:
            raise ValidationError(_("%(problem)s Placeholders like {name} are filled in per "
                                    "recipient on the bulk page.",
                                    problem=validation_text(error))) from None
        problem = length_problem(field.data or "")
        if problem:
            raise ValidationError(problem)


class FooterForm(Form):
    """The opt-out footer added to marketing messages."""

    footer = StringField(_l("Opt-out footer"), validators=[Length(max=100)])

    def validate_footer(self, field) -> None:
        if not (field.data or "").strip():
            return  # empty: no footer
        try:
            text.check_message(field.data)
        except SmscoValidationError as error:
            raise ValidationError(validation_text(error)) from None
