"""Account services: first-run setup, logging in and out, managing operators.

Views call these and nothing else touches ``User`` rows. Rules that protect the
system (usernames, password length, the last administrator) live here, so a
form and any other caller enforce the same ones.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import urlsplit

from flask import session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db, login_manager
from ..models import Role, User, audit, utcnow

MIN_PASSWORD_LENGTH = 10
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{3,64}")
USERNAME_RULE = _l("Use 3 to 64 letters, digits, dots, underscores or hyphens.")
WRONG_CREDENTIALS = _l("Wrong username or password.")


class AccountError(Exception):
    """A change the account rules do not allow, in words for the administrator.

    ``field`` names the form field the message belongs beside, if any.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# -- lookups and rules -------------------------------------------------------------


def has_users() -> bool:
    """True once the first account exists."""
    return db.session.scalar(db.select(User.id).limit(1)) is not None


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the user of a session, if still present and enabled.

    Checking ``active`` here ends the sessions of a disabled account at once.
    """
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


def find_user(username: str) -> User | None:
    """The account with this username, compared without regard to case."""
    name = (username or "").strip().lower()
    return db.session.scalar(db.select(User).where(func.lower(User.username) == name))


def username_problem(username: str | None) -> str | None:
    """Why this username cannot be used, or None when it can."""
    if not username or not USERNAME_PATTERN.fullmatch(username.strip()):
        return str(USERNAME_RULE)
    if find_user(username) is not None:
        return _("That username is already taken.")
    return None


def password_problem(password: str | None) -> str | None:
    """Why this password is too weak, or None when it is acceptable."""
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        return _("Use at least %(num)d characters.", num=MIN_PASSWORD_LENGTH)
    return None


def is_safe_next(target: str | None) -> bool:
    """True for a path on this site ("/history?page=2"), false for anything else.

    Rejects absolute URLs, scheme-relative ``//host`` and the backslash forms
    browsers treat as ``//host``.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(char) < 32 for char in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


# -- logging in and out --------------------------------------------------------------


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not-a-real-password")


def authenticate(username: str, password: str) -> User | None:
    """The enabled account matching these credentials, or None.

    An unknown name still costs one hash check, so timing does not tell
    which usernames exist.
    """
    user = find_user(username)
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    return user


def log_in(user: User) -> None:
    """Start a fresh session for ``user`` that expires after the idle lifetime."""
    session.clear()  # nothing from before the login survives it
    login_user(user)
    session.permanent = True  # PERMANENT_SESSION_LIFETIME applies
    user.last_login_at = utcnow()
    audit(user, "login")
    db.session.commit()


def log_out(user: User) -> None:
    """End the session, recording who left."""
    audit(user, "logout")
    db.session.commit()
    logout_user()
    session.clear()


# -- managing accounts -------------------------------------------------------------


def create_first_admin(username: str, password: str) -> User:
    """The first administrator; refused once any account exists."""
    if has_users():
        raise AccountError(_("The first account already exists."))
    user = _new_user(username, password, Role.ADMIN)
    audit(user, "user_add", detail=f"First administrator {user.username}")
    db.session.commit()
    return user


def create_user(username: str, password: str, role: str, by: User | None) -> User:
    """A new enabled account with this role."""
    if role not in Role.ALL:
        raise AccountError(_("Choose a role."), field="role")
    user = _new_user(username, password, role)
    audit(by, "user_add", detail=f"Added {role} {user.username}")
    db.session.commit()
    return user


def _new_user(username: str, password: str, role: str) -> User:
    username = (username or "").strip()
    problem = username_problem(username)
    if problem:
        raise AccountError(problem, field="username")
    problem = password_problem(password)
    if problem:
        raise AccountError(problem, field="password")
    user = User(username=username, role=role, active=True)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:  # another request took the name meanwhile
        db.session.rollback()
        raise AccountError(_("That username is already taken."), field="username") from exc
    return user


def set_active(user: User, active: bool, by: User | None) -> None:
    """Enable or disable an account, keeping at least one active administrator."""
    if user.active == active:
        return
    if not active:
        if by is not None and by.id == user.id:
            raise AccountError(_("You cannot disable your own account."))
        _keep_an_admin(user)
    user.active = active
    action = "user_enable" if active else "user_disable"
    audit(by, action, detail=f"{'Enabled' if active else 'Disabled'} {user.username}")
    db.session.commit()


def set_role(user: User, role: str, by: User | None) -> None:
    """Change an account's role, keeping at least one active administrator."""
    if role not in Role.ALL:
        raise AccountError(_("Choose a role."))
    if user.role == role:
        return
    if by is not None and by.id == user.id:
        raise AccountError(_("You cannot change your own role; ask another administrator."))
    if role != Role.ADMIN:
        _keep_an_admin(user)
    user.role = role
    audit(by, "role_change", detail=f"{user.username} is now {role}")
    db.session.commit()


def reset_password(user: User, password: str, by: User | None) -> None:
    """Give an account a new password chosen by an administrator."""
    problem = password_problem(password)
    if problem:
        raise AccountError(problem, field="password")
    user.set_password(password)
    audit(by, "password_reset", detail=f"New password for {user.username}")
    db.session.commit()


def _keep_an_admin(user: User) -> None:
    """Refuse to take away the last active administrator."""
    if not (user.is_admin and user.active):
        return
    others = db.session.scalar(
        db.select(func.count(User.id)).where(
            User.role == Role.ADMIN, User.active.is_(True), User.id != user.id))
    if not others:
        raise AccountError(_("%(name)s is the last active administrator; make another "
                             "administrator first.", name=user.username))


def set_language(user: User, language: str) -> None:
    """Keep the interface language a user chose (the caller checked it is one we speak)."""
    if user.language != language:
        user.language = language
        db.session.commit()


def list_users() -> list[User]:
    """Every account, by username."""
    return list(db.session.scalars(db.select(User).order_by(func.lower(User.username))))
