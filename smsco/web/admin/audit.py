"""The audit log as administrators read it: actions in words, a link to what each entry
concerns, filters by user, action and date, and the same view as a spreadsheet.

Entries keep what they always kept (an action code, a message id, a detail text);
what an entry concerns is read from them, so old entries link too: the message,
the campaign or template named ``#12`` in the detail, or the account named (nothing
for what an entry deleted).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select

from ..extensions import db
from ..history.queries import local_day_start_utc
from ..models import AuditEntry, User
from ..params import arg_date, arg_int
from ..ui.exports import Table
from ..ui.formatting import local_iso

PAGE_SIZE = 50

#: Every action code in words, in the order the filter offers them.
ACTIONS = {
    "login": _l("Logged in"), "login_failed": _l("Login failed"), "logout": _l("Logged out"),
    "user_add": _l("Account added"), "user_enable": _l("Account enabled"),
    "user_disable": _l("Account disabled"), "role_change": _l("Role changed"),
    "password_reset": _l("Password reset"), "setting": _l("Setting changed"),
    "send": _l("Message sent"), "cancel": _l("Message cancelled"),
    "resend": _l("Message resent"), "edit": _l("Message edited"),
    "check": _l("Status checked"), "campaign": _l("Campaign created"),
    "campaign_pause": _l("Campaign paused"), "campaign_resume": _l("Campaign resumed"),
    "campaign_cancel": _l("Campaign cancelled"), "campaign_resend": _l("Failed messages resent"),
    "template_add": _l("Template added"), "template_edit": _l("Template changed"),
    "template_delete": _l("Template deleted"), "contact_add": _l("Contact added"),
    "contact_edit": _l("Contact changed"), "contact_delete": _l("Contact deleted"),
    "contact_import": _l("Contacts imported"), "group_add": _l("Group added"),
    "group_delete": _l("Group deleted"), "opt_out_add": _l("Number opted out"),
    "opt_out_remove": _l("Opt-out removed"), "opt_out_import": _l("Opt-outs imported"),
}
USER_ACTIONS = {"user_add", "user_enable", "user_disable", "role_change", "password_reset"}
_NUMBERED = {  # "campaign #12 'Winter sale': …", "Template #3 'Greeting'"
    "campaign": (re.compile(r"\bcampaign #(\d+)", re.IGNORECASE), "bulk.campaign", "campaign_id"),
    "template": (re.compile(r"\btemplate #(\d+)", re.IGNORECASE), "templates.edit",
                 "template_id"),
}
_WORD = re.compile(r"[\w.\-]+")


def action_label(code: str) -> str:
    """An action in words (a code we do not know yet, as it is)."""
    return str(ACTIONS.get(code, code))


@dataclass(frozen=True)
class Subject:
    """What an entry concerns: words to show and the page about it."""

    label: str
    url: str


def subject(entry: AuditEntry, usernames: Mapping[str, int]) -> Subject | None:
    """The message, campaign, template or account an entry is about, if it names one."""
    if entry.message_id:
        return Subject(f"#{entry.message_id}",
                       url_for("history.message", message_id=entry.message_id))
    detail = entry.detail or ""
    if entry.action.endswith("_delete"):
        return None  # gone: nothing to link to
    for kind, (pattern, endpoint, argument) in _NUMBERED.items():
        match = pattern.search(detail) if entry.action.startswith(kind) else None
        if match:
            return Subject(match.group(0), url_for(endpoint, **{argument: int(match.group(1))}))
    if entry.action in USER_ACTIONS:
        for word in _WORD.findall(detail):
            if word in usernames:
                return Subject(word, url_for("admin.users", _anchor=f"user-{usernames[word]}"))
    return None


@dataclass(frozen=True)
class AuditFilters:
    """Whose actions, which action, which days (local dates, both ends included)."""

    user_id: int | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> AuditFilters:
        """The filters of a query string; what does not parse is ignored."""
        action = args.get("action") or None
        return cls(user_id=arg_int("user", args=args),
                   action=action if action in ACTIONS else None,
                   date_from=arg_date("from", args), date_to=arg_date("to", args))

    def to_args(self) -> dict[str, str]:
        args = {"user": str(self.user_id or ""), "action": self.action or "",
                "from": self.date_from.isoformat() if self.date_from else "",
                "to": self.date_to.isoformat() if self.date_to else ""}
        return {key: value for key, value in args.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.to_args())

    def apply(self, statement: Select) -> Select:
        if self.user_id:
            statement = statement.where(AuditEntry.user_id == self.user_id)
        if self.action:
            statement = statement.where(AuditEntry.action == self.action)
        if self.date_from:
            statement = statement.where(AuditEntry.at >= local_day_start_utc(self.date_from))
        if self.date_to:
            end = local_day_start_utc(self.date_to + timedelta(days=1))
            statement = statement.where(AuditEntry.at < end)
        return statement


def audit_page(filters: AuditFilters, before: int | None,
               page_size: int = PAGE_SIZE) -> tuple[list[AuditEntry], int | None]:
    """Matching entries newest first, a keyset page before id ``before``; and the next one."""
    statement = filters.apply(select(AuditEntry)).order_by(AuditEntry.id.desc())
    if before is not None:
        statement = statement.where(AuditEntry.id < before)
    entries = list(db.session.scalars(statement.limit(page_size + 1)))
    older = entries[page_size - 1].id if len(entries) > page_size else None
    return entries[:page_size], older


def usernames() -> dict[str, int]:
    """Every account's name and id (accounts are few)."""
    return {name: user_id for user_id, name in db.session.execute(
        select(User.id, User.username).order_by(User.username))}


AUDIT_COLUMNS = ("time", "user", "action", "concerns", "detail")


def audit_table(filters: AuditFilters, batch: int = 5000) -> Table:
    """The filtered log as a spreadsheet, newest first."""
    return Table("audit", AUDIT_COLUMNS, _rows(filters, batch, usernames()))


def _rows(filters: AuditFilters, batch: int,
          names: Mapping[str, int]) -> Iterator[list[tuple[object, ...]]]:
    before = None
    while True:
        entries, _older = audit_page(filters, before, batch)
        if not entries:
            return
        rows = []
        for entry in entries:
            about = subject(entry, names)
            rows.append((local_iso(entry.at), entry.user.username if entry.user else _("system"),
                         action_label(entry.action), about.label if about else "",
                         entry.detail or ""))
        yield rows
        before = entries[-1].id
