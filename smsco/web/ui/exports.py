"""What every spreadsheet export shares: cells a spreadsheet cannot run as formulas, and
money a spreadsheet reads as a number."""

from __future__ import annotations

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: object) -> str:
    """The cell as text, prefixed with ``'`` when a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def lari_cell(credits: int | None) -> str:
    """Credits (tetri) as lari with a decimal point ("0.05"; "" for none), for a cost column."""
    if credits is None:
        return ""
    whole, cents = divmod(abs(credits), 100)
    return f"{'-' if credits < 0 else ''}{whole}.{cents:02}"
