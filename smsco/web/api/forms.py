"""Forms of the API pages: a new key, a key's webhook URL."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..ui.forms import Form


class NewKeyForm(Form):
    """Name, owner (administrators choose), optional expiry and webhook URL."""

    name = StringField(_l("Key name"), validators=[DataRequired(_l("Name the key.")),
                                                   Length(max=120)])
    owner = SelectField(_l("Owner"), coerce=int, validate_choice=False)
    expires_on = DateField(_l("Expires on"), validators=[Optional()])
    webhook_url = StringField(_l("Webhook URL"), validators=[Optional(), Length(max=2000)])


class WebhookForm(Form):
    """A key's webhook URL (empty removes it)."""

    webhook_url = StringField(_l("Webhook URL"), validators=[Optional(), Length(max=2000)])
