"""Contacts, groups and the opt-out list: queries, saving, import and export.

A number is stored normalized (``995599445448``) and is unique: saving or
importing a number that exists updates that contact, merging its fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import Select, String, cast, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from smsco.errors import ValidationError
from smsco.phones import normalize

from ..database import escape_like
from ..extensions import db
from ..models import Contact, ContactGroup, OptOut, User, audit, contact_group_member, utcnow
from ..ui.exports import Table, phone_cell
from ..ui.formatting import local_iso
from .importing import ColumnMap, ImportFileError, ParsedRow, Tally, parse_file, save_report

PAGE_SIZE = 50
CHUNK = 1000
_DIGITS = re.compile(r"[\d\s+\-().]+")


def opted_out_among(phones: set[str] | list[str]) -> set[str]:
    """Which of ``phones`` are on the opt-out list."""
    return set(db.session.scalars(select(OptOut.phone).where(OptOut.phone.in_(phones))))


@dataclass(frozen=True)
class ContactPage:
    """One numbered page of contacts, newest first, and how many match in all."""

    contacts: list[Contact]
    total: int
    number: int  # 1-based
    pages: int
    page_size: int = PAGE_SIZE

    @property
    def first_shown(self) -> int:
        return (self.number - 1) * self.page_size + 1 if self.contacts else 0

    @property
    def last_shown(self) -> int:
        return self.first_shown + len(self.contacts) - 1 if self.contacts else 0


def matching(statement: Select, search: str = "", group_id: int | None = None) -> Select:
    """``statement`` narrowed to contacts matching a number or field text, in a group."""
    if search:
        statement = statement.where(_search_condition(search))
    if group_id:
        statement = statement.where(Contact.id.in_(
            select(contact_group_member.c.contact_id)
            .where(contact_group_member.c.group_id == group_id)))
    return statement


def count_matching(search: str = "", group_id: int | None = None) -> int:
    return db.session.scalar(matching(select(func.count(Contact.id)), search, group_id)) or 0


def contact_page(search: str = "", group_id: int | None = None, number: int = 1,
                 page_size: int = PAGE_SIZE) -> ContactPage:
    """Contacts matching a number (any way written) or field text, newest first, page
    ``number`` (the last page when it is past the end)."""
    total = count_matching(search, group_id)
    pages = max(1, -(-total // page_size))
    number = min(max(number, 1), pages)
    statement = matching(select(Contact), search, group_id).order_by(Contact.id.desc())
    rows = list(db.session.scalars(statement.offset((number - 1) * page_size).limit(page_size)))
    return ContactPage(rows, total, number, pages, page_size)


@dataclass(frozen=True)
class ContactSelection:
    """Contacts chosen on the contacts page to send to: some by id, or all matching a search."""

    ids: tuple[int, ...] = ()
    search: str = ""
    group_id: int | None = None
    everyone: bool = False  # every contact matching ``search`` and ``group_id``

    def __bool__(self) -> bool:
        return self.everyone or bool(self.ids)

    def narrow(self, statement: Select) -> Select:
        """``statement`` (over contacts) limited to the chosen ones."""
        if self.everyone:
            return matching(statement, self.search, self.group_id)
        return statement.where(Contact.id.in_(self.ids))

    def count(self) -> int:
        return db.session.scalar(self.narrow(select(func.count(Contact.id)))) or 0


def _search_condition(search: str):
    pattern = f"%{escape_like(search)}%"
    text_match = cast(Contact.fields, String).ilike(pattern, escape="\\")
    if _DIGITS.fullmatch(search):
        try:
            return or_(Contact.phone == normalize(search), text_match)
        except ValidationError:  # a partial number: match its digits anywhere in the stored form
            digits = re.sub(r"\D", "", search).lstrip("0")
            return or_(Contact.phone.like(f"%{digits}%"), text_match)
    return text_match


def groups() -> list[ContactGroup]:
    return list(db.session.scalars(select(ContactGroup).order_by(ContactGroup.name)))


def group_sizes() -> dict[int, int]:
    """Members per group, in one grouped query."""
    rows = db.session.execute(
        select(contact_group_member.c.group_id, db.func.count())
        .group_by(contact_group_member.c.group_id)).all()
    return dict(rows)


def create_group(name: str, by: User | None) -> ContactGroup:
    """A new, empty group; ``ValueError`` when the name is taken."""
    group = ContactGroup(name=name)
    db.session.add(group)
    try:
        db.session.flush()
    except IntegrityError as error:  # the name exists (perhaps made a moment ago)
        db.session.rollback()
        raise ValueError(_("A group with this name exists.")) from error
    audit(by, "group_add", detail=f"Created group {name!r}")
    db.session.commit()
    return group


def group_named(name: str, by: User | None) -> ContactGroup:
    """The group with this name, created (and audited) if there is none yet."""
    group = db.session.scalar(select(ContactGroup).where(ContactGroup.name == name))
    if group is not None:
        return group
    try:
        return create_group(name, by)
    except ValueError:  # made by a parallel request meanwhile
        return db.session.scalar(select(ContactGroup).where(ContactGroup.name == name))


def delete_group(group: ContactGroup, by: User | None) -> None:
    """Delete a group; its contacts are kept."""
    members = db.session.scalar(select(func.count()).select_from(contact_group_member)
                                .where(contact_group_member.c.group_id == group.id))
    audit(by, "group_delete",
          detail=f"Deleted group {group.name!r} ({members} members, contacts kept)")
    db.session.delete(group)
    db.session.commit()


def save_contact(contact: Contact | None, phone: str, fields: dict[str, str],
                 group_ids: list[int], by: User | None = None) -> tuple[Contact, bool]:
    """Create or update a contact; ``(contact, created)``. An existing number is merged into."""
    existing = db.session.scalar(select(Contact).where(Contact.phone == phone))
    if contact is None and existing is not None:
        contact, fields = existing, {**existing.fields, **fields}
    elif contact is not None and existing is not None and existing.id != contact.id:
        raise ValueError(_("Another contact already has this number."))
    created = contact is None
    if created:
        contact = Contact(phone=phone, fields={})
        db.session.add(contact)
    was = contact.phone
    contact.phone, contact.fields = phone, dict(fields)
    contact.groups = list(db.session.scalars(
        select(ContactGroup).where(ContactGroup.id.in_(group_ids)))) if group_ids else []
    if created:
        audit(by, "contact_add", detail=f"Added contact {phone}")
    else:
        renamed = f" (was {was})" if was != phone else ""
        audit(by, "contact_edit", detail=f"Saved contact {phone}{renamed}")
    db.session.commit()
    return contact, created


def delete_contact(contact: Contact, by: User | None = None) -> None:
    audit(by, "contact_delete", detail=f"Deleted contact {contact.phone}")
    db.session.delete(contact)
    db.session.commit()


# -- import ------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    """What an import did."""

    added: int
    updated: int
    invalid: int
    duplicates: int
    report_token: str | None

    def counts(self) -> str:
        """The counts in words, for the audit log."""
        return (f"{self.added} added, {self.updated} updated, {self.invalid} invalid, "
                f"{self.duplicates} duplicates")


def import_contacts(path: Path, columns: ColumnMap, group: ContactGroup | None,
                    by: User | None = None) -> ImportResult:
    """Add or update one contact per valid row, in chunks; rows added to ``group`` if given.

    A row that cannot be read (``ImportFileError``, in a workbook that passed the
    checks) stops the import after every row before it is saved, so the message
    "the rows before it were imported" is true.
    """
    tally = Tally()
    added = updated = 0
    chunk: list[ParsedRow] = []
    try:
        for row in parse_file(path, columns, tally):
            chunk.append(row)
            if len(chunk) >= CHUNK:
                a, u = _import_chunk(chunk, group)
                added, updated, chunk = added + a, updated + u, []
    except ImportFileError:
        if chunk:
            _import_chunk(chunk, group)
        raise
    if chunk:
        a, u = _import_chunk(chunk, group)
        added, updated = added + a, updated + u
    result = ImportResult(added, updated, len(tally.invalid), tally.duplicates,
                          save_report(tally.invalid))
    into = f" into group {group.name!r}" if group is not None else ""
    audit(by, "contact_import", detail=f"Imported contacts{into}: {result.counts()}")
    db.session.commit()
    return result


def _import_chunk(rows: list[ParsedRow], group: ContactGroup | None) -> tuple[int, int]:
    existing = {c.phone: c for c in db.session.scalars(
        select(Contact).where(Contact.phone.in_([r.phone for r in rows])))}
    now, new = utcnow(), []
    for row in rows:
        contact = existing.get(row.phone)
        if contact is None:
            new.append({"phone": row.phone, "fields": row.fields, "created_at": now,
                        "updated_at": now})
        elif row.fields:
            contact.fields = {**contact.fields, **row.fields}  # a new dict: JSON change seen
    if new:
        db.session.execute(insert(Contact), new)
    if group is not None:
        _add_to_group(group, [r.phone for r in rows])
    db.session.commit()
    return len(new), len(rows) - len(new)


def _add_to_group(group: ContactGroup, phones: list[str]) -> None:
    ids = set(db.session.scalars(select(Contact.id).where(Contact.phone.in_(phones))))
    members = set(db.session.scalars(
        select(contact_group_member.c.contact_id)
        .where(contact_group_member.c.group_id == group.id,
               contact_group_member.c.contact_id.in_(ids))))
    rows = [{"contact_id": i, "group_id": group.id} for i in sorted(ids - members)]
    if rows:
        db.session.execute(insert(contact_group_member), rows)


# -- export ------------------------------------------------------------------------


def contacts_table(batch: int = 5000) -> Table:
    """Every contact: phone, one column per field name, groups."""
    names: dict[str, None] = {}  # an ordered set: linear in the number of field names
    for (fields,) in db.session.execute(select(Contact.fields)).yield_per(batch):
        names.update(dict.fromkeys(fields or {}))
    return Table("contacts", ["phone", *names, "groups"], _contact_rows(list(names), batch))


def _contact_rows(names: list[str], batch: int) -> Iterator[list[list[object]]]:
    group_names = {g.id: g.name for g in groups()}
    after = 0
    while True:
        rows = list(db.session.scalars(select(Contact).where(Contact.id > after)
                                       .order_by(Contact.id).limit(batch)))
        if not rows:
            return
        memberships = _memberships([c.id for c in rows])
        yield [[phone_cell(contact.phone), *(contact.fields.get(n, "") for n in names),
                ";".join(group_names[g] for g in memberships.get(contact.id, []))]
               for contact in rows]
        after = rows[-1].id
        db.session.expunge_all()


def _memberships(contact_ids: list[int]) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {}
    for contact_id, group_id in db.session.execute(
            select(contact_group_member.c.contact_id, contact_group_member.c.group_id)
            .where(contact_group_member.c.contact_id.in_(contact_ids))):
        result.setdefault(contact_id, []).append(group_id)
    return result


# -- opt-outs ----------------------------------------------------------------------


def opt_out_page(search: str = "", after: str | None = None,
                 page_size: int = PAGE_SIZE) -> tuple[list[OptOut], str | None]:
    """Opted-out numbers in number order, a keyset page after ``after``."""
    statement = select(OptOut)
    if search:
        digits = re.sub(r"\D", "", search)
        statement = statement.where(OptOut.phone.like(f"%{digits}%")) if digits else statement
    if after:
        statement = statement.where(OptOut.phone > after)
    rows = list(db.session.scalars(statement.order_by(OptOut.phone).limit(page_size + 1)))
    more = len(rows) > page_size
    rows = rows[:page_size]
    return rows, rows[-1].phone if more and rows else None


def add_opt_outs(phones: list[str], reason: str | None, user: User | None) -> int:
    """Add numbers to the opt-out list; returns how many were new."""
    present = opted_out_among(phones)
    new = [p for p in dict.fromkeys(phones) if p not in present]
    if new:
        now = utcnow()
        db.session.execute(insert(OptOut), [
            {"phone": p, "reason": reason or None, "created_at": now,
             "created_by_id": user.id if user else None} for p in new])
    db.session.commit()
    return len(new)


def opt_out(phone: str, reason: str | None, by: User | None) -> bool:
    """Opt one number out (audited); False when it already was."""
    added = add_opt_outs([phone], reason, by)
    audit(by, "opt_out_add",
          detail=f"Opted out {phone}" + ("" if added else " (already opted out)"))
    db.session.commit()
    return bool(added)


def import_opt_outs(path: Path, columns: ColumnMap, reason: str | None,
                    user: User | None) -> ImportResult:
    """Opt out every valid number of a file (in chunks)."""
    tally, added, chunk = Tally(), 0, []
    for row in parse_file(path, columns, tally):
        chunk.append(row.phone)
        if len(chunk) >= CHUNK:
            added, chunk = added + add_opt_outs(chunk, reason, user), []
    if chunk:
        added += add_opt_outs(chunk, reason, user)
    result = ImportResult(added, tally.valid - added, len(tally.invalid), tally.duplicates,
                          save_report(tally.invalid))
    audit(user, "opt_out_import", detail=f"Imported opt-outs: {result.counts()}")
    db.session.commit()
    return result


def remove_opt_out(phone: str, by: User | None = None) -> int:
    """Take a number off the opt-out list (audited when it was on it)."""
    removed = db.session.execute(delete(OptOut).where(OptOut.phone == phone)).rowcount or 0
    if removed:
        audit(by, "opt_out_remove", detail=f"Removed {phone} from the opt-out list")
    db.session.commit()
    return removed


def opt_outs_table() -> Table:
    """The opt-out list: number, reason, since when."""
    rows = db.session.execute(select(OptOut.phone, OptOut.reason, OptOut.created_at)
                              .order_by(OptOut.phone)).yield_per(5000)
    return Table("opt-outs", ("phone", "reason", "created_at"),
                 ([(phone_cell(p), reason, local_iso(at)) for p, reason, at in part]
                  for part in rows.partitions()))
