"""API keys: made in the dashboard, shown once, kept as a SHA-256 hash, checked per request.

A key is ``smsco_`` and 43 random URL-safe characters (256 bits), so a fast
hash is the right one: nothing can be guessed, and every API request can look
its key up by the hash through a unique index. Administrators manage every
key; an operator manages their own.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import bindparam, select, update

from ..extensions import db
from ..models import ApiKey, Role, User, audit, utcnow

KEY_PREFIX = "smsco_"
#: Characters of a key shown in lists, so people can tell keys apart.
SHOWN_CHARACTERS = 12
#: ``last_used_at`` is written at most this often per key (not a write per request).
LAST_USED_EVERY = timedelta(seconds=60)
MAX_URL_LENGTH = 2000


class ApiKeyError(Exception):
    """A key change refused, in words for the person making it; ``field`` names the field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Owner:
    """The owner of the calling key: what sending and the audit log need of a user."""

    id: int
    username: str
    is_admin: bool


@dataclass(frozen=True)
class Caller:
    """The key of an API request and its owner, read in one query as plain values."""

    id: int
    name: str
    owner: Owner


@dataclass(frozen=True)
class NewKey:
    """A key just made: the row, and the secret shown once."""

    key: ApiKey
    secret: str


def hash_secret(secret: str) -> str:
    """SHA-256 of the key, as stored."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def bearer_secret(header: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header, or None."""
    scheme, _sep, value = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


# Built once: a Core statement, so a request spends no time on ORM work or building SQL.
_KEY_AND_OWNER = (
    select(ApiKey.__table__.c.id, ApiKey.__table__.c.name, ApiKey.__table__.c.revoked_at,
           ApiKey.__table__.c.expires_at, ApiKey.__table__.c.last_used_at,
           User.__table__.c.id, User.__table__.c.username, User.__table__.c.role,
           User.__table__.c.active)
    .join(User.__table__, User.__table__.c.id == ApiKey.__table__.c.owner_id)
    .where(ApiKey.__table__.c.secret_hash == bindparam("secret_hash")))


def authenticate(header: str | None) -> tuple[Caller | None, str]:
    """The usable key of this header and its owner, or None and why (for the 401's detail)."""
    secret = bearer_secret(header)
    if secret is None:
        return None, "Send the API key as Authorization: Bearer <key>."
    if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None, "This is not an API key of this dashboard."
    row = db.session.execute(_KEY_AND_OWNER, {"secret_hash": hash_secret(secret)}).first()
    now = utcnow()
    if row is None:
        return None, "This API key is not known."
    key_id, name, revoked_at, expires_at, last_used_at, owner_id, username, role, active = row
    if revoked_at is not None:
        return None, "This API key was revoked."
    if expires_at is not None and expires_at <= now:
        return None, "This API key has expired."
    if not active:
        return None, "The account owning this API key is disabled."
    if last_used_at is None or now - last_used_at >= LAST_USED_EVERY:
        _note_use(key_id, now)
    return Caller(key_id, name, Owner(owner_id, username, role == Role.ADMIN)), ""


def _note_use(key_id: int, now: datetime) -> None:
    """Record the last use, at most once a minute per key (a guarded UPDATE, own commit)."""
    db.session.execute(update(ApiKey).where(
        ApiKey.id == key_id,
        (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < now - LAST_USED_EVERY))
        .values(last_used_at=now).execution_options(synchronize_session=False))
    db.session.commit()


# -- managing keys -----------------------------------------------------------------


def visible_keys(user: User) -> list[ApiKey]:
    """Every key for an administrator; an operator's own keys otherwise. Newest first."""
    query = select(ApiKey).order_by(ApiKey.id.desc())
    if not user.is_admin:
        query = query.where(ApiKey.owner_id == user.id)
    return list(db.session.scalars(query))


def visible_key(key_id: int, user: User) -> ApiKey | None:
    """The key if ``user`` may manage it."""
    key = db.session.get(ApiKey, key_id)
    if key is None or not (user.is_admin or key.owner_id == user.id):
        return None
    return key


def create_key(name: str, owner: User, by: User, expires_at: datetime | None = None,
               webhook_url: str | None = None) -> NewKey:
    """A new key for ``owner`` (operators only for themselves); the secret is returned once."""
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise ApiKeyError(_("Name the key (at most 120 characters)."), field="name")
    if not by.is_admin and owner.id != by.id:
        raise ApiKeyError(_("Operators can make keys only for themselves."), field="owner")
    if expires_at is not None and expires_at <= utcnow():
        raise ApiKeyError(_("The expiry must be in the future."), field="expires_at")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, prefix=secret[:SHOWN_CHARACTERS], secret_hash=hash_secret(secret),
                 owner_id=owner.id, created_by_id=by.id, expires_at=expires_at,
                 created_at=utcnow())
    db.session.add(key)
    _apply_webhook(key, webhook_url)
    db.session.flush()
    audit(by, "api_key_add", detail=f"API key #{key.id} {name!r} for {owner.username}")
    db.session.commit()
    return NewKey(key, secret)


def revoke_key(key: ApiKey, by: User) -> None:
    """Revoke at once: the next request with it gets 401."""
    if key.revoked_at is not None:
        return
    key.revoked_at = utcnow()
    audit(by, "api_key_revoke", detail=f"API key #{key.id} {key.name!r}")
    db.session.commit()


def set_webhook(key: ApiKey, url: str | None, by: User) -> None:
    """Set or clear the key's webhook URL (a signing secret is made with the first URL)."""
    _apply_webhook(key, url)
    audit(by, "api_webhook", detail=f"API key #{key.id}: webhook {key.webhook_url or 'removed'}")
    db.session.commit()


def rotate_webhook_secret(key: ApiKey, by: User) -> None:
    """A new signing secret; the old one stops verifying at once."""
    key.webhook_secret = new_webhook_secret()
    audit(by, "api_webhook_secret", detail=f"API key #{key.id}: new signing secret")
    db.session.commit()


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _apply_webhook(key: ApiKey, url: str | None) -> None:
    url = (url or "").strip() or None
    if url is not None:
        check_webhook_url(url)
        key.webhook_secret = key.webhook_secret or new_webhook_secret()
    key.webhook_url = url


def check_webhook_url(url: str) -> None:
    """An http(s) URL with a host; private and local addresses are allowed on purpose
    (the receiving system is usually inside the same network)."""
    if len(url) > MAX_URL_LENGTH or any(ord(char) < 33 for char in url):
        raise ApiKeyError(_("Give a URL of at most 2000 characters, without spaces."),
                        field="webhook_url")
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname \
            or not port_ok:
        raise ApiKeyError(_("Give an http:// or https:// URL with a host name, "
                          "e.g. https://booking.example.ge/smsco-events."), field="webhook_url")
