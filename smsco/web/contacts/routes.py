"""The contacts pages: list, add, edit, delete, groups, import with column mapping, export,
and the opt-out list."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import Contact, ContactGroup
from . import services
from .forms import ContactForm, GroupForm, OptOutForm, UploadForm
from .importing import ColumnMap, ImportFileError, inspect, report_path, save_upload, upload_path

bp = Blueprint("contacts", __name__)

PHONE, IGNORE = "__phone__", "__ignore__"


def _csv_response(chunks, name: str) -> Response:
    filename = f"smsco-{name}-{date.today().isoformat()}.csv"
    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


# -- contacts ----------------------------------------------------------------------


@bp.get("/contacts")
def contacts():
    """Contacts newest first, searchable, one keyset page at a time."""
    search = (request.args.get("q") or "").strip()[:100]
    group_id = request.args.get("group", type=int)
    page = services.contact_page(search, group_id, before=request.args.get("before", type=int))
    return render_template("contacts/contacts.html", page=page, search=search,
                           group_id=group_id, groups=services.groups())


def _group_choices(form: ContactForm) -> None:
    form.groups.choices = [(g.id, g.name) for g in services.groups()]


@bp.route("/contacts/new", methods=["GET", "POST"])
def new_contact():
    form = ContactForm()
    _group_choices(form)
    if form.validate_on_submit():
        _contact, created = services.save_contact(None, form.phone.normalized, form.field_values(),
                                           form.groups.data or [])
        flash(_("Contact added.") if created else
              _("This number was already a contact: its fields were updated."), "success")
        return redirect(url_for("contacts.contacts"))
    return render_template("contacts/contact_form.html", form=form, contact=None)


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
def edit_contact(contact_id: int):
    contact = db.get_or_404(Contact, contact_id)
    form = ContactForm()
    _group_choices(form)
    if not form.is_submitted():
        fields = dict(contact.fields or {})
        form.phone.data, form.name.data = contact.phone, fields.pop("name", "")
        form.other_fields.data = "\n".join(f"{k}: {v}" for k, v in fields.items())
        form.groups.data = [g.id for g in contact.groups]
    if form.validate_on_submit():
        try:
            services.save_contact(contact, form.phone.normalized, form.field_values(),
                                  form.groups.data or [])
        except ValueError as error:
            form.phone.errors = [str(error)]
        else:
            flash(_("Contact saved."), "success")
            return redirect(url_for("contacts.contacts"))
    return render_template("contacts/contact_form.html", form=form, contact=contact)


@bp.post("/contacts/<int:contact_id>/delete")
def delete_contact(contact_id: int):
    services.delete_contact(db.get_or_404(Contact, contact_id))
    flash(_("Contact deleted."), "success")
    return redirect(url_for("contacts.contacts"))


@bp.get("/contacts.csv")
def export_contacts():
    return _csv_response(services.contacts_csv(), "contacts")


# -- groups ------------------------------------------------------------------------


@bp.route("/contacts/groups", methods=["GET", "POST"])
def groups():
    form = GroupForm()
    if form.validate_on_submit():
        name = form.name.data.strip()
        if db.session.scalar(select(ContactGroup).where(ContactGroup.name == name)):
            form.name.errors = [_("A group with this name exists.")]
        else:
            db.session.add(ContactGroup(name=name))
            db.session.commit()
            flash(_("Group “%(name)s” created.", name=name), "success")
            return redirect(url_for("contacts.groups"))
    return render_template("contacts/groups.html", form=form, groups=services.groups(),
                           sizes=services.group_sizes())


@bp.post("/contacts/groups/<int:group_id>/delete")
def delete_group(group_id: int):
    group = db.get_or_404(ContactGroup, group_id)
    db.session.delete(group)
    db.session.commit()
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
            result = services.import_contacts(path, columns, group)
            path.unlink(missing_ok=True)
            flash(_("Import finished: %(added)s added, %(updated)s updated, %(invalid)s "
                    "invalid, %(duplicates)s duplicates within the file.",
                    added=result.added, updated=result.updated, invalid=result.invalid,
                    duplicates=result.duplicates), "success")
            return redirect(url_for("contacts.import_done", added=result.added,
                                    updated=result.updated, invalid=result.invalid,
                                    duplicates=result.duplicates,
                                    report=result.report_token or "",
                                    group=group.id if group else ""))
    return render_template("contacts/import_map.html", sheet=sheet, token=token,
                           phone_column=sheet.guess_phone_column(), groups=services.groups(),
                           error=error, PHONE=PHONE, IGNORE=IGNORE)


def _columns_from_form(width: int, has_header: bool) -> tuple[ColumnMap | None, str | None]:
    phone, fields = None, {}
    for index in range(width):
        choice = (request.form.get(f"column-{index}") or IGNORE).strip()
        if choice == PHONE:
            if phone is not None:
                return None, _("Choose “Phone number” for one column only.")
            phone = index
        elif choice != IGNORE:
            fields[index] = choice
    if phone is None:
        return None, _("Choose which column holds the phone number.")
    return ColumnMap(phone, fields, has_header), None


def _target_group() -> ContactGroup | None:
    new_name = (request.form.get("new_group") or "").strip()[:120]
    if new_name:
        group = db.session.scalar(select(ContactGroup).where(ContactGroup.name == new_name))
        if group is None:
            group = ContactGroup(name=new_name)
            db.session.add(group)
            db.session.commit()
        return group
    group_id = request.form.get("group", type=int)
    return db.session.get(ContactGroup, group_id) if group_id else None


@bp.get("/contacts/import/done")
def import_done():
    counts = {key: request.args.get(key, 0, type=int)
              for key in ("added", "updated", "invalid", "duplicates")}
    group = db.session.get(ContactGroup, request.args.get("group", type=int) or 0)
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
        added = services.add_opt_outs([form.phone.normalized], form.reason.data,
                                      current_user._get_current_object())
        flash(_("Number opted out.") if added else _("This number was already opted out."),
              "success")
        return redirect(url_for("contacts.opt_outs"))
    search = (request.args.get("q") or "").strip()[:40]
    rows, next_after = services.opt_out_page(search, after=request.args.get("after"))
    return render_template("contacts/opt_outs.html", form=form, rows=rows, search=search,
                           next_after=next_after, upload=UploadForm(prefix="import"))


@bp.post("/contacts/opt-outs/import")
def import_opt_outs():
    """Opt out every number of a file (the number column is guessed)."""
    upload = UploadForm(prefix="import")
    if not upload.validate_on_submit():
        flash(" ".join(upload.file.errors) or _("Choose a CSV or XLSX file."), "error")
        return redirect(url_for("contacts.opt_outs"))
    try:
        path = upload_path(save_upload(upload.file.data))
        result = services.import_opt_outs(path, ColumnMap.for_sheet(inspect(path)),
                                          request.form.get("reason"),
                                          current_user._get_current_object())
    except ImportFileError as error:
        flash(str(error), "error")
        return redirect(url_for("contacts.opt_outs"))
    path.unlink(missing_ok=True)
    flash(_("%(added)s numbers opted out, %(updated)s were already, %(invalid)s invalid, "
            "%(duplicates)s duplicates within the file.", added=result.added,
            updated=result.updated, invalid=result.invalid, duplicates=result.duplicates),
          "success")
    if result.report_token:
        flash(_("Invalid rows: %(link)s",
                link=url_for("contacts.invalid_rows", token=result.report_token)), "info")
    return redirect(url_for("contacts.opt_outs"))


@bp.post("/contacts/opt-outs/remove")
def remove_opt_out():
    phone = (request.form.get("phone") or "").strip()
    if services.remove_opt_out(phone):
        flash(_("The number may receive marketing messages again."), "success")
    return redirect(url_for("contacts.opt_outs"))


@bp.get("/contacts/opt-outs.csv")
def export_opt_outs():
    return _csv_response(services.opt_outs_csv(), "opt-outs")
