"""Login throttling: every attempt is counted, atomically, before its password is checked.

A limiter that first tests and later counts lets parallel requests all pass the
test before any of them is counted (150 simultaneous guesses once checked 72
passwords). ``hit`` counts and compares in one step, in memory and in Redis
alike, so at most the limit's number of passwords is ever checked.

The counters live in ``RATELIMIT_STORAGE_URI`` (``memory://`` for one process,
Redis when several serve); ``RATELIMIT_ENABLED`` turns throttling off (tests).
"""

from __future__ import annotations

from flask import Flask, current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

LOGIN_LIMIT = parse("5 per minute")  # attempts per address and username
LOGIN_LIMIT_PER_ADDRESS = parse("30 per minute")  # attempts per address, any username
RETRY_AFTER_SECONDS = 60
EXTENSION = "smsco_login_throttle"


def init_throttle(app: Flask) -> None:
    """Give the app its own counters (a moving window: at most N in any minute)."""
    app.config.setdefault("RATELIMIT_ENABLED", True)
    storage = storage_from_string(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    app.extensions[EXTENSION] = MovingWindowRateLimiter(storage)


def _enabled() -> bool:
    return bool(current_app.config["RATELIMIT_ENABLED"])


def _username_key(username: str) -> str:
    return (username or "").strip().lower()


def count_login_attempt(address: str, username: str) -> bool:
    """Count one attempt in both buckets; False when it is over either limit.

    Both are counted even when the first refuses: a blocked guesser keeps
    spending the address's budget.
    """
    if not _enabled():
        return True
    strategy = current_app.extensions[EXTENSION]
    by_name = strategy.hit(LOGIN_LIMIT, "login", address, _username_key(username))
    by_address = strategy.hit(LOGIN_LIMIT_PER_ADDRESS, "login-address", address)
    return by_name and by_address


def forget_attempts(address: str, username: str) -> None:
    """After a successful login, that username's earlier tries from this address stop counting.

    The per-address bucket is kept: an attacker with one valid account must
    not be able to reset the budget for guessing other accounts' passwords.
    """
    if _enabled():
        current_app.extensions[EXTENSION].clear(LOGIN_LIMIT, "login", address,
                                                 _username_key(username))
