"""Account services."""

from __future__ import annotations

from ..extensions import db, login_manager
from ..models import User


def has_users() -> bool:
    """True once the first account exists."""
    return db.session.scalar(db.select(User.id).limit(1)) is not None


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the user of a session, if still present."""
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None
