"""Who sees and manages which saved message text, and saving them.

Shared templates (``owner_id`` None) are used by everyone and managed by
administrators; everyone manages their own. Nobody sees another user's own.
"""

from __future__ import annotations

from ..extensions import db
from ..models import MessageTemplate, User, audit, utcnow


def visible_templates(user: User) -> list[MessageTemplate]:
    """Shared templates first, then the user's own, each by name."""
    query = (db.select(MessageTemplate)
             .where((MessageTemplate.owner_id.is_(None)) | (MessageTemplate.owner_id == user.id))
             .order_by(MessageTemplate.owner_id.is_not(None), MessageTemplate.name,
                       MessageTemplate.id))
    return list(db.session.scalars(query))


def can_see(template: MessageTemplate, user: User) -> bool:
    return template.owner_id is None or template.owner_id == user.id


def can_manage(template: MessageTemplate, user: User) -> bool:
    """Administrators manage shared ones; everyone manages their own."""
    return template.owner_id == user.id or (template.owner_id is None and user.is_admin)


def visible_template(template_id: int, user: User) -> MessageTemplate | None:
    """The template if ``user`` may use it, else None."""
    template = db.session.get(MessageTemplate, template_id)
    return template if template is not None and can_see(template, user) else None


def save_template(template: MessageTemplate | None, *, name: str, body: str, shared: bool,
                  user: User) -> MessageTemplate:
    """Create (``template`` None) or update a template; only administrators share (commits)."""
    creating = template is None
    template = template or MessageTemplate()
    template.name, template.body = name.strip(), body
    template.owner_id = None if shared and user.is_admin else user.id
    template.updated_at = utcnow()
    db.session.add(template)
    db.session.flush()
    audit(user, "template_add" if creating else "template_edit",
          detail=f"Template #{template.id} {template.name!r}"
          + (" (shared)" if template.owner_id is None else ""))
    db.session.commit()
    return template


def delete_template(template: MessageTemplate, user: User) -> None:
    """Delete a template (commits)."""
    audit(user, "template_delete", detail=f"Template #{template.id} {template.name!r}")
    db.session.delete(template)
    db.session.commit()
