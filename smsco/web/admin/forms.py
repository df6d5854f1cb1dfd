"""Forms for managing accounts."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired

from ..auth.forms import confirm_password_field, new_password_field, new_username
from ..models import Role
from ..ui.forms import Form

ROLE_CHOICES = [(Role.OPERATOR, _l("Operator")), (Role.ADMIN, _l("Administrator"))]


class AddUserForm(Form):
    """A new operator or administrator."""

    username = StringField(_l("Username"), validators=[DataRequired(_l("Enter a username.")),
                                                       new_username],
                           render_kw={"autocomplete": "off"})
    password = new_password_field()
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default=Role.OPERATOR)


class ResetPasswordForm(Form):
    """A new password set by an administrator."""

    password = new_password_field(_l("New password"))
    confirm = confirm_password_field()


class RoleForm(Form):
    """Change an account's role."""

    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
