"""The gateway's rules for message text: allowed characters, transliteration, parts and cost.

The gateway accepts only Latin letters, digits, space and ``. _ - "``
(DESIGN §2). An operator whose contract allows more sets ``SMSCO_EXTRA_CHARS``
(for example ``,!?``), read once at import; a web app may call
:func:`set_extra_characters` from its own config instead. Every check here goes
through :func:`allowed_characters`, so the widening lives in one place.

:func:`transliterate` turns any text into text the gateway accepts:

* Georgian (Mkhedruli, Mtavruli, Asomtavruli, Nuskhuri) uses our own tables,
  in two styles: ``national`` (the 2002 national romanization without
  apostrophes) and ``informal`` (how people text Georgian in Latin letters).
* Cyrillic goes through ``anyascii`` with a few overrides: ь and ъ are dropped
  (an apostrophe would be dropped anyway, and "obem" reads better than
  "ob em"). A text containing і, ї, є or ґ is read as Ukrainian and follows
  the Ukrainian national system (г → h, и → y, Київ → Kyiv).
* Everything else (accented Latin, Greek, CJK, ...) goes through ``anyascii``.
* Punctuation follows :data:`PUNCTUATION`. Sentence punctuation (``, ! ? ;``)
  becomes ``.``: common in Latin Georgian SMS, and keeps "1,5" as "1.5".
  Curly quotes and guillemets become ``"``; apostrophes are dropped
  ("don't" → "dont"); dashes, colons and brackets become ``-`` (but 10:30 →
  10.30); signs and currencies become words (``&`` → "and", ₾ → "GEL").
  Anything unmapped (emoji, symbols, control characters) is dropped.
* Capitals are kept: "Жук" → "Zhuk", and in an all-capital word "ЖУК" → "ZHUK".

Text the gateway already accepts is returned unchanged. Otherwise the whole
text is tidied: whitespace runs become one space, no leading or trailing
space, and punctuation replaced next to other punctuation merges into one
mark ("?!" → ".", but a real "..." stays).

A message of up to 160 characters is one SMS; a longer one is split into
parts of 153 characters. Each part costs 5 tetri per recipient. An empty text
counts as one part, as the gateway's counter shows it.
"""

from __future__ import annotations

import os
import re
import string
import unicodedata
from collections.abc import Iterable

from anyascii import anyascii

from .errors import ValidationError

#: Characters the gateway accepts in a message under the standard contract.
ALLOWED_CHARACTERS = frozenset(string.ascii_letters + string.digits + ' ._-"')

#: Environment variable listing extra characters the operator's contract allows.
EXTRA_CHARACTERS_VARIABLE = "SMSCO_EXTRA_CHARS"

#: Characters in a single-part SMS, and in each part of a longer one.
SINGLE_PART_LENGTH = 160
MULTI_PART_LENGTH = 153

#: Price of one part to one recipient, in tetri.
PRICE_PER_PART = 5

#: Transliteration styles for Georgian.
STYLES = ("national", "informal")

#: Georgian letters, 2002 national romanization with the apostrophes removed
#: (the gateway refuses them): the "SMS national" column of GEORGIAN.md.
GEORGIAN_NATIONAL: dict[str, str] = {
    "ა": "a", "ბ": "b", "გ": "g", "დ": "d", "ე": "e", "ვ": "v", "ზ": "z",
    "თ": "t", "ი": "i", "კ": "k", "ლ": "l", "მ": "m", "ნ": "n", "ო": "o",
    "პ": "p", "ჟ": "zh", "რ": "r", "ს": "s", "ტ": "t", "უ": "u", "ფ": "p",
    "ქ": "k", "ღ": "gh", "ყ": "q", "შ": "sh", "ჩ": "ch", "ც": "ts", "ძ": "dz",
    "წ": "ts", "ჭ": "ch", "ხ": "kh", "ჯ": "j", "ჰ": "h",
}  # fmt: skip

#: Georgian letters as people text them in Latin letters: the first choice of
#: the "informal" column of GEORGIAN.md (second choices in comments).
GEORGIAN_INFORMAL: dict[str, str] = {
    "ა": "a", "ბ": "b", "გ": "g", "დ": "d", "ე": "e", "ვ": "v", "ზ": "z",
    "თ": "t", "ი": "i", "კ": "k", "ლ": "l", "მ": "m", "ნ": "n", "ო": "o",
    "პ": "p",
    "ჟ": "j",  # or zh
    "რ": "r", "ს": "s", "ტ": "t", "უ": "u",
    "ფ": "f",  # or p
    "ქ": "q",  # or k
    "ღ": "g",  # or gh
    "ყ": "y",  # or k
    "შ": "sh", "ჩ": "ch",
    "ც": "c",  # or ts
    "ძ": "dz",
    "წ": "w",  # or ts
    "ჭ": "ch",
    "ხ": "x",  # or kh
    "ჯ": "j", "ჰ": "h",
}  # fmt: skip

#: Archaic and dialect Mkhedruli letters, the same in both styles (after the
#: Library of Congress romanization, without diacritics; signs with no sound
#: of their own are dropped).
GEORGIAN_ARCHAIC: dict[str, str] = {
    "ჱ": "e",  # he (ē)
    "ჲ": "y",  # hie
    "ჳ": "w",  # we
    "ჴ": "q",  # har
    "ჵ": "o",  # hoe (ō)
    "ჶ": "f",  # fi
    "ჷ": "e",  # yn (ə, Svan)
    "ჸ": "",  # elifi: a glottal stop, written as an apostrophe
    "ჹ": "g",  # turned gan
    "ჺ": "",  # ain
    "ჼ": "n",  # modifier letter nar
    "ჽ": "ae",  # aen (ä, Svan)
    "ჾ": "",  # hard sign
    "ჿ": "w",  # labial sign
}

#: Russian letters where anyascii's output is not what we want.
RUSSIAN: dict[str, str] = {"ь": "", "ъ": ""}

#: Ukrainian national system (2010) letters that differ from the Russian reading.
UKRAINIAN: dict[str, str] = {
    "г": "h", "ґ": "g", "и": "y", "і": "i", "ї": "i", "є": "ie", "й": "i",
    "ю": "iu", "я": "ia", "ь": "",
}  # fmt: skip

#: Ukrainian letters read differently at the start of a word (Юрій → Yurii).
UKRAINIAN_WORD_INITIAL: dict[str, str] = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}

#: Letters found in Ukrainian (and Belarusian) but not Russian.
_UKRAINIAN_MARKERS = frozenset("іїєґІЇЄҐ")

#: Characters the gateway refuses, and what to write instead. Unlisted ones are
#: dropped. In a value, a lone "." or "-" is a soft mark: it merges with the
#: marks around it, vanishes at the start of the text (a trailing "-" too) and
#: next to a mark already in the text. Spaces in a value only separate words.
PUNCTUATION: dict[str, str] = {
    # Double quotes and guillemets: the straight quote is the one the gateway has.
    "“": '"', "”": '"', "„": '"', "‟": '"', "«": '"', "»": '"', "‹": '"', "›": '"',
    "″": '"', "〝": '"', "〞": '"', "＂": '"',
    # Apostrophes and single quotes are dropped: "dont" reads better than "don t".
    "'": "", "’": "", "‘": "", "‚": "", "‛": "", "ʼ": "", "ʻ": "", "`": "", "´": "",
    "′": "",
    # Dashes, hyphens and minus.
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "⁃": "-",
    "﹘": "-", "﹣": "-", "－": "-", "•": "-", "·": "-", "/": "-", "\\": "-", "|": "-",
    # An ellipsis stays three real dots.
    "…": "...", "⋯": "...",
    # Sentence punctuation ends a sentence.
    ",": ".", "!": ".", "?": ".", ";": ".", "‼": ".", "⁇": ".", "⁈": ".", "⁉": ".",
    "，": ".", "！": ".", "？": ".", "；": ".", "。": ".", "、": ".", "،": ".", "؟": ".",
    "჻": ".", "¡": "", "¿": "",
    # A colon introduces, like a dash ("Note: x" → "Note - x"; 10:30 → 10.30).
    ":": " - ", "：": " - ",
    # Brackets set off an aside, like dashes.
    "(": " - ", ")": " - ", "[": " - ", "]": " - ", "{": " - ", "}": " - ",
    "→": " - ", "←": " - ",
    # Signs read out as words.
    "&": " and ", "+": " plus ", "%": " percent ", "@": " at ", "=": " equals ",
    "#": "N", "№": "N", "×": "x",
    # Currencies by their ISO code.
    "₾": " GEL ", "€": " EUR ", "$": " USD ", "£": " GBP ", "₽": " RUB ", "₴": " UAH ",
}  # fmt: skip

# Markers used while cleaning, from Unicode's private-use area: input characters
# from that area are always dropped, so they cannot be confused with these.
_SOFT_DOT = "\ue000"
_SOFT_DASH = "\ue001"
_SOFT_SPACE = "\ue002"
_SOFT_MARKS = frozenset(_SOFT_DOT + _SOFT_DASH + _SOFT_SPACE)
_GAP = re.compile(f"[ {_SOFT_DOT}{_SOFT_DASH}{_SOFT_SPACE}]+")
# A run of letters; digits and "_" are not part of a word.
_WORD = re.compile(r"([^\W\d_]+)")

_extra_characters: frozenset[str] = frozenset()


def set_extra_characters(chars: str) -> frozenset[str]:
    """Allow ``chars`` in messages on top of the standard set; return what was added.

    Replaces any earlier extras (``""`` restores the standard rule). Control,
    format and whitespace characters are never allowed: they are ignored.
    """
    global _extra_characters
    _extra_characters = frozenset(
        ch
        for ch in chars
        if ch not in ALLOWED_CHARACTERS and unicodedata.category(ch)[0] not in "CZ"
    )
    return _extra_characters


def allowed_characters() -> frozenset[str]:
    """Every character the gateway accepts: the standard set plus the extras."""
    return ALLOWED_CHARACTERS | _extra_characters


set_extra_characters(os.environ.get(EXTRA_CHARACTERS_VARIABLE, ""))


def invalid_characters(text: str) -> list[tuple[int, str]]:
    """Every character the gateway would refuse, with its 0-based position."""
    allowed = allowed_characters()
    return [(i, ch) for i, ch in enumerate(text) if ch not in allowed]


def transliteration_needed(text: str) -> bool:
    """Whether the gateway would refuse ``text`` as it is."""
    return bool(invalid_characters(text))


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
        marks = " ".join(['. _ - "', *sorted(_extra_characters)])
        raise ValidationError(
            "The message has characters the gateway does not accept "
            f"(only Latin letters, digits, space and {marks} are allowed): "
            + ", ".join(problems[:20])
            + (f" and {len(problems) - 20} more" if len(problems) > 20 else ""),
            problems=problems,
            field="message",
        )
    return text


# Georgian (Mkhedruli) letters; upper() turns one into its Mtavruli capital,
# which the tables render in title case.
_MKHEDRULI = "\u10d0-\u10fa\u10fd-\u10ff"
_WORD_START = re.compile(rf"(?<!\w)([{_MKHEDRULI}])")
CAPITALIZE = (None, "sentences", "words")


def _capitalize_georgian(text: str, mode: str, allowed: frozenset[str]) -> str:
    """Capitalize Georgian letters that start a word, or a sentence of the output.

    A sentence ends where the output will have one: at ``. ! ? …`` and at
    ``, ;`` unless the gateway takes those as they are (they become ``.``).
    """
    if mode == "words":
        return _WORD_START.sub(lambda m: m.group(1).upper(), text)
    ends = ".!?…" + "".join(ch for ch in ",;" if ch not in allowed)
    sentence = re.compile(rf"((?:^|[{re.escape(ends)}]\s+|\n)[^\w{_MKHEDRULI}]*)([{_MKHEDRULI}])")
    return sentence.sub(lambda m: m.group(1) + m.group(2).upper(), text)


def transliterate(text: str, style: str = "national", capitalize: str | None = None) -> str:
    """``text`` rewritten so the gateway accepts it; unchanged if it already does.

    ``style`` chooses the Georgian table: ``"national"`` or ``"informal"``.
    Georgian has no capitals, so a raw transliteration reads as lower case.
    ``capitalize="sentences"`` capitalizes a Georgian letter that starts a
    sentence (for message text); ``"words"`` one that starts a word (for names
    and cities). Letters of scripts with case keep the case they were written
    in. The default (``None``) is the exact, raw form.
    """
    if style not in STYLES:
        raise ValueError(f"Unknown style {style!r}; use one of: {', '.join(STYLES)}")
    if capitalize not in CAPITALIZE:
        raise ValueError(f"Unknown capitalize {capitalize!r}; use one of: {CAPITALIZE}")
    if not transliteration_needed(text):
        return text
    text = unicodedata.normalize("NFC", text)
    ukrainian = not _UKRAINIAN_MARKERS.isdisjoint(text)
    allowed = allowed_characters()
    if capitalize:
        text = _capitalize_georgian(text, capitalize, allowed)
    pieces = []
    # re.split with a group alternates: text between words, a word, ...
    for index, part in enumerate(_WORD.split(text)):
        if index % 2:
            pieces.append(_transliterate_word(part, style, ukrainian, allowed))
        else:
            pieces.append(_transliterate_between_words(part, allowed))
    return _tidy("".join(pieces))


def _transliterate_word(word: str, style: str, ukrainian: bool, allowed: frozenset[str]) -> str:
    """A run of letters in Latin letters, keeping its capitals."""
    all_capitals = sum(ch.isupper() for ch in word) >= 2 and not any(ch.islower() for ch in word)
    out = []
    for position, ch in enumerate(word):
        if ch in allowed:
            out.append(ch)
            continue
        latin = _latin_letter(ch, style, ukrainian, position == 0)
        if all_capitals:
            latin = latin.upper()
        elif ch.isupper():
            # Upper the first letter only: "Sh" from our tables, "XII" from anyascii stays.
            latin = latin[:1].upper() + latin[1:]
        out.append("".join(_replace_character(c, allowed) for c in latin))
    return "".join(out)


def _latin_letter(ch: str, style: str, ukrainian: bool, word_start: bool) -> str:
    """One letter in Latin letters; our tables give lower case, anyascii keeps the case."""
    lower = ch.lower()
    mkhedruli = _GEORGIAN_TO_MKHEDRULI.get(lower, _GEORGIAN_TO_MKHEDRULI.get(ch))
    if mkhedruli is not None:
        return _GEORGIAN_TABLES[style].get(mkhedruli, "")
    if ukrainian:
        if word_start and lower in UKRAINIAN_WORD_INITIAL:
            return UKRAINIAN_WORD_INITIAL[lower]
        if lower in UKRAINIAN:
            return UKRAINIAN[lower]
    if lower in RUSSIAN:
        return RUSSIAN[lower]
    return anyascii(ch)


def _transliterate_between_words(part: str, allowed: frozenset[str]) -> str:
    """Spaces, digits and punctuation between words, replaced one by one."""
    out = []
    for i, ch in enumerate(part):
        before, after = part[i - 1 : i], part[i + 1 : i + 2]
        if ch in allowed:
            out.append(_replace_character(ch, allowed))
        elif ch == ":" and before.isdecimal() and after.isdecimal():
            out.append(_SOFT_DOT)  # a time such as 10:30 reads best as 10.30
        elif PUNCTUATION.get(ch) == "-" and after.isdecimal() and not before.isdecimal():
            out.append("-")  # a minus sign ("−5"), kept as it is
        else:
            out.append(_replace_character(ch, allowed))
    return "".join(out)


def _replace_character(ch: str, allowed: frozenset[str]) -> str:
    """What one character becomes: itself, its PUNCTUATION entry, anyascii's reading, or ""."""
    if ch.isspace():
        return " "
    if ch in allowed:
        return ch
    if ch in PUNCTUATION:
        value = PUNCTUATION[ch].replace(" ", _SOFT_SPACE)
        value = re.sub(r"(?<!\.)\.(?!\.)", _SOFT_DOT, value)
        value = re.sub(r"(?<!-)-(?!-)", _SOFT_DASH, value)
        return "".join(c for c in value if c in allowed or c in _SOFT_MARKS)
    if unicodedata.category(ch)[0] in "LNM":
        # anyascii's output is ASCII, so this recursion stops after one level.
        return "".join(_replace_character(c, allowed) for c in anyascii(ch))
    return ""


def _tidy(text: str) -> str:
    """Turn each run of spaces and soft marks into what the gateway gets."""

    def render(match: re.Match[str]) -> str:
        start, end = match.span()
        return _render_gap(match.group(), text[start - 1 : start], text[end : end + 1])

    return _GAP.sub(render, text)


def _render_gap(gap: str, before: str, after: str) -> str:
    """One run of spaces and soft marks, given the characters on either side ("" at an end)."""
    # A mark already in the text (an ellipsis, a dash) makes a soft one next to it
    # redundant ("...?" → "..."), unless a space stands between them ("b, -5").
    beside_mark = _is_mark(before) or (_is_mark(after) and not gap.endswith(" "))
    if _SOFT_DOT in gap and not beside_mark:
        return _render_dot(gap, before, after)
    if _SOFT_DASH in gap and not beside_mark:
        return _render_dash(gap, before, after)
    if not before or not after:
        return ""  # no leading or trailing space
    # A space from a PUNCTUATION value only separates words ("5€" → "5 EUR").
    spaced = " " in gap or (_SOFT_SPACE in gap and before.isalnum() and after.isalnum())
    return " " if spaced else ""


def _render_dot(gap: str, before: str, after: str) -> str:
    """A gap holding a soft dot: one "." (none at the start), then a space if one was there."""
    if not before:
        return ""
    rest = gap[gap.index(_SOFT_DOT) :]
    # "Hi,there" → "Hi. there", but "1,5" → "1.5".
    if after and (_has_space(rest) or (before.isalpha() and after.isalpha())):
        return ". "
    return "."


def _render_dash(gap: str, before: str, after: str) -> str:
    """A gap holding a soft dash: one "-", spaced as the text around it was."""
    if not before or not after:
        return ""
    space_after = _has_space(gap[gap.rindex(_SOFT_DASH) + 1 :])
    space_before = _has_space(gap[: gap.index(_SOFT_DASH)])
    return (" " if space_before else "") + "-" + (" " if space_after else "")


def _has_space(gap: str) -> bool:
    """Whether part of a gap holds a space, from the text or from a PUNCTUATION value."""
    return " " in gap or _SOFT_SPACE in gap


def _is_mark(ch: str) -> bool:
    """Whether ``ch`` is punctuation that already separates (not a letter, digit or quote)."""
    return bool(ch) and not ch.isalnum() and ch not in '"_'


def _georgian_to_mkhedruli() -> dict[str, str]:
    """Every Georgian letter (all four scripts) mapped to its Mkhedruli form."""
    mapping = {ch: ch for ch in {**GEORGIAN_NATIONAL, **GEORGIAN_ARCHAIC}}
    for first, last in ((0x10A0, 0x10CF), (0x1C90, 0x1CBF), (0x2D00, 0x2D2F)):
        for code in range(first, last + 1):
            name = unicodedata.name(chr(code), "")
            if "LETTER " not in name:
                continue
            # "GEORGIAN MTAVRULI CAPITAL LETTER AN" and the like → "GEORGIAN LETTER AN".
            mkhedruli_name = "GEORGIAN LETTER " + name.split("LETTER ")[1]
            try:
                mapping[chr(code)] = unicodedata.lookup(mkhedruli_name)
            except KeyError:
                continue
    return mapping


_GEORGIAN_TO_MKHEDRULI = _georgian_to_mkhedruli()
_GEORGIAN_TABLES = {
    "national": {**GEORGIAN_NATIONAL, **GEORGIAN_ARCHAIC},
    "informal": {**GEORGIAN_INFORMAL, **GEORGIAN_ARCHAIC},
}


def segments(text: str) -> int:
    """Number of SMS parts the text takes: 160 characters in one, 153 per part beyond."""
    length = len(text)
    if length <= SINGLE_PART_LENGTH:
        return 1
    return -(-length // MULTI_PART_LENGTH)


def cost(text: str, recipients: int | Iterable[str] = 1,
         price_per_part: int = PRICE_PER_PART) -> int:
    """What sending ``text`` to ``recipients`` costs, in tetri.

    ``recipients`` is a count or an iterable of numbers (each counts once as
    given); anything else raises ``TypeError``.
    """
    if isinstance(recipients, bool) or not isinstance(recipients, int | Iterable) or isinstance(
            recipients, str | bytes):
        raise TypeError(f"recipients must be a count or an iterable of numbers, "
                        f"not {type(recipients).__name__}")
    count = recipients if isinstance(recipients, int) else sum(1 for _ in recipients)
    if count < 0:
        raise ValueError("recipients cannot be negative")
    return segments(text) * count * price_per_part
