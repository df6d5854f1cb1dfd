"""Forms for managing accounts."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired

from ..auth.forms import confirm_password_field, new_password_field, new_username
from ..models import Role

ROLE_CHOICES = [(Role.OPERATOR, "Operator"), (Role.ADMIN, "Administrator")]


class AddUserForm(FlaskForm):
    """A new operator or administrator."""

    username = StringField("Username", validators=[DataRequired("Enter a username."),
                                                   new_username],
                           render_kw={"autocomplete": "off"})
    password = new_password_field()
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.OPERATOR)


class ResetPasswordForm(FlaskForm):
    """A new password set by an administrator."""

    password = new_password_field("New password")
    confirm = confirm_password_field()


class RoleForm(FlaskForm):
    """Change an account's role."""

    role = SelectField("Role", choices=ROLE_CHOICES)
