"""What every spreadsheet export shares: cells a spreadsheet cannot run as formulas.

Headers go through the same function as values: a contact field name or a
translated column title is text from outside too.
"""

from __future__ import annotations

from collections.abc import Iterable

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: object) -> str:
    """The cell as text, prefixed with ``'`` when a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_row(values: Iterable[object]) -> list[str]:
    """A CSV row, header or data, every cell neutralized."""
    return [neutralize(value) for value in values]
