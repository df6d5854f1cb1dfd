"""The contacts pages: list, add, edit, delete, groups, import with column mapping, export,
and the opt-out list."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from ..extensions import db
from ..models import Contact, ContactGroup, User
from ..params import arg_int, bounded_int
from ..ui.confirm import ask_first
from ..ui.exports import export_response
from ..ui.formatting import phone
from . import services
from .forms import ContactForm, GroupForm, OptOutForm, UploadForm
from .importing import (
    CHOOSE_A_FILE,
    ColumnMap,
    ImportFileError,
    field_name,
    inspect,
    report_path,
    save_upload,
    upload_path,
)

bp = Blueprint("contacts", __name__)

PHONE, IGNORE = "__phone__", "__ignore__"
# What a confirmation says (here and in the pages' dialogs).
CONTACT_DELETE_DETAIL = _l("Its fields and group memberships go too; messages already sent stay "
                           "in the history.")
GROUP_DELETE_DETAIL = _l("Its contacts are kept.")
OPT_OUT_REMOVE_DETAIL = _l("The number will receive marketing messages again.")


def _actor() -> User:
    return current_user._get_current_object()


# -- contacts ----------------------------------------------------------------------


@bp.get("/contacts")
def contacts():
    """Contacts newest first, searchable, one numbered page at a time, to select and send to."""
    search = (request.args.get("q") or "").strip()[:100]
    group_id = arg_int("group")
    page = services.contact_page(search, group_id, number=arg_int("page") or 1)
    return render_template("contacts/contacts.html", page=page, search=search,
                           group_id=group_id, groups=services.groups())


def _group_choices(form: ContactForm) -> None:
    form.groups.choices = [(g.id, g.name) for g in services.groups()]


@bp.route("/contacts/new", methods=["GET", "POST"])
def new_contact():
    form = ContactForm()
    _group_choices(form)
    if not form.is_submitted():
        form.add_blank_rows()
    elif "add_field" in request.form:  # "Add a field" without JavaScript: one more row
        form.add_blank_rows(1)
    elif form.validate():
        _contact, created = services.save_contact(None, form.phone.normalized, form.field_values(),
                                           form.groups.data or [], by=_actor())
        flash(_("Contact added.") if created else
              _("This number was already a contact: its fields were updated."), "success")
        return redirect(url_for("contacts.contacts"))
    return render_template("contacts/contact_form.html", form=form, contact=None)


@bp.route("/contacts/<id:contact_id>/edit", methods=["GET", "POST"])
def edit_contact(contact_id: int):
    contact = db.get_or_404(Contact, contact_id)
    form = ContactForm()
    _group_choices(form)
    if not form.is_submitted():
        form.phone.data, form.name.data = contact.phone, (contact.fields or {}).get("name", "")
        form.show_fields(contact.fields or {})
        form.groups.data = [g.id for g in contact.groups]
    elif "add_field" in request.form:
        form.add_blank_rows(1)
    elif form.validate():
        try:
            services.save_contact(contact, form.phone.normalized, form.field_values(),
                                  form.groups.data or [], by=_actor())
        except ValueError as error:
            form.phone.errors = [str(error)]
        else:
            flash(_("Contact saved."), "success")
            return redirect(url_for("contacts.contacts"))
    return render_template("contacts/contact_form.html", form=form, contact=contact)


@bp.post("/contacts/<id:contact_id>/delete")
def delete_contact(contact_id: int):
    contact = db.get_or_404(Contact, contact_id)
    if (question := ask_first(_("Delete the contact %(phone)s?", phone=phone(contact.phone)),
                              _("Yes, delete the contact"), CONTACT_DELETE_DETAIL,
                              back=url_for("contacts.contacts"))):
        return question
    services.delete_contact(contact, by=_actor())
    flash(_("Contact deleted."), "success")
    return redirect(url_for("contacts.contacts"))


@bp.get("/contacts.csv")
def export_contacts():
    return export_response(services.contacts_table(), "csv")


@bp.get("/contacts.xlsx")
def export_contacts_xlsx():
    return export_response(services.contacts_table(), "xlsx")


# -- groups ------------------------------------------------------------------------


@bp.route("/contacts/groups", methods=["GET", "POST"])
def groups():
    form = GroupForm()
    if form.validate_on_submit():
        name = form.name.data.strip()
        try:
            services.create_group(name, by=_actor())
        except ValueError as error:
            form.name.errors = [str(error)]
        else:
            flash(_("Group “%(name)s” created.", name=name), "success")
            return redirect(url_for("contacts.groups"))
    return render_template("contacts/groups.html", form=form, groups=services.groups(),
                           sizes=services.group_sizes())


@bp.post("/contacts/groups/<id:group_id>/delete")
def delete_group(group_id: int):
    group = db.get_or_404(ContactGroup, group_id)
    if (question := ask_first(_("Delete the group “%(name)s”?", name=group.name),
                              _("Yes, delete the group"), GROUP_DELETE_DETAIL,
                              back=url_for("contacts.groups"))):
        return question
    services.delete_group(group, by=_actor())
    flash(_("Group “%(name)s” deleted; its contacts are kept.", name=group.name), "success")
    return redirect(url_for("contacts.groups"))


# -- import ------------------------------------------------------------------------


@bp.route("/contacts/import", methods=["GET", "POST"])
def import_upload():
    """Step 1: upload a CSV or XLSX file."""
    form = UploadForm()
    if form.validate_on_submit():
        try:
            token = save_upload(form.file.data)
        except ImportFileError as error:
            form.file.errors = [str(error)]
        else:
            return redirect(url_for("contacts.import_map", token=token))
    return render_template("contacts/import_upload.html", form=form)


@bp.route("/contacts/import/<token>", methods=["GET", "POST"])
def import_map(token: str):
    """Step 2: the first rows, a select per column, a target group; then import."""
    path = upload_path(token)
    if path is None:
        flash(_("The uploaded file is gone (files are kept for a day). Upload it again."),
              "error")
        return redirect(url_for("contacts.import_upload"))
    try:
        sheet = inspect(path)
    except ImportFileError as error:
        flash(str(error), "error")
        return redirect(url_for("contacts.import_upload"))
    error = None
    if request.method == "POST":
        columns, error = _columns_from_form(sheet.width, sheet.has_header)
        if columns is not None:
            group = _target_group()
            try:
                result = services.import_contacts(path, columns, group, by=_actor())
            except ImportFileError as error:  # a damaged cell deep in a workbook
                flash(_("The import stopped. %(reason)s The rows before it were imported.",
                        reason=error), "error")
                return redirect(url_for("contacts.import_upload"))
            path.unlink(missing_ok=True)
            counts = [ngettext("%(num)d added", "%(num)d added", result.added),
                      ngettext("%(num)d updated", "%(num)d updated", result.updated),
                      *_rejected_counts(result)]
            flash(_("Import finished: %(counts)s.", counts=", ".join(counts)), "success")
            return redirect(url_for("contacts.import_done", added=result.added,
                                    updated=result.updated, invalid=result.invalid,
                                    duplicates=result.duplicates,
                                    report=result.report_token or "",
                                    group=group.id if group else ""))
    return render_template("contacts/import_map.html", sheet=sheet, token=token,
                           phone_column=sheet.guess_phone_column(), groups=services.groups(),
                           error=error, PHONE=PHONE, IGNORE=IGNORE)


def _rejected_counts(result: services.ImportResult) -> list[str]:
    """The rows an import left out, in words, each count with its plural ("1 duplicate")."""
    return [ngettext("%(num)d invalid", "%(num)d invalid", result.invalid),
            ngettext("%(num)d duplicate within the file", "%(num)d duplicates within the file",
                     result.duplicates)]


def _columns_from_form(width: int, has_header: bool) -> tuple[ColumnMap | None, str | None]:
    phone, fields = None, {}
    for index in range(width):
        choice = (request.form.get(f"column-{index}") or IGNORE).strip()
        if choice == PHONE:
            if phone is not None:
                return None, _("Choose “Phone number” for one column only.")
            phone = index
        elif choice != IGNORE:  # a typed name is cleaned like a header
            fields[index] = field_name(choice, index)
    if phone is None:
        return None, _("Choose which column holds the phone number.")
    return ColumnMap(phone, fields, has_header), None


def _target_group() -> ContactGroup | None:
    new_name = (request.form.get("new_group") or "").strip()[:120]
    if new_name:
        return services.group_named(new_name, by=_actor())
    group_id = bounded_int(request.form.get("group"))
    return db.session.get(ContactGroup, group_id) if group_id else None


@bp.get("/contacts/import/done")
def import_done():
    counts = {key: arg_int(key, minimum=0) or 0
              for key in ("added", "updated", "invalid", "duplicates")}
    group_id = arg_int("group")
    group = db.session.get(ContactGroup, group_id) if group_id else None
    return render_template("contacts/import_done.html", counts=counts, group=group,
                           report=request.args.get("report") or None)


@bp.get("/contacts/invalid/<token>.csv")
def invalid_rows(token: str):
    """The rows an import or preview could not use, with the reason per row."""
    path = report_path(token)
    if path is None:
        abort(404)
    return send_file(path, mimetype="text/csv", as_attachment=True,
                     download_name="invalid-rows.csv", max_age=0)


# -- opt-outs ----------------------------------------------------------------------


@bp.route("/contacts/opt-outs", methods=["GET", "POST"])
def opt_outs():
    """The opt-out list, with a form to add one number."""
    form = OptOutForm()
    if form.validate_on_submit():
        added = services.opt_out(form.phone.normalized, form.reason.data, by=_actor())
        flash(_("Number opted out.") if added else _("This number was already opted out."),
              "success")
        return redirect(url_for("contacts.opt_outs"))
    search = (request.args.get("q") or "").strip()[:40]
    rows, next_after = services.opt_out_page(search, after=(request.args.get("after") or "")[:20])
    return render_template("contacts/opt_outs.html", form=form, rows=rows, search=search,
                           next_after=next_after, upload=UploadForm(prefix="import"))


@bp.post("/contacts/opt-outs/import")
def import_opt_outs():
    """Opt out every number of a file (the number column is guessed)."""
    upload = UploadForm(prefix="import")
    if not upload.validate_on_submit():
        flash(" ".join(map(str, upload.file.errors)) or str(CHOOSE_A_FILE), "error")
        return redirect(url_for("contacts.opt_outs"))
    try:
        path = upload_path(save_upload(upload.file.data))
        result = services.import_opt_outs(path, ColumnMap.for_sheet(inspect(path)),
                                          request.form.get("reason"), _actor())
    except ImportFileError as error:
        flash(str(error), "error")
        return redirect(url_for("contacts.opt_outs"))
    path.unlink(missing_ok=True)
    flash(", ".join([ngettext("%(num)d number opted out", "%(num)d numbers opted out",
                              result.added),
                     ngettext("%(num)d was already", "%(num)d were already", result.updated),
                     *_rejected_counts(result)]) + ".", "success")
    if result.report_token:
        flash(_("Invalid rows: %(link)s",
                link=url_for("contacts.invalid_rows", token=result.report_token)), "info")
    return redirect(url_for("contacts.opt_outs"))


@bp.post("/contacts/opt-outs/remove")
def remove_opt_out():
    number = (request.form.get("phone") or "").strip()
    if (question := ask_first(_("Remove %(phone)s from the opt-out list?", phone=phone(number)),
                              _("Yes, remove it"), OPT_OUT_REMOVE_DETAIL,
                              back=url_for("contacts.opt_outs"))):
        return question
    if services.remove_opt_out(number, by=_actor()):
        flash(_("The number may receive marketing messages again."), "success")
    return redirect(url_for("contacts.opt_outs"))


@bp.get("/contacts/opt-outs.csv")
def export_opt_outs():
    return export_response(services.opt_outs_table(), "csv")
