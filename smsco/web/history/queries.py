"""History queries: filters, search and keyset pages over the message table.

Pages are keyset pages on ``message.id`` (newest first): never OFFSET, never
COUNT(*). Each filter is written so an index of ``models.Message`` can serve
it together with the ``ORDER BY id`` (``(state, id)``, ``(recipient, id)``,
``(sender, id)``, ``(created_by_id, id)``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, lazyload

from smsco.errors import ValidationError
from smsco.phones import normalize

from ..database import escape_like, is_postgres
from ..extensions import db
from ..models import Message, State, User, utcnow
from ..params import MAX_ID, MAX_YEAR, MIN_YEAR, arg_int
from ..ui.formatting import date_input, datetime_input, local_zone, parse_typed

PAGE_SIZE = 50
# A text search has no index: each page reads at most this many ids (tens of
# milliseconds), so a rare word costs the same at any depth.
SCAN_WINDOW = 200_000
UPDATES_LIMIT = 200
# A partial number with fewer digits than this matches a large part of the
# table: scanning newest-first and filtering beats an index range plus a sort.
INDEXED_PREFIX_MIN_DIGITS = 10
# Strings of the recipient column are digits only; this sorts after every digit.
AFTER_DIGITS = ":"
_SEARCH_NUMBER = re.compile(r"^[\d\s+\-().]+$")


@dataclass(frozen=True)
class HistoryFilters:
    """What the operator asked to see; every field optional.

    ``start`` and ``end`` are local times (``SMSCO_TIMEZONE``, naive): messages created
    from ``start`` and before ``end``. "From" and "To" are typed as the page's language
    writes dates, with or without a 24-hour time; a "To" day or minute is included whole.
    """

    state: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    sender: str | None = None
    operator_id: int | None = None
    search: str = ""
    # What was typed in "From" and "To", and why it could not be read (beside the field).
    typed: tuple[str, str] = ("", "")
    problems: tuple[str | None, str | None] = (None, None)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> HistoryFilters:
        """Read the filters from a query string; a date that does not parse is left out
        and its problem kept for the page to show."""
        state = args.get("state") or None
        typed = ((args.get("from") or "").strip()[:40], (args.get("to") or "").strip()[:40])
        (start, from_problem), (end, to_problem) = _bound(typed[0], False), _bound(typed[1], True)
        return cls(
            state=state if state in State.FILTERS else None,
            start=start, end=end,
            sender=(args.get("sender") or "").strip() or None,
            operator_id=arg_int("operator", args=args),
            search=(args.get("q") or "").strip()[:100],
            typed=typed, problems=(from_problem, to_problem),
        )

    def to_args(self) -> dict[str, str]:
        """The filters as query-string arguments (for links that keep them)."""
        args = {
            "state": self.state or "",
            "from": _iso(*self._from()) if self.start else "",
            "to": _iso(*self._to()) if self.end else "",
            "sender": self.sender or "",
            "operator": str(self.operator_id) if self.operator_id else "",
            "q": self.search,
        }
        return {key: value for key, value in args.items() if value}

    def shown(self, which: str) -> str:
        """The text of the "from" or "to" input: as typed when it could not be read, else
        written the page's way."""
        index = ("from", "to").index(which)
        if self.problems[index]:
            return self.typed[index]
        if (self.start if index == 0 else self.end) is None:
            return ""
        moment, with_time = self._from() if index == 0 else self._to()
        return datetime_input(moment) if with_time else date_input(moment.date())

    def _from(self) -> tuple[datetime, bool]:
        return self.start, not _is_midnight(self.start)

    def _to(self) -> tuple[datetime, bool]:
        """The last day or minute "to" includes."""
        whole_days = _is_midnight(self.end)
        return self.end - (_DAY if whole_days else _MINUTE), not whole_days

    @property
    def active(self) -> bool:
        return bool(self.to_args())


_DAY, _MINUTE = timedelta(days=1), timedelta(minutes=1)


def _is_midnight(moment: datetime) -> bool:
    return moment.time() == time.min


def _bound(typed: str, is_end: bool) -> tuple[datetime | None, str | None]:
    """A typed "From" (the moment itself) or "To" (just after the typed day or minute)."""
    if not typed:
        return None, None
    try:
        read = parse_typed(typed)
    except ValueError as error:
        return None, str(error)
    moment = read.moment.replace(second=0)
    if not MIN_YEAR <= moment.year < MAX_YEAR:  # far dates overflow in time-zone arithmetic
        return None, _("Enter a date between the years 2000 and 2099.")
    if is_end:
        moment += _MINUTE if read.has_time else _DAY
    return moment, None


def _iso(moment: datetime, with_time: bool) -> str:
    """A bound for a link: the day, or the day and minute."""
    return moment.isoformat(timespec="minutes") if with_time else moment.date().isoformat()


@dataclass(frozen=True)
class Page:
    """One page of history rows, newest first, with the ids the links need."""

    messages: list[Message]
    older_than: int | None  # id for the "Older" link, None on the last page
    newer_than: int | None  # id for the "Newer" link, None on the first page
    # A text search reads a window of ids per page; True when this page stopped at the
    # window's edge before it was full (the "Older" link searches on from there).
    window_edge: bool = False


def _parse_int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def local_to_utc(local: datetime) -> datetime:
    """A local time of ``SMSCO_TIMEZONE`` as the naive UTC the columns store."""
    return local.replace(tzinfo=local_zone()).astimezone(UTC).replace(tzinfo=None)


def local_day_start_utc(day: date) -> datetime:
    """Midnight of ``day`` in ``SMSCO_TIMEZONE``, as the naive UTC the columns store."""
    local = datetime.combine(day, time.min, tzinfo=local_zone())
    return local.astimezone(UTC).replace(tzinfo=None)


def number_condition(search: str):
    """``(condition, selective)`` for a number written any way, or None when it is not one.

    ``selective`` means an index on the recipient serves the condition and few
    rows match it: a whole number (equality) or a long prefix (a range).
    """
    if not _SEARCH_NUMBER.match(search):
        return None
    digits = re.sub(r"\D", "", search)
    if not digits:
        return None
    try:
        return Message.recipient == normalize(search), True
    except ValidationError:
        pass
    prefix = _number_prefix(digits)
    if len(prefix) >= INDEXED_PREFIX_MIN_DIGITS:
        # A range, not LIKE, so the (recipient, id) index serves it on any database.
        return (Message.recipient >= prefix) & (Message.recipient < prefix + AFTER_DIGITS), True
    return func.substr(Message.recipient, 1, len(prefix)) == prefix, False


def _number_prefix(digits: str) -> str:
    """The stored form's beginning for a partly typed number (stored: 995XXXXXXXXX)."""
    if digits.startswith("00"):
        return digits[2:]
    if digits.startswith("995"):
        return digits
    if digits.startswith("0"):
        return "995" + digits[1:]
    if digits.startswith("5") or digits.startswith("3"):  # mobile or Tbilisi numbers
        return "995" + digits
    return digits


def _text_condition(text: str):
    """Case-insensitive "contains" on the message text.

    SQLite's own LIKE already ignores ASCII case (message text is Latin only);
    SQLAlchemy's ``ilike`` there becomes ``lower(body) LIKE lower(?)``,
    five times slower over a million rows. PostgreSQL needs ILIKE.
    """
    pattern = f"%{escape_like(text)}%"
    if is_postgres():
        return Message.body.ilike(pattern, escape="\\")
    return Message.body.like(pattern, escape="\\")


def _unindexed(column):
    """``column`` in a form no index serves, so the planner uses the better index.

    SQLite has no statistics unless ANALYZE ran: it prefers any equality
    index (``state = 'delivered'``: 80% of the rows) over a far more
    selective one. Wrapping the weaker condition steers it, on any database.
    """
    return func.coalesce(column, column)


def _date_index_pays(start: datetime | None, end: datetime | None) -> bool:
    """True when the rows in ``[start, end)`` are fewer than the newer rows a newest-first
    scan would skip to reach them (estimated from ids, with two index seeks)."""
    newest = db.session.scalar(select(func.max(Message.id)))
    first = db.session.scalar(select(Message.id).where(Message.created_at >= start)
                              .order_by(Message.created_at).limit(1)) if start else 0
    last = db.session.scalar(select(Message.id).where(Message.created_at < end)
                             .order_by(Message.created_at.desc()).limit(1)) if end else newest
    if newest is None or first is None or last is None:
        return True  # nothing in the range: the index says so at once
    return abs(last - first) < newest - last


def filtered(filters: HistoryFilters, statement: Select) -> Select:
    """Add the WHERE conditions of ``filters`` to ``statement``.

    At most one condition is left to an index (the most selective one), so
    the planner cannot pick a dense ``(state, id)`` scan over a sparse one.
    """
    search, selective = None, False
    if filters.search:
        number = number_condition(filters.search)
        if number is None:
            search = _text_condition(filters.search)
        else:
            search, selective = number
        statement = statement.where(search)
    start = local_to_utc(filters.start) if filters.start else None
    end = local_to_utc(filters.end) if filters.end else None
    by_date = (start or end) is not None and not selective and _date_index_pays(start, end)
    created_at = Message.created_at if by_date else _unindexed(Message.created_at)
    if start:
        statement = statement.where(created_at >= start)
    if end:
        statement = statement.where(created_at < end)
    wrap = _unindexed if selective or by_date else (lambda column: column)
    if filters.state == State.SCHEDULED:
        statement = statement.where(wrap(Message.state) == State.QUEUED,
                                    Message.send_at > utcnow())
    elif filters.state == State.QUEUED:
        statement = statement.where(wrap(Message.state) == State.QUEUED,
                                    Message.send_at <= utcnow())
    elif filters.state:
        statement = statement.where(wrap(Message.state) == filters.state)
    if filters.sender:
        statement = statement.where(wrap(Message.sender) == filters.sender)
    if filters.operator_id:
        statement = statement.where(wrap(Message.created_by_id) == filters.operator_id)
    return statement


def _base_select() -> Select:
    # The operator comes along in the same query (one JOIN), not one query per row.
    return select(Message).options(joinedload(Message.created_by), lazyload(Message.events))


def history_page(filters: HistoryFilters, before: int | None = None, after: int | None = None,
                 page_size: int = PAGE_SIZE) -> Page:
    """A page of ``page_size`` rows, newest first, older than ``before`` or newer than ``after``.

    Fetches one row more than shown to know whether there is another page. A
    text search reads one ``SCAN_WINDOW`` of ids per page (``Page.window_edge``).
    """
    statement = filtered(filters, _base_select())
    windowed = bool(filters.search) and number_condition(filters.search) is None
    if after is not None:
        return _newer_page(statement, after, page_size, windowed)
    top = before if before is not None else None
    floor = None
    if windowed:
        top = top if top is not None else (db.session.scalar(select(func.max(Message.id))) or 0) + 1
        floor = max(top - SCAN_WINDOW, 0)
        statement = statement.where(Message.id >= floor)
    if top is not None:
        statement = statement.where(Message.id < top)
    rows = list(db.session.scalars(statement.order_by(Message.id.desc()).limit(page_size + 1)))
    more_older = len(rows) > page_size
    rows = rows[:page_size]
    older_than = rows[-1].id if rows and more_older else None
    edge = floor is not None and not more_older and floor > _oldest_id()
    if edge:
        older_than = floor
    return Page(rows, older_than=older_than,
                newer_than=rows[0].id if rows and before is not None else None, window_edge=edge)


def _newer_page(statement: Select, after: int, page_size: int, windowed: bool) -> Page:
    ceiling = min(after + SCAN_WINDOW + 1, MAX_ID) if windowed else None
    if ceiling is not None:
        statement = statement.where(Message.id < ceiling)
    rows = list(db.session.scalars(
        statement.where(Message.id > after).order_by(Message.id.asc()).limit(page_size + 1)))
    more_newer = len(rows) > page_size
    rows = list(reversed(rows[:page_size]))
    newer_than = rows[0].id if rows and more_newer else None
    edge = ceiling is not None and not more_newer and ceiling <= _newest_id()
    if edge:
        newer_than = ceiling - 1
    return Page(rows, older_than=rows[-1].id if rows else after, newer_than=newer_than,
                window_edge=edge)


def _oldest_id() -> int:
    return db.session.scalar(select(func.min(Message.id))) or 0


def _newest_id() -> int:
    return db.session.scalar(select(func.max(Message.id))) or 0


def export_batches(filters: HistoryFilters, batch_size: int = 5000) -> Iterator[list[Any]]:
    """Every filtered row, newest first, in keyset batches of plain tuples (not ORM objects).

    The query is built here, when called, not when the first batch is read: a
    filter that cannot be used fails before a streamed response has started.
    """
    columns = select(
        Message.id, Message.created_at, Message.sent_at, Message.recipient, Message.sender,
        User.username, Message.state, Message.gateway_status, Message.credits, Message.mes_id,
        Message.body,
    ).outerjoin(User, Message.created_by_id == User.id)
    statement = filtered(filters, columns).order_by(Message.id.desc()).limit(batch_size)
    return _batches(statement, batch_size)


def _batches(statement: Select, batch_size: int) -> Iterator[list[Any]]:
    before = None
    while True:
        page = statement if before is None else statement.where(Message.id < before)
        rows = db.session.execute(page).all()
        if not rows:
            return
        yield rows
        if len(rows) < batch_size:
            return
        before = rows[-1].id


def updates_for(ids: list[int]) -> list[Any]:
    """The changing columns of up to ``UPDATES_LIMIT`` messages, in one query."""
    ids = ids[:UPDATES_LIMIT]
    if not ids:
        return []
    return db.session.execute(
        select(Message.id, Message.state, Message.gateway_status, Message.sent_at,
               Message.credits, Message.error_text, Message.error_code, Message.schedule_mode,
               Message.send_at)
        .where(Message.id.in_(ids))
    ).all()


def operators() -> list[Any]:
    """Every account, for the operator filter."""
    return db.session.execute(select(User.id, User.username).order_by(User.username)).all()


def resend_of(message: Message) -> Message | None:
    """The message that resent ``message``, if any."""
    return db.session.scalar(select(Message).where(Message.resend_of_id == message.id).limit(1))

