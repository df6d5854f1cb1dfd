"""Bounded URL and query parameters: every integer and date is checked before use.

Our id columns are ``INTEGER`` (32 bits on PostgreSQL, 64 on SQLite) and
Python dates end in the year 9999, so an unchecked ``?before=99999999999``
or ``?to=9999-12-31`` ends in an exception deep inside a query. Here each value
is parsed once, at the edge: the ``id`` URL converter turns an out-of-range
id into a 404 like any unknown id; :func:`bounded_int` and :func:`bounded_date`
turn a bad query or form value into ``None`` (the filter is ignored). Query
and form text loses its NUL characters on arrival: PostgreSQL refuses them
in any text parameter, and no operator types one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flask import Flask, Request, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

#: The largest id an INTEGER column holds on both databases (PostgreSQL's is 32-bit).
#: Raise it to 2**63 - 1 if the id columns ever become BIGINT.
MAX_ID = 2**31 - 1
MAX_ID_DIGITS = len(str(MAX_ID))
#: Dates outside these years are not filters anyone means (and overflow time zone maths).
MIN_YEAR, MAX_YEAR = 2000, 2100


class IdConverter(IntegerConverter):
    """``<id:name>``: a database id, 1 ≤ n ≤ ``MAX_ID``, ASCII digits only; else a 404."""

    regex = rf"[0-9]{{1,{MAX_ID_DIGITS}}}"

    def __init__(self, map, **kwargs) -> None:
        super().__init__(map, min=1, max=MAX_ID, **kwargs)


class Values(ImmutableMultiDict):
    """Query or form values (werkzeug builds them from ``(key, value)`` pairs), NULs removed."""

    def __init__(self, mapping=None) -> None:
        if mapping is None:
            super().__init__()
            return
        if isinstance(mapping, Mapping):
            mapping = ImmutableMultiDict(mapping).items(multi=True)
        super().__init__((_without_nul(key), _without_nul(value)) for key, value in mapping)


def _without_nul(value):
    return value.replace("\x00", "") if isinstance(value, str) else value


class SafeRequest(Request):
    """The request with :class:`Values` for ``args``, ``form`` and ``files``."""

    parameter_storage_class = Values


def register_parameters(app: Flask) -> None:
    """``<id:...>`` for every blueprint's routes; NUL-free query and form values."""
    app.url_map.converters["id"] = IdConverter
    app.request_class = SafeRequest


def bounded_int(value: str | None, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """``value`` as an int in ``[minimum, maximum]``, or None when it is not one.

    Only ASCII digits count (``"²"`` and ``"٣"`` are digits to ``str.isdigit``,
    not to an operator), and the length is checked before ``int()`` reads it.
    """
    text = (value or "").strip()
    negative = text.startswith("-")
    digits = text[1:] if negative else text
    if not digits or len(digits) > MAX_ID_DIGITS or not (digits.isascii() and digits.isdigit()):
        return None
    number = -int(digits) if negative else int(digits)
    return number if minimum <= number <= maximum else None


def bounded_date(value: str | None) -> date | None:
    """``value`` (``YYYY-MM-DD``) as a date between the years ``MIN_YEAR`` and ``MAX_YEAR``."""
    text = (value or "").strip()
    if len(text) != len("YYYY-MM-DD") or not text.isascii():
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if MIN_YEAR <= day.year <= MAX_YEAR else None


def bounded_ids(value: str | None, limit: int) -> list[int]:
    """At most ``limit`` distinct ids from a comma-separated list; the rest is ignored."""
    ids: list[int] = []
    for part in (value or "").split(",", limit * 2)[: limit * 2]:
        number = bounded_int(part)
        if number is not None and number not in ids:
            ids.append(number)
            if len(ids) == limit:
                break
    return ids


def arg_int(name: str, minimum: int = 1, maximum: int = MAX_ID,
            args: Mapping[str, str] | None = None) -> int | None:
    """The query value ``name`` as a bounded int (None when missing or unusable)."""
    return bounded_int((request.args if args is None else args).get(name), minimum, maximum)


def arg_date(name: str, args: Mapping[str, str] | None = None) -> date | None:
    """The query value ``name`` as a date in range (None when missing or unusable)."""
    return bounded_date((request.args if args is None else args).get(name))


def form_id(value: object) -> int:
    """A WTForms ``coerce`` for id choices: a bounded id or ``ValueError`` (a form error)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value if 1 <= value <= MAX_ID else None
    else:
        number = bounded_int(str(value))
    if number is None:
        raise ValueError(f"not an id: {value!r}")
    return number
