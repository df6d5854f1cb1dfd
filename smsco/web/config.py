"""Configuration from environment variables (and a ``.env`` file).

Every variable has a default documented in the README. Secrets (the gateway
password, ``SECRET_KEY``) are read here and nowhere else.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INSTANCE_DIR = PROJECT_ROOT / "instance"


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "on", "true", "yes"}


def _persistent_secret_key(instance_dir: Path) -> str:
    """A random key made once and kept in ``instance/``, so sessions survive restarts."""
    key_file = instance_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _senders(value: str | None) -> list[str]:
    return [s.strip() for s in (value or "").replace(";", ",").split(",") if s.strip()]


def load_config(instance_dir: Path = INSTANCE_DIR) -> dict[str, object]:
    """Read the configuration from the environment; ``.env`` fills what is unset."""
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    env = os.environ.get
    username = env("SMSCO_USERNAME") or None
    senders = _senders(env("SMSCO_SENDERS"))
    default_sender = env("SMSCO_SENDER") or (senders[0] if senders else None)
    return {
        "SECRET_KEY": env("SECRET_KEY") or _persistent_secret_key(instance_dir),
        "SQLALCHEMY_DATABASE_URI": env("DATABASE_URL")
        or f"sqlite:///{instance_dir / 'smsco.sqlite'}",
        "SMSCO_USERNAME": username,
        "SMSCO_PASSWORD": env("SMSCO_PASSWORD") or None,
        "SMSCO_DEMO": username is None,
        "SMSCO_SENDER": default_sender,
        "SMSCO_SENDERS": senders,
        "SMSCO_BASE_URL": (env("SMSCO_BASE_URL") or "http://smsco.ge").rstrip("/"),
        "SMSCO_TIMEZONE": env("SMSCO_TIMEZONE") or "Asia/Tbilisi",
        "SMSCO_DEFAULT_LANGUAGE": env("SMSCO_DEFAULT_LANGUAGE") or "ka",
        "SMSCO_STATUS_INTERVAL": float(env("SMSCO_STATUS_INTERVAL") or 30),
        "SMSCO_BALANCE_INTERVAL": float(env("SMSCO_BALANCE_INTERVAL") or 300),
        "SMSCO_DISPATCH_INTERVAL": float(env("SMSCO_DISPATCH_INTERVAL") or 1),
        "SMSCO_CONCURRENCY": int(env("SMSCO_CONCURRENCY") or 4),
        "SMSCO_RATE": float(env("SMSCO_RATE") or 0),
        "SMSCO_HEARTBEAT_TIMEOUT": float(env("SMSCO_HEARTBEAT_TIMEOUT") or 60),
        "SMSCO_LOW_BALANCE": Decimal(env("SMSCO_LOW_BALANCE") or "5"),
        "SMSCO_SCHEDULER": _bool(env("SMSCO_SCHEDULER"), True),
        # Parsed into SMSCO_QUIET_RULE by smsco.web.sending.init_sending (unset = default).
        "SMSCO_QUIET_HOURS": env("SMSCO_QUIET_HOURS") or None,
        "SMSCO_EXTRA_CHARS": env("SMSCO_EXTRA_CHARS") or "",
        "SMSCO_PRICE_PER_PART": int(env("SMSCO_PRICE_PER_PART") or 5),
        "SMSCO_MAX_PARTS": int(env("SMSCO_MAX_PARTS") or 10),
        "SMSCO_MAX_SCHEDULE_DAYS": int(env("SMSCO_MAX_SCHEDULE_DAYS") or 365),
        "SMSCO_SIMULATOR_PORT": int(env("SMSCO_SIMULATOR_PORT") or 0),
        # Uploads (contacts import, bulk recipients): a larger request is answered 413.
        "MAX_CONTENT_LENGTH": int(float(env("SMSCO_UPLOAD_MAX_MB") or 20) * 1024 * 1024),
        "SMSCO_UPLOAD_MAX_ROWS": int(env("SMSCO_UPLOAD_MAX_ROWS") or 200_000),
        "SMSCO_UPLOAD_MAX_COLUMNS": int(env("SMSCO_UPLOAD_MAX_COLUMNS") or 100),
        "SMSCO_UPLOAD_MAX_CELLS": int(env("SMSCO_UPLOAD_MAX_CELLS") or 750_000),
        "SMSCO_UPLOAD_MAX_UNPACKED_MB": int(env("SMSCO_UPLOAD_MAX_UNPACKED_MB") or 100),
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (0 = none).
        "SMSCO_PROXY_HOPS": max(0, int(env("SMSCO_PROXY_HOPS") or 0)),
        "RATELIMIT_STORAGE_URI": env("RATELIMIT_STORAGE_URI") or "smsco-memory://",
        # Requests per API key (Flask-Limiter syntax); counted per process in memory by default.
        "SMSCO_API_RATE_LIMIT": env("SMSCO_API_RATE_LIMIT") or "600 per minute",
        "SMSCO_WEBHOOK_INTERVAL": float(env("SMSCO_WEBHOOK_INTERVAL") or 2),
        "SESSION_COOKIE_SECURE": _bool(env("SESSION_COOKIE_SECURE"), False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "SESSION_REFRESH_EACH_REQUEST": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }
