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
from ..models import Role, Setting, User, audit, utcnow
from ..params import bounded_int
from . import throttle

MIN_PASSWORD_LENGTH = 10
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{3,64}")
USERNAME_RULE = _l("Use 3 to 64 letters, digits, dots, underscores or hyphens.")
WRONG_CREDENTIALS = _l("Wrong username or password.")
# The session remembers the account's session version at login; bumping it ends them all.
SESSION_VERSION = "_session_version"
# A singleton Setting row written with the first administrator: its primary key lets
# exactly one of many simultaneous first-run requests succeed, on SQLite and PostgreSQL.
FIRST_ADMIN_MARK = "first_admin"


class AccountError(Exception):
    """A change the account rules do not allow, in words for the administrator.

    ``field`` names the form field the message belongs beside, if any.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class LoginThrottled(Exception):
    """Too many login attempts: the password was not checked."""


# -- lookups and rules -------------------------------------------------------------


def has_users() -> bool:
    """True once the first account exists."""
    return db.session.scalar(db.select(User.id).limit(1)) is not None


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the user of a session, if still present, enabled and current.

    Checking ``active`` ends the sessions of a disabled account at once; checking
    the session version ends every session made before a logout, a password
    reset or a disable, even a copied cookie.
    """
    number = bounded_int(user_id)
    user = db.session.get(User, number) if number is not None else None
    if user is None or not user.active:
        return None
    # A session from before versions existed counts as version 0: it lives until the
    # account's first logout, reset or disable, instead of everyone being logged out.
    return user if session.get(SESSION_VERSION, 0) == user.session_version else None


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


def authenticate(username: str, password: str, address: str) -> User | None:
    """The enabled account matching these credentials, or None; a failure is audited.

    The attempt is counted before the password is checked: over the limit this
    raises ``LoginThrottled`` and checks nothing. An unknown name still costs
    one hash check, so timing does not tell which usernames exist.
    """
    if not throttle.count_login_attempt(address, username):
        raise LoginThrottled
    user = find_user(username)
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
    elif user.check_password(password or "") and user.active:
        throttle.forget_attempts(address, username)
        return user
    _audit_failed_login(user, address)
    return None


def _audit_failed_login(user: User | None, address: str) -> None:
    # An unknown name is not recorded: people type their password into the wrong field.
    where = f"from {address[:64]}"
    audit(user, "login_failed",
          detail=where if user is not None else f"Unknown username {where}")
    db.session.commit()


def log_in(user: User) -> None:
    """Start a fresh session for ``user`` that expires after the idle lifetime."""
    session.clear()  # nothing from before the login survives it
    login_user(user)
    session[SESSION_VERSION] = user.session_version
    session.permanent = True  # PERMANENT_SESSION_LIFETIME applies
    user.last_login_at = utcnow()
    audit(user, "login")
    db.session.commit()


def log_out(user: User) -> None:
    """End this session and every other session of the account, recording who left."""
    _end_sessions(user)
    audit(user, "logout")
    db.session.commit()
    logout_user()
    session.clear()


def _end_sessions(user: User) -> None:
    """Make every session of ``user`` stale (caller commits); counted in SQL, so never lost."""
    user.session_version = User.session_version + 1


# -- managing accounts -------------------------------------------------------------


def create_first_admin(username: str, password: str) -> User:
    """The first administrator; refused once any account exists, even to a parallel request."""
    if has_users() or not _mark_first_admin(username):
        raise AccountError(_("The first account already exists."))
    try:
        user = _new_user(username, password, Role.ADMIN)
    except AccountError:
        db.session.rollback()  # the mark goes too, so the corrected form can be sent
        raise
    audit(user, "user_add", detail=f"First administrator {user.username}")
    db.session.commit()
    return user


def _mark_first_admin(username: str) -> bool:
    """Insert the first-run mark; False when another request already did (caller commits)."""
    db.session.add(Setting(key=FIRST_ADMIN_MARK, value=(username or "").strip()[:64]))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


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
    _end_sessions(user)  # enabling again must not revive a session from before
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
    """Give an account a new password chosen by an administrator; its sessions end."""
    problem = password_problem(password)
    if problem:
        raise AccountError(problem, field="password")
    user.set_password(password)
    _end_sessions(user)
    audit(by, "password_reset", detail=f"New password for {user.username}")
    db.session.commit()
    if by is not None and by.id == user.id and session.get(SESSION_VERSION) is not None:
        session[SESSION_VERSION] = user.session_version  # the one who reset it stays in


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
