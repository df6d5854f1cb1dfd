"""How a bulk send starts from elsewhere: a template ("Use"), a group ("Send to this group")
or contacts chosen on the contacts page ("Send SMS to selected"), and the default name.

Links arrive as query arguments on ``GET /bulk``; the chosen contacts then
travel in the form's hidden fields from request to request.
"""

from __future__ import annotations

from pathlib import PurePath

from flask import request
from flask_babel import gettext as _
from flask_babel import ngettext

from ..contacts.services import ContactSelection
from ..models import utcnow
from ..params import bounded_ids, bounded_int
from ..ui.formatting import localtime
from .forms import BulkForm

#: At most this many contacts chosen one by one (a page of the contacts list is 50).
MAX_CHOSEN = 500


def selection_from_link(form: BulkForm) -> ContactSelection:
    """``?contact=1&contact=2`` or ``?matching=1&q=…&group=…``; a whole group becomes a group."""
    args = request.args
    if args.get("matching") == "1":
        search, group_id = (args.get("q") or "").strip()[:100], bounded_int(args.get("group"))
        if not search and group_id:
            form.groups.data = [group_id]
            return ContactSelection()
        return ContactSelection(search=search, group_id=group_id, everyone=True)
    ids = bounded_ids(",".join(args.getlist("contact")), MAX_CHOSEN)
    return ContactSelection(ids=tuple(ids))


def keep_selection(form: BulkForm, selection: ContactSelection) -> None:
    """Write the selection into the form's hidden fields."""
    form.contact_ids.data = ",".join(str(i) for i in selection.ids)
    form.contact_search.data = selection.search
    form.contact_group.data = str(selection.group_id or "")
    form.contact_everyone.data = "1" if selection.everyone else ""


def chosen_contacts(form: BulkForm) -> ContactSelection:
    """The selection the hidden fields carry (whether or not its box is still ticked)."""
    return ContactSelection(ids=tuple(bounded_ids(form.contact_ids.data, MAX_CHOSEN)),
                            search=(form.contact_search.data or "")[:100],
                            group_id=bounded_int(form.contact_group.data),
                            everyone=form.contact_everyone.data == "1")


def selection_label(selection: ContactSelection) -> str:
    """The chosen contacts in words, beside their box on the bulk page."""
    count = selection.count()
    if not selection.everyone:
        return ngettext("The %(num)d contact you selected", "The %(num)d contacts you selected",
                        count)
    if selection.search:
        return ngettext("The %(num)d contact matching “%(search)s”",
                        "All %(num)d contacts matching “%(search)s”", count,
                        search=selection.search)
    return ngettext("The %(num)d contact", "All %(num)d contacts", count)


def default_name(form: BulkForm, contacts: ContactSelection) -> str:
    """The file's or the groups' name (else what was chosen) and today's date."""
    if form.file_name.data:
        what = PurePath(form.file_name.data).stem or form.file_name.data
    elif form.groups.data:
        names = dict(form.groups.choices)
        what = ", ".join(names[g] for g in form.groups.data if g in names)
    elif contacts:
        what = _("Selected contacts")
    else:
        what = _("Pasted numbers")
    today = localtime(utcnow(), "%Y-%m-%d")
    return f"{what[:120 - len(today) - 1]} {today}"
