"""One answer for "how will the gateway take this text?", shared by the server and the browser.

The live counter (``static/message.js``) shows only what :func:`analyze`
returns through ``POST /text/analyze``, so the browser and the forms agree
exactly: counts are Python ``len()`` (code points), rules are ``smsco.text``.
"""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import format_number, ngettext

from smsco import text
from smsco.errors import ValidationError

from ..admin.settings import optout_footer, with_footer

#: A placeholder filled from a contact field in bulk sends: ``{name}``.
PLACEHOLDER = re.compile(r"\{\s*([A-Za-z0-9_]+)\s*\}")


def price_per_part() -> int:
    """Tetri per part per recipient (``SMSCO_PRICE_PER_PART``)."""
    return int(current_app.config.get("SMSCO_PRICE_PER_PART") or text.PRICE_PER_PART)


def part_capacity(parts: int) -> int:
    """How many characters fit in ``parts`` parts (0 for none)."""
    if parts <= 0:
        return 0
    return text.SINGLE_PART_LENGTH if parts == 1 else parts * text.MULTI_PART_LENGTH


def max_parts() -> int:
    """The most SMS parts one message may have (``SMSCO_MAX_PARTS``)."""
    return int(current_app.config["SMSCO_MAX_PARTS"])


def too_long(parts: int) -> str | None:
    """Why a text of ``parts`` parts may not be sent, in words; None when it may."""
    limit = max_parts()
    if parts <= limit:
        return None
    return ngettext(
        "The message is too long: at most %(num)s SMS part (%(characters)s characters); "
        "this text has %(parts)s.",
        "The message is too long: at most %(num)s SMS parts (%(characters)s characters); "
        "this text has %(parts)s.",
        limit, characters=format_number(part_capacity(limit)), parts=format_number(parts))


def length_problem(body: str, footer: str = "") -> str | None:
    """:func:`too_long` for ``body`` with the footer it will be sent with.

    Placeholders count as written; a bulk send checks each message again once
    its placeholders are filled (``bulk.services.preview``).
    """
    return too_long(text.segments(with_footer(body, footer)))


def placeholder_names(body: str) -> list[str]:
    """The placeholder names in ``body``, in order of first use."""
    return list(dict.fromkeys(name.lower() for name in PLACEHOLDER.findall(body)))


def mask_placeholders(body: str) -> str:
    """``body`` with each placeholder replaced by as many ``x``: positions stay where they were."""
    return PLACEHOLDER.sub(lambda match: "x" * len(match.group()), body)


def check_with_placeholders(body: str) -> str:
    """``text.check_message`` that lets ``{name}`` placeholders through; returns ``body``."""
    text.check_message(mask_placeholders(body))
    return body


def transliterate_keeping_placeholders(body: str, style: str) -> str:
    """``text.transliterate`` that leaves ``{name}`` placeholders as they are."""
    found = [match.group() for match in PLACEHOLDER.finditer(body)]
    if not found:
        return text.transliterate(body, style, capitalize="sentences")
    # Stand-ins of Latin letters and digits pass through transliteration unchanged
    # (mixed case, so an all-capitals word around them stays as it is).
    numbers = iter(range(len(found)))
    masked = PLACEHOLDER.sub(lambda _match: f"Zq{next(numbers)}qZ", body)
    result = text.transliterate(masked, style, capitalize="sentences")
    return re.sub(r"Zq(\d+)qZ", lambda match: found[int(match.group(1))], result)


def analyze(body: str, *, style: str = "national", footer: bool = False,
            placeholders: bool = False) -> dict[str, object]:
    """Everything the live counter shows for ``body``.

    ``footer``: count the opt-out footer as the server will append it.
    ``placeholders``: ``{name}`` placeholders are allowed (bulk pages).
    """
    if style not in text.STYLES:
        raise ValidationError(f"Unknown style {style!r}.", field="style")
    footer_text = optout_footer() if footer else ""
    full = with_footer(body, footer_text)
    checked = mask_placeholders(body) if placeholders else body
    invalid = text.invalid_characters(checked)
    if invalid:
        latin = (transliterate_keeping_placeholders(body, style) if placeholders
                 else text.transliterate(body, style, capitalize="sentences"))
    else:
        latin = body
    parts = text.segments(full)
    latin_full = with_footer(latin, footer_text)
    return {
        "characters": len(full),
        "message_characters": len(body),
        "parts": parts,
        "over": len(full) - part_capacity(parts - 1) if parts > 1 else 0,
        "left": part_capacity(parts) - len(full),
        "price_per_part": price_per_part(),
        "cost_per_recipient": text.cost(full, 1, price_per_part()),
        "invalid": [[position, char] for position, char in invalid],
        "needs_transliteration": bool(invalid),
        "style": style,
        "transliterated": latin,
        "transliterated_characters": len(latin_full),
        "transliterated_parts": text.segments(latin_full),
        "footer": footer_text,
        "placeholders": placeholder_names(body),
        "max_parts": max_parts(),
        "too_long": too_long(parts),
    }
