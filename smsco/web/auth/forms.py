"""Forms for first-run setup and logging in."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, ValidationError

from ..ui.forms import Form
from . import services


def new_username(form, field) -> None:
    """A username that follows the rules and is not taken."""
    problem = services.username_problem(field.data)
    if problem:
        raise ValidationError(problem)


def new_password(form, field) -> None:
    """A password long enough to keep."""
    problem = services.password_problem(field.data)
    if problem:
        raise ValidationError(problem)


def new_password_field(label: str | None = None) -> PasswordField:
    """A field for choosing a password (length checked by the account rules)."""
    return PasswordField(label or _l("Password"),
                         validators=[DataRequired(_l("Enter a password.")), new_password],
                         render_kw={"autocomplete": "new-password"})


def confirm_password_field() -> PasswordField:
    """The same password typed again."""
    return PasswordField(_l("Confirm password"),
                         validators=[DataRequired(_l("Enter the password again.")),
                                     EqualTo("password", _l("The passwords do not match."))],
                         render_kw={"autocomplete": "new-password"})


class SetupForm(Form):
    """The first administrator account."""

    username = StringField(_l("Username"), validators=[DataRequired(_l("Enter a username.")),
                                                       new_username],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = new_password_field()
    confirm = confirm_password_field()


class LoginForm(Form):
    """Username and password."""

    username = StringField(_l("Username"),
                           validators=[DataRequired(_l("Enter your username."))],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField(_l("Password"),
                             validators=[DataRequired(_l("Enter your password."))],
                             render_kw={"autocomplete": "current-password"})
