"""The gateway's rules for message text: allowed characters, parts and cost.

The gateway accepts only Latin letters, digits, space and ``. _ - "``
(DESIGN §2). A message of up to 160 characters is one SMS; a longer one is
split into parts of 153 characters. Each part costs 5 tetri per recipient.
"""

from __future__ import annotations

import string

from .errors import ValidationError

#: Characters the gateway accepts in a message.
ALLOWED_CHARACTERS = frozenset(string.ascii_letters + string.digits + ' ._-"')

#: Characters in a single-part SMS, and in each part of a longer one.
SINGLE_PART_LENGTH = 160
MULTI_PART_LENGTH = 153

#: Price of one part to one recipient, in tetri.
PRICE_PER_PART = 5


def invalid_characters(text: str) -> list[tuple[int, str]]:
    """Every character the gateway would refuse, with its 0-based position."""
    return [(i, ch) for i, ch in enumerate(text) if ch not in ALLOWED_CHARACTERS]


def describe_character(ch: str) -> str:
    """A character shown so a person can see it, even if it is invisible."""
    if ch == "\n":
        return "line break"
    if ch == "\t":
        return "tab"
    if ch.isprintable() and not ch.isspace():
        return f"'{ch}'"
    return f"U+{ord(ch):04X}"


def check_message(text: str) -> str:
    """Return ``text`` if the gateway would accept it; raise ``ValidationError``.

    The error lists each offending character with its 1-based position.
    """
    if not text or not text.strip():
        raise ValidationError("The message is empty.", field="message")
    bad = invalid_characters(text)
    if bad:
        problems = [f"{describe_character(ch)} at position {i + 1}" for i, ch in bad]
        raise ValidationError(
            "The message has characters the gateway does not accept "
            '(only Latin letters, digits, space and . _ - " are allowed): '
            + ", ".join(problems[:20])
            + (f" and {len(problems) - 20} more" if len(problems) > 20 else ""),
            problems=problems,
            field="message",
        )
    return text


def segments(text: str) -> int:
    """Number of SMS parts the text takes: 160 characters in one, 153 per part beyond."""
    length = len(text)
    if length <= SINGLE_PART_LENGTH:
        return 1
    return -(-length // MULTI_PART_LENGTH)


def cost(text: str, recipients: int = 1, price_per_part: int = PRICE_PER_PART) -> int:
    """What sending ``text`` to ``recipients`` numbers costs, in tetri."""
    return segments(text) * recipients * price_per_part
