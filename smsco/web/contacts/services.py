"""Contacts, groups and the opt-out list: queries, saving, import and export.

A number is stored normalized (``995599445448``) and is unique: saving or
importing a number that exists updates that contact, merging its fields.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import String, cast, delete, insert, or_, select

from smsco.errors import ValidationError
from smsco.phones import normalize

from ..database import escape_like
from ..extensions import db
from ..models import Contact, ContactGroup, OptOut, User, contact_group_member, utcnow
from ..ui.exports import neutralize
from ..ui.formatting import local_iso
from .importing import ColumnMap, ParsedRow, Tally, parse_file, save_report

PAGE_SIZE = 50
CHUNK = 1000
_DIGITS = re.compile(r"[\d\s+\-().]+")


def opted_out_among(phones: set[str] | list[str]) -> set[str]:
    """Which of ``phones`` are on the opt-out list."""
    return set(db.session.scalars(select(OptOut.phone).where(OptOut.phone.in_(phones))))


@dataclass(frozen=True)
class ContactPage:
    """One keyset page of contacts, newest first."""

    contacts: list[Contact]
    older_than: int | None


def contact_page(search: str = "", group_id: int | None = None, before: int | None = None,
                 page_size: int = PAGE_SIZE) -> ContactPage:
    """Contacts matching a number (any way written) or field text, newest first."""
    statement = select(Contact)
    if search:
        statement = statement.where(_search_condition(search))
    if group_id:
        statement = statement.where(Contact.id.in_(
            select(contact_group_member.c.contact_id)
            .where(contact_group_member.c.group_id == group_id)))
    if before:
        statement = statement.where(Contact.id < before)
    rows = list(db.session.scalars(statement.order_by(Contact.id.desc()).limit(page_size + 1)))
    more = len(rows) > page_size
    rows = rows[:page_size]
    return ContactPage(rows, rows[-1].id if more and rows else None)


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


def save_contact(contact: Contact | None, phone: str, fields: dict[str, str],
                 group_ids: list[int]) -> tuple[Contact, bool]:
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
    contact.phone, contact.fields = phone, dict(fields)
    contact.groups = list(db.session.scalars(
        select(ContactGroup).where(ContactGroup.id.in_(group_ids)))) if group_ids else []
    db.session.commit()
    return contact, created


def delete_contact(contact: Contact) -> None:
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


def import_contacts(path: Path, columns: ColumnMap, group: ContactGroup | None) -> ImportResult:
    """Add or update one contact per valid row, in chunks; rows added to ``group`` if given."""
    tally = Tally()
    added = updated = 0
    chunk: list[ParsedRow] = []
    for row in parse_file(path, columns, tally):
        chunk.append(row)
        if len(chunk) >= CHUNK:
            a, u = _import_chunk(chunk, group)
            added, updated, chunk = added + a, updated + u, []
    if chunk:
        a, u = _import_chunk(chunk, group)
        added, updated = added + a, updated + u
    return ImportResult(added, updated, len(tally.invalid), tally.duplicates,
                        save_report(tally.invalid))


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


def contacts_csv(batch: int = 5000) -> Iterator[str]:
    """Every contact as CSV: phone, one column per field name, groups (formula-safe)."""
    names: list[str] = []
    for (fields,) in db.session.execute(select(Contact.fields)).yield_per(batch):
        names.extend(name for name in (fields or {}) if name not in names)
    group_names = {g.id: g.name for g in groups()}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralize(name) for name in (_("Phone number"), *names, _("Groups"))])
    after = 0
    while True:
        rows = list(db.session.scalars(select(Contact).where(Contact.id > after)
                                       .order_by(Contact.id).limit(batch)))
        if not rows:
            break
        memberships = _memberships([c.id for c in rows])
        for contact in rows:
            in_groups = ";".join(group_names[g] for g in memberships.get(contact.id, []))
            writer.writerow([neutralize(v) for v in (
                contact.phone, *(contact.fields.get(n, "") for n in names), in_groups)])
        after = rows[-1].id
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        db.session.expunge_all()
    yield buffer.getvalue()


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
    return ImportResult(added, tally.valid - added, len(tally.invalid), tally.duplicates,
                        save_report(tally.invalid))


def remove_opt_out(phone: str) -> int:
    removed = db.session.execute(delete(OptOut).where(OptOut.phone == phone)).rowcount
    db.session.commit()
    return removed or 0


def opt_outs_csv() -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(neutralize(name) for name in (_("Phone number"), _("Reason"), _("Since")))
    for phone, reason, created_at in db.session.execute(
            select(OptOut.phone, OptOut.reason, OptOut.created_at).order_by(OptOut.phone)
    ).yield_per(5000):
        writer.writerow([neutralize(v) for v in (phone, reason, local_iso(created_at))])
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
