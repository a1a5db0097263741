"""The contact persons of a client card: add, edit, archive (shared phones/e-mails warned of)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from erp_crm.auth.access import ensure, require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.clients import access, contacts, dedupe, services
from erp_crm.clients.forms import ContactForm
from erp_crm.clients.models import Client, ContactPerson
from erp_crm.clients.views.common import bp, curator_choices
from erp_crm.core.forms import apply_errors, form_status, form_values
from erp_crm.core.text import display_phone
from erp_crm.db import db
from erp_crm.errors import ValidationError


def _contact_form(contact=None) -> ContactForm:
    form = ContactForm(obj=contact)
    form.curator_id.choices = curator_choices("— как у клиента —")
    if request.method == "GET" and contact is not None:
        form.phones.data = "\n".join(display_phone(p) for p in contact.phones)
        form.emails.data = "\n".join(contact.emails)
        form.curator_id.data = str(contact.curator_id or "")
    return form


@bp.route("/<int:client_id>/contacts/new", methods=["GET", "POST"])
@require_permission(Perm.CLIENTS_VIEW)
def add_contact(client_id: int) -> Response | tuple[str, int]:
    client = services.get_client(db.session, client_id)
    ensure(access.can_edit_client(current_user, client))
    form = _contact_form()
    if form.validate_on_submit():
        try:
            contact = contacts.add_contact(
                db.session,
                client,
                contacts.ContactData.from_mapping(form_values(form)),
                actor=current_user,
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash("Контактное лицо добавлено.", "success")
            _warn_shared_channels(client, contact)
            return redirect(url_for("clients.show", client_id=client.id))
    return render_template(
        "clients/contact_form.html", form=form, client=client, contact=None
    ), form_status(form)


def _warn_shared_channels(client: Client, contact: ContactPerson) -> None:
    if warning := dedupe.shared_channels_warning(db.session, client, contact):
        flash(warning, "warning")


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@require_permission(Perm.CLIENTS_VIEW)
def edit_contact(contact_id: int) -> Response | tuple[str, int]:
    contact = contacts.get_contact(db.session, contact_id)
    ensure(access.can_edit_contact(current_user, contact))
    form = _contact_form(contact)
    if form.validate_on_submit():
        try:
            contacts.update_contact(
                db.session,
                contact,
                contacts.ContactData.from_mapping(form_values(form)),
                actor=current_user,
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash("Контактное лицо сохранено.", "success")
            _warn_shared_channels(contact.client, contact)
            return redirect(url_for("clients.show", client_id=contact.client_id))
    return render_template(
        "clients/contact_form.html", form=form, client=contact.client, contact=contact
    ), form_status(form)


@bp.route("/contacts/<int:contact_id>/archive", methods=["POST"])
@require_permission(Perm.CLIENTS_VIEW)
def archive_contact(contact_id: int) -> Response:
    contact = contacts.get_contact(db.session, contact_id)
    ensure(access.can_edit_contact(current_user, contact))
    contacts.set_contact_active(db.session, contact, not contact.is_active, actor=current_user)
    flash("Контакт в архиве." if not contact.is_active else "Контакт восстановлен.", "info")
    return redirect(url_for("clients.show", client_id=contact.client_id))
