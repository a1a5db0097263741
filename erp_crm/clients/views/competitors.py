"""Competitors' exhibitions: a client's participations (from the card) and the directory."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from erp_crm.auth.access import ensure, require_permission
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients import access, competitors, services
from erp_crm.clients.forms import CompetitorExhibitionForm, CompetitorParticipationForm
from erp_crm.clients.models import CompetitorExhibition, CompetitorParticipation
from erp_crm.clients.views.common import bp
from erp_crm.core.forms import apply_errors, choices, form_status
from erp_crm.db import db
from erp_crm.errors import NotFound, ValidationError


@bp.route("/<int:client_id>/competitors", methods=["POST"])
@require_permission(Perm.CLIENTS_VIEW)
def add_competitor(client_id: int) -> Response:
    client = services.get_client(db.session, client_id)
    ensure(access.can_edit_client(current_user, client))
    form = CompetitorParticipationForm()
    form.exhibition_id.choices = choices(
        (e.id, e.name) for e in db.session.scalars(select(CompetitorExhibition))
    )
    if not form.validate_on_submit():
        flash("Выберите выставку и год.", "danger")
    else:
        competitors.add_competitor_participation(
            db.session, client, int(form.exhibition_id.data), form.year.data, actor=current_user
        )
        flash("Участие в выставке конкурента отмечено.", "success")
    return redirect(url_for("clients.show", client_id=client.id))


@bp.route("/competitors/<int:participation_id>/delete", methods=["POST"])
@require_permission(Perm.CLIENTS_VIEW)
def delete_competitor(participation_id: int) -> Response:
    participation = db.session.get(CompetitorParticipation, participation_id)
    if participation is None:
        raise NotFound()
    ensure(access.can_edit_client(current_user, participation.client))
    client_id = participation.client_id
    competitors.remove_competitor_participation(db.session, participation, actor=current_user)
    flash("Участие снято.", "info")
    return redirect(url_for("clients.show", client_id=client_id))


@bp.route("/competitor-exhibitions", methods=["GET", "POST"])
@require_permission(Perm.CLIENTS_VIEW)
def competitor_exhibitions() -> Response | tuple[str, int]:
    form = CompetitorExhibitionForm()
    can_manage = has_permission(current_user, Perm.GROUPS_MANAGE_COMMON)
    if request.method == "POST":
        ensure(can_manage)
        if form.validate_on_submit():
            try:
                competitors.add_competitor_exhibition(
                    db.session,
                    form.name.data,
                    organizer=form.organizer.data,
                    city=form.city.data,
                    actor=current_user,
                )
            except ValidationError as err:
                apply_errors(form, err)
            else:
                flash("Выставка добавлена в справочник.", "success")
                return redirect(url_for("clients.competitor_exhibitions"))
    rows = db.session.execute(
        select(CompetitorExhibition, func.count(CompetitorParticipation.id))
        .outerjoin(CompetitorParticipation)
        .group_by(CompetitorExhibition.id)
        .order_by(CompetitorExhibition.name)
    ).all()
    return render_template(
        "clients/competitors.html", rows=rows, form=form, can_manage=can_manage
    ), form_status(form)
