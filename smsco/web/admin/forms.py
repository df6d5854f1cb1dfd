"""Forms for managing accounts."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo

from ..auth.forms import new_password, new_username
from ..models import Role

ROLE_CHOICES = [(Role.OPERATOR, "Operator"), (Role.ADMIN, "Administrator")]


class AddUserForm(FlaskForm):
    """A new operator or administrator."""

    username = StringField("Username", validators=[DataRequired("Enter a username."),
                                                   new_username],
                           render_kw={"autocomplete": "off"})
    password = PasswordField("Password", validators=[DataRequired("Enter a password."),
                                                     new_password],
                             render_kw={"autocomplete": "new-password"})
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.OPERATOR)


class ResetPasswordForm(FlaskForm):
    """A new password set by an administrator."""

    password = PasswordField("New password", validators=[DataRequired("Enter a password."),
                                                         new_password],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Confirm password",
                            validators=[DataRequired("Enter the password again."),
                                        EqualTo("password", "The passwords do not match.")],
                            render_kw={"autocomplete": "new-password"})


class RoleForm(FlaskForm):
    """Change an account's role."""

    role = SelectField("Role", choices=ROLE_CHOICES)
