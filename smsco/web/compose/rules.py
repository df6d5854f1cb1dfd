"""What every way of sending checks before anything is queued: numbers, text, sender ID.

The compose form and the JSON API both call these, so a number or a character
refused in one is refused in the other, for the same reason. A refusal names
each offender (a number with its position in the list, a character with its
position in the text), so a caller can show it beside its field or list it in
an API answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from smsco import ValidationError as SmscoValidationError
from smsco import phones, text
from smsco.client import check_sender

from ..text_analysis.analysis import (
    PLACEHOLDER,
    length_problem,
    mask_placeholders,
    transliterate_keeping_placeholders,
)
from ..ui.labels import validation_text

NUMBER_REASONS = {"landline": _l("landline, cannot receive SMS"),
                  "service": _l("service number, cannot receive SMS")}


@dataclass(frozen=True)
class Refusal:
    """One refused input: the field, plain words, and where in the field it is."""

    field: str
    message: str
    index: int | None = None  # position in a list (recipients)
    position: int | None = None  # 1-based position in a text
    value: str | None = None  # the refused number or character


class Refused(Exception):
    """A request refused whole; ``refusals`` names every offender."""

    def __init__(self, refusals: Sequence[Refusal]):
        self.refusals = list(refusals)
        super().__init__(" ".join(r.message for r in self.refusals))


class TextRefused(Refused):
    """A refused text; ``characters`` has one refusal per refused character."""

    def __init__(self, refusals: Sequence[Refusal], characters: Sequence[Refusal]):
        super().__init__(refusals)
        self.characters = list(characters)


# -- recipients --------------------------------------------------------------------


def invalid_numbers_message(parsed: phones.ParsedRecipients) -> str:
    """One sentence naming every refused number, with the reason where it is not a typo."""
    named = [f"{raw} ({NUMBER_REASONS[parsed.reasons[raw]]})" if raw in parsed.reasons else raw
             for raw in parsed.invalid]
    return _("Not valid phone numbers: %(numbers)s. Write Georgian mobile numbers as "
             "599 12 34 56 or with +995.", numbers=", ".join(named))


def recipients_from_text(raw: str) -> list[str]:
    """The numbers of a Recipients field (any separators), normalized and de-duplicated."""
    parsed = phones.parse_recipients(raw or "")
    if parsed.invalid:
        raise Refused([Refusal("recipients", invalid_numbers_message(parsed))])
    if not parsed.valid:
        raise Refused([Refusal("recipients", _("Enter at least one phone number."))])
    return parsed.valid


def recipients_from_list(items: Sequence[str]) -> list[str]:
    """One number per item (as the compose field writes them), normalized and de-duplicated.

    Every refused item is named with its index, its text and the reason.
    """
    numbers: list[str] = []
    refusals = []
    for index, raw in enumerate(items):
        try:
            number = phones.normalize(raw)
        except SmscoValidationError as error:
            reason = NUMBER_REASONS.get(error.reason or "")
            words = str(reason) if reason else "not a valid phone number"
            refusals.append(Refusal("recipients", f"{raw!r}: {words}. Write Georgian mobile "
                                    "numbers as 599 12 34 56 or with +995, others with +country "
                                    "code.", index=index, value=raw))
            continue
        if number not in numbers:
            numbers.append(number)
    if refusals:
        raise Refused(refusals)
    if not numbers:
        raise Refused([Refusal("recipients", _("Give at least one phone number."))])
    return numbers


# -- text --------------------------------------------------------------------------


def character_refusals(body: str, field: str = "text") -> list[Refusal]:
    """One refusal per character the gateway would refuse, with its 1-based position."""
    return [Refusal(field, f"{text.describe_character(char)} at position {position + 1} is not "
                    "accepted by the gateway", position=position + 1, value=char)
            for position, char in text.invalid_characters(body)]


def message_text(body: str, *, placeholders: bool = False) -> str:
    """``body`` if the gateway would accept it (``{name}`` placeholders allowed when asked).

    The refusal's message is compose's sentence; its ``characters`` attribute
    lists each refused character for an API answer.
    """
    checked = mask_placeholders(body) if placeholders else body
    try:
        text.check_message(checked)
    except SmscoValidationError as error:
        refusal = Refusal("message", validation_text(error))
        if not placeholders and PLACEHOLDER.search(body or ""):
            refusal = Refusal("message", _("Placeholders like {name} only work on the bulk "
                                           "page; here, write the text in full.") + f" {error}")
        raise TextRefused([refusal], character_refusals(checked)) from None
    return body


def gateway_text(body: str, *, transliterate: str | None = None,
                 placeholders: bool = False) -> str:
    """The text as it will be sent: transliterated first when asked (a style name), then checked."""
    if transliterate and text.invalid_characters(mask_placeholders(body) if placeholders
                                                 else body):
        body = (transliterate_keeping_placeholders(body, transliterate) if placeholders
                else text.transliterate(body, transliterate, capitalize="sentences"))
    message_text(body, placeholders=placeholders)
    problem = length_problem(body)  # SMSCO_MAX_PARTS, as every form checks it
    if problem:
        raise TextRefused([Refusal("message", problem)], [])
    return body


# -- sender ------------------------------------------------------------------------


def sender_id(sender: str | None) -> str | None:
    """The sender ID (None for the gateway's default) if agreed and well formed."""
    sender = (sender or "").strip() or None
    agreed = current_app.config["SMSCO_SENDERS"]
    if agreed and sender not in agreed:
        raise Refused([Refusal("sender", _("Choose one of the agreed sender IDs: %(senders)s",
                                           senders=", ".join(agreed)), value=sender)])
    try:
        return check_sender(sender)
    except SmscoValidationError as error:
        raise Refused([Refusal("sender", validation_text(error), value=sender)]) from None
