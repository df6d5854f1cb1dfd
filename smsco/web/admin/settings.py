"""Installation-wide settings an administrator changes in the app (the ``Setting`` rows).

The opt-out footer is the first: a short text such as "STOP 91234" added to
marketing messages. Compose and bulk pages call :func:`optout_footer` and
:func:`with_footer`, so the footer is added one way everywhere.
"""

from __future__ import annotations

from smsco import text

from ..extensions import db
from ..models import Setting, User, audit

OPTOUT_FOOTER = "optout_footer"


def get_setting(key: str, default: str = "") -> str:
    """A setting's value, or ``default`` when it was never set."""
    setting = db.session.get(Setting, key)
    return setting.value if setting is not None else default


def set_setting(key: str, value: str, by: User | None = None) -> None:
    """Store a setting and audit who changed it (commits)."""
    setting = db.session.get(Setting, key) or Setting(key=key)
    setting.value = value
    db.session.add(setting)
    audit(by, "setting", detail=f"{key} set to {value!r}")
    db.session.commit()


def optout_footer() -> str:
    """The opt-out footer for marketing messages ("" when none is set)."""
    return get_setting(OPTOUT_FOOTER).strip()


def set_optout_footer(footer: str, by: User | None = None) -> str:
    """Store the footer after checking the gateway accepts it; "" removes it.

    Raises ``smsco.ValidationError`` for characters the gateway refuses.
    """
    footer = " ".join(footer.split())
    if footer:
        text.check_message(footer)
    set_setting(OPTOUT_FOOTER, footer, by)
    return footer


def with_footer(body: str, footer: str) -> str:
    """``body`` with the footer after one space (as campaigns render it); unchanged if none."""
    return f"{body} {footer}".strip() if footer else body
