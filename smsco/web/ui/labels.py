"""Words for codes, in the page's language: message states, gateway delivery statuses and
error codes, audit actions, roles; and the English texts the sending engine stores.

The ``smsco`` library and the engine (``sending``) stay in English and free of Flask; the
web layer translates by code here. Tables are built once per language (``per_language``):
a history page looks up a word per row.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import pgettext

from smsco import DeliveryStatus, text
from smsco.errors import ERROR_CODES
from smsco.errors import ValidationError as SmscoValidationError

from ..models import Role, State
from .formatting import tetri
from .i18n import per_language


def N_(message: str) -> str:  # the gettext convention for "mark only"
    """Mark a text for extraction; it is translated where it is shown."""
    return message


@per_language
def state_labels() -> dict[str, str]:
    """Each message state in words."""
    return {
        State.QUEUED: _("Queued"), State.SCHEDULED: _("Scheduled"), State.PAUSED: _("Paused"),
        State.SENDING: _("Sending"),
        State.SENT: _("Sent"), State.DELIVERED: _("Delivered"), State.FAILED: _("Failed"),
        State.UNKNOWN: _("Unknown"), State.CANCELED: _("Canceled"), State.SKIPPED: _("Skipped"),
    }


def state_label(state: str | None) -> str:
    """A message state in words ("" for none)."""
    return state_labels().get(state, state or "") if state else ""


@per_language
def _gateway_statuses() -> dict[int, str]:
    # A context of its own: the gateway's "Sent" (handed to the operator) is not our "Sent".
    return {
        DeliveryStatus.SENT: pgettext("gateway status", "Sent"),
        DeliveryStatus.DELIVERED: pgettext("gateway status", "Delivered"),
        DeliveryStatus.IN_PROCESS: pgettext("gateway status", "In process"),
        DeliveryStatus.FAILED: pgettext("gateway status", "Failed"),
        DeliveryStatus.DELETED: pgettext("gateway status", "Deleted"),
        DeliveryStatus.EXPIRED: pgettext("gateway status", "Expired"),
        DeliveryStatus.REJECTED: pgettext("gateway status", "Rejected"),
        DeliveryStatus.CANCELED: pgettext("gateway status", "Canceled"),
    }


def gateway_label(code: int | None) -> str:
    """The gateway's delivery status in words ("" when there is none)."""
    if code is None:
        return ""
    label = _gateway_statuses().get(code)
    return label if label is not None else _("Status %(code)s", code=code)


@per_language
def _gateway_errors() -> dict[int, str]:
    return {
        2904: _("SMS sending failed"),
        2905: _("Invalid username or password of the gateway account"),
        2906: _("Credit exhausted"),
        2907: _("Gateway unavailable"),
        2908: _("Invalid schedule date format"),
        2909: _("Unable to schedule"),
        2910: _("Username is empty"),
        2911: _("Password is empty"),
        2912: _("Recipient is empty"),
        2913: _("Message is empty"),
        2914: _("Sender ID is empty"),
        2915: _("One or more required fields are empty"),
    }


def gateway_error(code: int | None) -> str:
    """A gateway error code in words ("" when unknown)."""
    return _gateway_errors().get(code, "") if code is not None else ""


def error_text(error_code: int | None, stored: str | None) -> str:
    """Why a message failed: the gateway's code in words when there is one, else the
    engine's stored English text in the reader's language (as stored when unknown)."""
    return gateway_error(error_code) or stored_text(stored)


@per_language
def role_labels() -> dict[str, str]:
    """Each account role in words."""
    return {Role.ADMIN: _("Administrator"), Role.OPERATOR: _("Operator")}


@per_language
def audit_actions() -> dict[str, str]:
    """Each audit-log action in words."""
    return {
        "login": _("Logged in"), "logout": _("Logged out"),
        "user_add": _("Account added"), "user_enable": _("Account enabled"),
        "user_disable": _("Account disabled"), "role_change": _("Role changed"),
        "password_reset": _("Password reset"), "setting": _("Setting changed"),
        "send": _("Message sent"), "cancel": _("Message cancelled"),
        "resend": _("Message resent"), "edit": _("Message edited"),
        "check": _("Status checked"), "campaign": _("Campaign created"),
        "campaign_pause": _("Campaign paused"), "campaign_resume": _("Campaign resumed"),
        "campaign_cancel": _("Campaign cancelled"), "campaign_resend": _("Failed messages resent"),
        "template_add": _("Template added"), "template_edit": _("Template changed"),
        "template_delete": _("Template deleted"),
    }


def audit_action(action: str) -> str:
    """An audit-log action in words (the code itself when new)."""
    return audit_actions().get(action, action)


# -- texts the engine stores -------------------------------------------------------
# The sending engine writes English into error_text and the timeline (sending/*.py,
# bulk/campaigns.py); pages show them in the reader's language by their shape. A text of
# another shape (a newer wording, a library message) is shown as it was stored.
# tests/test_i18n.py feeds the engine's own outcomes through this table.

STORED_TEXTS = [(re.compile(pattern), msgid) for pattern, msgid in (
    (r"Queued to send now", N_("Queued to send now")),
    (r"Held here until its time", N_("Held here until its time")),
    (r"To be scheduled at the gateway", N_("To be scheduled at the gateway")),
    (r"Handed to the gateway", N_("Handed to the gateway")),
    (r"Accepted by the gateway \(mes_id (?P<id>[^,]*), (?P<credits>\d+) tetri\)",
     N_("Accepted by the gateway (ID %(id)s, %(credits)s)")),
    (r"Gateway status: (?P<status>.+)", N_("Gateway status: %(status)s")),
    (r"Cancelled by (?P<name>.+)", N_("Cancelled by %(name)s")),
    (r"Edited by (?P<name>.+), held to send now", N_("Edited by %(name)s, to send now")),
    (r"Edited by (?P<name>.+), held for its new time",
     N_("Edited by %(name)s, held for its new time")),
    (r"Resend of message #(?P<id>\d+) by (?P<name>.+)",
     N_("Resend of message #%(id)s by %(name)s")),
    (r"Resent as message #(?P<id>\d+) by (?P<name>.+)",
     N_("Resent as message #%(id)s by %(name)s")),
    (r"the system", N_("the system")),
    (r"The gateway says the credit is exhausted; waiting for credit before sending",
     N_("The gateway says the credit is exhausted; waiting for credit before sending")),
    (r"The gateway rejected the account; waiting until it accepts it again",
     N_("The gateway rejected the account; waiting until it accepts it again")),
    (r"Not sent: (?P<reason>.+); try (?P<try>\d+) of (?P<tries>\d+) in (?P<seconds>\d+) s",
     N_("Not sent: %(reason)s; try %(try)s of %(tries)s in %(seconds)s s")),
    (r"Not sent: (?P<reason>.+) after (?P<tries>\d+) tries",
     N_("Not sent: %(reason)s after %(tries)s tries")),
    (r"[Tt]he gateway is unavailable \(2907\)", N_("the gateway is unavailable (2907)")),
    (r"[Tt]he gateway could not be reached", N_("the gateway could not be reached")),
    (r"Failed: (?P<reason>.+) \((?P<code>\d+)\)", N_("Failed: %(reason)s (%(code)s)")),
    (r"Failed: (?P<reason>.+)", N_("Failed: %(reason)s")),
    (r"Refused before sending: (?P<reason>.+)", N_("Refused before sending: %(reason)s")),
    (r"(?P<reason>.+) It may have been sent; it will not be re-sent automatically\.",
     N_("%(reason)s It may have been sent; it will not be re-sent automatically.")),
    (r"Interrupted while sending; it may have been sent",
     N_("Interrupted while sending; it may have been sent")),
    (r"Interrupted while this message was being sent \(the dashboard stopped or could not "
     r"record the answer\); it may have been sent\. It will not be re-sent automatically\.",
     N_("Interrupted while this message was being sent (the dashboard stopped or could not "
        "record the answer); it may have been sent. It will not be re-sent automatically.")),
    (r"No final delivery status from the gateway after 72 hours",
     N_("No final delivery status from the gateway after 72 hours")),
    (r"Opted out of marketing messages", N_("Opted out of marketing messages")),
    (r"Unexpected error while sending", N_("Unexpected error while sending")),
)]
_ERROR_CODE_BY_TEXT = {text.lower(): code for code, (text, _cls) in ERROR_CODES.items()}
_STATUS_BY_LABEL = {status.label: status for status in DeliveryStatus}


def stored_text(stored: str | None) -> str:
    """An English text the engine stored, in the page's language ("" for none)."""
    if not stored:
        return ""
    code = _ERROR_CODE_BY_TEXT.get(stored.lower())
    if code is not None:
        return gateway_error(code)
    for pattern, msgid in STORED_TEXTS:
        match = pattern.fullmatch(stored)
        if match:
            values = {name: _piece(name, value) for name, value in match.groupdict().items()
                      if value is not None}
            return _(msgid, **values) if values else _(msgid)
    return stored


def _piece(name: str, value: str) -> str:
    """A part of a stored text: a status or a reason in words too; names and numbers as is."""
    if name == "status" and value in _STATUS_BY_LABEL:
        return gateway_label(_STATUS_BY_LABEL[value])
    if name in ("reason", "name"):
        return stored_text(value)
    if name == "credits":
        return tetri(int(value))
    return value


# -- the library's validation errors ---------------------------------------------------

_PROBLEM_AT = re.compile(r"(?P<char>.+) at position (?P<position>\d+)")


def _character(described: str) -> str:
    """A refused character as the library described it, in words where it used words."""
    return {"line break": _("line break"), "tab": _("tab")}.get(described, described)


def validation_text(error: SmscoValidationError) -> str:
    """A ``smsco.ValidationError`` in the page's language, by the field it concerns."""
    problems = [problem for problem in error.problems if problem and problem.strip()]
    if error.field == "message":
        if not problems:
            return _("The message is empty.")
        found = [_PROBLEM_AT.fullmatch(problem) for problem in problems[:20]]
        listed = ", ".join(
            _("%(char)s at position %(position)s", char=_character(match["char"]),
              position=match["position"]) if match else problem
            for match, problem in zip(found, problems, strict=False))
        if len(problems) > 20:
            listed += " " + _("and %(num)d more", num=len(problems) - 20)
        extra = text.allowed_characters() - text.ALLOWED_CHARACTERS
        marks = " ".join(['. _ - "', *sorted(extra)])
        return _("The message has characters the gateway does not accept (only Latin "
                 "letters, digits, space and %(marks)s are allowed): %(list)s",
                 marks=marks, list=listed)
    if error.field == "recipients":
        if not problems:
            return _("Enter at least one phone number.")
        if len(problems) == 1:
            return _("“%(number)s” is not a valid phone number.", number=problems[0].strip())
        return _("Not valid phone numbers: %(numbers)s.",
                 numbers=", ".join(problem.strip() for problem in problems))
    if error.field == "sender":
        return _("The sender ID “%(sender)s” must be 1 to 11 Latin letters or digits.",
                 sender=problems[0] if problems else "")
    if error.field == "schedule":
        return _("The scheduled time is in the past.")
    return str(error)
