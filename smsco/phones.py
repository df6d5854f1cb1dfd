"""Georgian phone numbers: parse every way people write them, output E.164 digits.

``599 44 54 48``, ``+995 599 44 54 48``, ``0599445448`` and ``995599445448``
all become ``995599445448``, the form the gateway expects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import PhoneNumberType

from .errors import ValidationError

DEFAULT_REGION = "GE"

# Separators between numbers: comma, semicolon, newline, tab. Spaces are
# handled separately because people also put spaces inside a number.
_LIST_SEPARATORS = re.compile(r"[,;\n\r\t]+")
# What a written phone number may contain besides digits.
_NOT_NUMBER_CHARS = re.compile(r"[^\d\s+\-().]")
# Most digit groups one number is written in: "+995 (599) 44 54 48" is five.
_MAX_GROUPS = 6
# The common shape: a Georgian mobile (5XXXXXXXX), bare or after +995. For it,
# phonenumbers.parse can only yield country code 995 and these nine digits (no
# trunk prefix or country code to strip). is_valid_number means "matches the
# general pattern and one type's pattern", and tries mobile last of ten types:
# checking the mobile pattern first, and falling back to is_valid_number, gives
# the same answers at a fraction of the cost (proved in tests/test_importing.py).
_GEORGIAN_MOBILE = re.compile(r"(\+995)?(5\d{8})")
_GE_METADATA = phonenumbers.PhoneMetadata.metadata_for_region("GE")
_GE_GENERAL = re.compile(_GE_METADATA.general_desc.national_number_pattern)
_GE_MOBILE = re.compile(_GE_METADATA.mobile.national_number_pattern)
# Kinds of valid numbers that cannot receive SMS: reason code and words.
NOT_FOR_SMS = {
    PhoneNumberType.FIXED_LINE: ("landline", "is a landline number: it cannot receive SMS."),
    PhoneNumberType.TOLL_FREE: ("service", "is a toll-free number: it cannot receive SMS."),
    PhoneNumberType.PREMIUM_RATE: ("service", "is a premium-rate number: it cannot receive SMS."),
    PhoneNumberType.SHARED_COST: ("service", "is a shared-cost number: it cannot receive SMS."),
    PhoneNumberType.UAN: ("service", "is a service number: it cannot receive SMS."),
    PhoneNumberType.VOICEMAIL: ("service", "is a voicemail number: it cannot receive SMS."),
}


@dataclass
class ParsedRecipients:
    """The outcome of parsing a list of numbers."""

    valid: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    # Why an invalid entry was refused, when it is more than "not a number":
    # raw entry -> reason code (``landline``, ``service``).
    reasons: dict[str, str] = field(default_factory=dict)


def normalize(raw: str, region: str = DEFAULT_REGION) -> str:
    """One number to gateway form (digits with country code); ``ValidationError`` if invalid.

    A valid number of a kind that cannot receive SMS (a landline, a toll-free
    or premium-rate line) is refused too, with ``reason`` saying which.
    """
    number, kind = _parse(raw, region)
    if kind in NOT_FOR_SMS:
        reason, words = NOT_FOR_SMS[kind]
        raise ValidationError(f"{raw.strip()!r} {words}", problems=[raw.strip()],
                              field="recipients", reason=reason)
    return number


def _parse(raw: str, region: str) -> tuple[str, int]:
    """A valid number in gateway form and its phonenumbers type; ``ValidationError`` if none."""
    candidate = raw.strip()
    if not candidate:
        raise ValidationError("The phone number is empty.", problems=[raw], field="recipients",
                              reason="empty")
    if _NOT_NUMBER_CHARS.search(candidate):
        raise _not_a_number(candidate)
    digits = re.sub(r"[^\d+]", "", candidate)
    # "995599445448" and "00995599445448" are international numbers written
    # without the plus sign; treat them as such.
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("995") and len(digits) == 12:
        digits = "+" + digits
    # "0599445448": a leading trunk zero before a 9-digit Georgian number.
    elif region == "GE" and digits.startswith("0") and len(digits) == 10:
        digits = digits[1:]
    mobile = _GEORGIAN_MOBILE.fullmatch(digits)
    if mobile and (mobile.group(1) or region == "GE"):
        national = mobile.group(2)
        if _GE_GENERAL.fullmatch(national) and _GE_MOBILE.fullmatch(national):
            return "995" + national, PhoneNumberType.MOBILE
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        raise _not_a_number(candidate) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(f"{candidate!r} is not a valid phone number.",
                              problems=[candidate], field="recipients", reason="invalid")
    return f"{number.country_code}{number.national_number}", phonenumbers.number_type(number)


def _not_a_number(candidate: str) -> ValidationError:
    return ValidationError(f"{candidate!r} is not a phone number.", problems=[candidate],
                           field="recipients", reason="invalid")


def split_numbers(text: str, region: str = DEFAULT_REGION) -> list[str]:
    """Split free text into number candidates.

    Commas, semicolons and line breaks always separate. Within one piece,
    spaces may separate numbers or digit groups of one number
    (``599 44 54 48``): the longest run of words that reads as one valid
    number is taken, so ``599 44 54 48 555 12 34 56`` is two numbers and a
    word that is no number is kept on its own to be reported.
    """
    pieces: list[str] = []
    for chunk in _LIST_SEPARATORS.split(text):
        words = chunk.split()
        start = 0
        while start < len(words):
            end = _longest_number_end(words, start, region)
            pieces.append(" ".join(words[start:end]))
            start = end
    return pieces


def _longest_number_end(words: list[str], start: int, region: str) -> int:
    """End index of the longest run of words from ``start`` forming a valid number."""
    for end in range(min(len(words), start + _MAX_GROUPS), start, -1):
        if end == start + 1 or _is_valid(" ".join(words[start:end]), region):
            return end
    return start + 1


def _is_valid(candidate: str, region: str) -> bool:
    """Whether the words read as one number (a landline too: it is one number, refused later)."""
    try:
        _parse(candidate, region)
    except ValidationError:
        return False
    return True


def parse_recipients(
    recipients: str | Iterable[str], region: str = DEFAULT_REGION
) -> ParsedRecipients:
    """Normalize many numbers, keeping order; collect invalid ones and duplicates."""
    if isinstance(recipients, str):
        candidates = split_numbers(recipients, region)
    else:
        candidates = []
        for item in recipients:
            candidates.extend(split_numbers(str(item), region))
    result = ParsedRecipients()
    seen: set[str] = set()
    for raw in candidates:
        try:
            number = normalize(raw, region)
        except ValidationError as error:
            result.invalid.append(raw)
            if error.reason in {"landline", "service"}:
                result.reasons[raw] = error.reason
            continue
        if number in seen:
            result.duplicates.append(raw)
        else:
            seen.add(number)
            result.valid.append(number)
    return result


def normalize_many(recipients: str | Iterable[str], region: str = DEFAULT_REGION) -> list[str]:
    """Normalize and de-duplicate; ``ValidationError`` naming every invalid entry."""
    parsed = parse_recipients(recipients, region)
    if parsed.invalid:
        names = ", ".join(repr(r) for r in parsed.invalid)
        raise ValidationError(
            f"Not valid phone numbers: {names}.", problems=parsed.invalid, field="recipients"
        )
    if not parsed.valid:
        raise ValidationError("No recipient given.", field="recipients")
    return parsed.valid
