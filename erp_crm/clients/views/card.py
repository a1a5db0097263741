"""The client card and the client form (create, edit; duplicates shown before saving)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from erp_crm import signals
from erp_crm.auth.access import ensure, require_permission
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm
from erp_crm.clients import access, dedupe, groups, services, timeline
from erp_crm.clients.forms import BulkGroupForm, ClientForm, CompetitorParticipationForm
from erp_crm.clients.models import (
    CLIENT_KIND_LABELS,
    READINESS_LABELS,
    RELATIONSHIP_LABELS,
    Client,
    CompetitorExhibition,
)
from erp_crm.clients.views.common import bp, curator_choices
from erp_crm.core.forms import apply_errors, choices, form_status, form_values
from erp_crm.db import db
from erp_crm.errors import ValidationError


def _client_form(client: Client | None = None) -> ClientForm:
    form = ClientForm(obj=client)
    form.curator_id.choices = curator_choices("— без куратора —")
    if request.method == "GET" and client is not None:
        form.curator_id.data = str(client.curator_id or "")
        form.readiness.data = str(client.readiness)
    if request.method == "GET" and client is None:
        form.curator_id.data = str(current_user.id)
    return form


def _client_data(form: ClientForm) -> services.ClientData:
    return services.ClientData.from_mapping(form_values(form, "confirm_duplicate"))


@bp.route("/new", methods=["GET", "POST"])
@require_permission(Perm.CLIENTS_CREATE)
def create() -> Response | tuple[str, int]:
    form = _client_form()
    if not access.can_change_curator(current_user):
        form.curator_id.render_kw = {"disabled": True}  # a manager's new client is their own
    duplicates = []
    if form.validate_on_submit():
        data = _client_data(form)
        try:
            cleaned = services.validate_client(db.session, data)
            duplicates = dedupe.duplicates_before_saving(db.session, cleaned)
            if duplicates and not form.confirm_duplicate.data:
                form.form_errors.append(
                    "Похоже, такой контрагент уже есть. Проверьте список ниже; если это другой "
                    "контрагент, отметьте «создать всё равно»."
                )
            else:
                client = services.create_client(db.session, data, actor=current_user)
                flash(f"Контрагент «{client.name}» создан.", "success")
                return redirect(url_for("clients.show", client_id=client.id))
        except ValidationError as err:
            apply_errors(form, err)
    return render_template(
        "clients/form.html", form=form, client=None, duplicates=duplicates
    ), form_status(form)


@bp.route("/<int:client_id>/edit", methods=["GET", "POST"])
@require_permission(Perm.CLIENTS_VIEW)
def edit(client_id: int) -> Response | tuple[str, int]:
    client = services.get_client(db.session, client_id)
    ensure(access.can_edit_client(current_user, client))
    form = _client_form(client)
    if not access.can_change_curator(current_user):
        form.curator_id.render_kw = {"disabled": True}
    form.confirm_duplicate.label.text = "Это другой контрагент — сохранить всё равно"
    duplicates = []
    if form.validate_on_submit():
        data = _client_data(form)
        if not access.can_change_curator(current_user):
            data.curator_id = client.curator_id
        try:
            cleaned = services.validate_client(db.session, data, client)
            duplicates = dedupe.duplicates_before_saving(db.session, cleaned, client)
            if duplicates and not form.confirm_duplicate.data:
                form.form_errors.append(
                    "С такими данными уже есть контрагент. Проверьте список ниже; если это "
                    "другой контрагент, отметьте «сохранить всё равно»."
                )
            else:
                services.update_client(db.session, client, data, actor=current_user)
                flash("Изменения сохранены.", "success")
                return redirect(url_for("clients.show", client_id=client.id))
        except ValidationError as err:
            apply_errors(form, err)
    return render_template(
        "clients/form.html", form=form, client=client, duplicates=duplicates
    ), form_status(form)


@bp.route("/<int:client_id>")
@require_permission(Perm.CLIENTS_VIEW)
def show(client_id: int) -> str:
    client = services.get_client(db.session, client_id)
    ensure(access.can_view_client(current_user, client))
    visible = groups.visible_groups(db.session, current_user)
    member_of = {g.id for g in client.groups}
    participation_form = CompetitorParticipationForm()
    participation_form.exhibition_id.choices = choices(
        (e.id, e.name)
        for e in db.session.scalars(
            select(CompetitorExhibition)
            .where(CompetitorExhibition.is_active.is_(True))
            .order_by(CompetitorExhibition.name)
        )
    )
    bulk = BulkGroupForm(action="add")
    bulk.group_id.choices = choices(
        (g.id, g.name)
        for g in visible
        if access.can_manage_group(current_user, g) and g.id not in member_of
    )
    merged = db.session.scalars(select(Client).where(Client.merged_into_id == client.id)).all()
    return render_template(
        "clients/show.html",
        client=client,
        can_edit=access.can_edit_client(current_user, client),
        client_groups=[g for g in client.groups if access.can_use_group(current_user, g)],
        can_manage_group=lambda g: access.can_manage_group(current_user, g),
        can_edit_contact=lambda c: access.can_edit_contact(current_user, c),
        timeline=timeline.timeline(db.session, client),
        actors={u.id: u for u in db.session.scalars(select(User))},
        participation_form=participation_form,
        bulk=bulk,
        merged=merged,
        card_sections=sorted(
            signals.answers(
                signals.client_card_sections, client, session=db.session, actor=current_user
            ),
            key=lambda section: section.order,
        ),
        kinds=CLIENT_KIND_LABELS,
        readiness=READINESS_LABELS,
        relationships=RELATIONSHIP_LABELS,
    )
