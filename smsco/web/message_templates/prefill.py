"""``?template=<id>`` links (the templates list's "Use"): compose and bulk send start with
that saved text, without JavaScript."""

from __future__ import annotations

from flask import flash, request
from flask_babel import gettext as _

from ..models import MessageTemplate, User
from ..params import arg_int
from .services import visible_template


def template_from_link(user: User) -> MessageTemplate | None:
    """The template the link names if ``user`` may use it; an error is flashed when not."""
    if not request.args.get("template"):
        return None
    template_id = arg_int("template")
    template = visible_template(template_id, user) if template_id else None
    if template is None:
        flash(_("That template does not exist or is not yours to use."), "error")
    return template
