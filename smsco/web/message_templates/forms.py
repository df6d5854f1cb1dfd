"""Forms for saved message texts and the opt-out footer."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from smsco import ValidationError as SmscoValidationError
from smsco import text

from ..text_analysis.analysis import check_with_placeholders, length_problem

PLACEHOLDER_HINT = "Placeholders like {name} are filled in per recipient on the bulk page."


class TemplateForm(FlaskForm):
    """A saved message text; placeholders such as {name} are allowed."""

    name = StringField("Name", validators=[DataRequired("Give the template a name."),
                                           Length(max=120)])
    message = TextAreaField("Message", validators=[DataRequired("Write the text.")])
    shared = BooleanField("Shared with all users")

    def validate_message(self, field) -> None:
        try:
            check_with_placeholders(field.data or "")
        except SmscoValidationError as error:
            raise ValidationError(f"{error} {PLACEHOLDER_HINT}") from None
        problem = length_problem(field.data or "")
        if problem:
            raise ValidationError(problem)


class FooterForm(FlaskForm):
    """The opt-out footer added to marketing messages."""

    footer = StringField("Opt-out footer", validators=[Length(max=100)])

    def validate_footer(self, field) -> None:
        if not (field.data or "").strip():
            return  # empty: no footer
        try:
            text.check_message(field.data)
        except SmscoValidationError as error:
            raise ValidationError(str(error)) from None
