"""A deal's priced lines (stand, m², service, registration fee) and its discount."""

from __future__ import annotations

import datetime as dt

from flask import flash
from flask_login import current_user
from werkzeug.wrappers import Response

from erp_crm.auth.access import ensure, require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.core.forms import apply_errors, choices
from erp_crm.db import db
from erp_crm.deals import access, queries
from erp_crm.deals import lines as deal_lines
from erp_crm.deals.forms import DiscountForm, ServiceLineForm, SpaceLineForm, StandLineForm
from erp_crm.deals.models import DealLine
from erp_crm.deals.views.card import back, refused, workable
from erp_crm.deals.views.common import bp, int_arg
from erp_crm.errors import NotFound, ValidationError
from erp_crm.projects.models import STAND_TYPE_LABELS, ServiceItem, Stand
from erp_crm.ui import LOCAL_TZ


def _hold_until(day: dt.date | None) -> dt.datetime | None:
    """A hold «until a day» lasts to the end of that day, Moscow time."""
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=LOCAL_TZ)


@bp.route("/<int:deal_id>/lines/stand", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def add_stand(deal_id: int) -> Response | tuple[str, int]:
    deal = workable(deal_id)
    form = StandLineForm()
    form.stand_id.choices = choices(
        (s.id, s.number) for s in queries.free_stands(db.session, deal.project_id)
    )
    form.stand_id.validate_choice = False  # a stand taken meanwhile is the service's Conflict
    if form.validate_on_submit():
        stand = db.session.get(Stand, int_arg(form.stand_id.data) or 0)
        try:
            if stand is None:
                raise ValidationError(fields={"stand_id": "Выберите стенд."})
            deal_lines.add_stand_line(
                db.session,
                deal,
                stand,
                actor=current_user,
                hold_until=_hold_until(form.hold_until.data),
            )
        except ValidationError as err:
            if "until" in err.fields:
                err.fields["hold_until"] = err.fields.pop("until")
            apply_errors(form, err)
        else:
            flash(f"Стенд № {stand.number} добавлен в сделку.", "success")
            return back(deal)
    return refused(deal, stand_form=form)


@bp.route("/<int:deal_id>/lines/space", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def add_space(deal_id: int) -> Response | tuple[str, int]:
    deal = workable(deal_id)
    form = SpaceLineForm()
    form.stand_type.choices = choices(STAND_TYPE_LABELS.items())
    if form.validate_on_submit():
        try:
            deal_lines.add_space_line(
                db.session,
                deal,
                stand_type=form.stand_type.data,
                area_m2=form.area_m2.data,
                actor=current_user,
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash("Площадь добавлена в сделку.", "success")
            return back(deal)
    return refused(deal, space_form=form)


@bp.route("/<int:deal_id>/lines/service", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def add_service(deal_id: int) -> Response | tuple[str, int]:
    deal = workable(deal_id)
    form = ServiceLineForm()
    form.service_item_id.validate_choice = False  # the service checks the project's catalog
    if form.validate_on_submit():
        item = db.session.get(ServiceItem, int_arg(form.service_item_id.data) or 0)
        try:
            if item is None:
                raise ValidationError(fields={"service_item_id": "Выберите услугу."})
            deal_lines.add_service_line(
                db.session, deal, item, form.quantity.data, actor=current_user
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Услуга «{item.name}» добавлена в сделку.", "success")
            return back(deal)
    return refused(deal, service_form=form)


@bp.route("/<int:deal_id>/lines/registration", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def add_registration(deal_id: int) -> Response:
    deal = workable(deal_id)
    deal_lines.add_registration_line(db.session, deal, actor=current_user)
    flash("Регистрационный сбор добавлен в сделку.", "success")
    return back(deal)


@bp.route("/lines/<int:line_id>/remove", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def remove_line(line_id: int) -> Response:
    line = db.session.get(DealLine, line_id)
    if line is None:
        raise NotFound("Строка сделки не найдена.")
    deal = line.deal
    ensure(access.can_work_deal(current_user, deal))
    description = line.description
    deal_lines.remove_line(db.session, line, actor=current_user)
    flash(f"Строка «{description}» удалена из сделки.", "info")
    return back(deal)


@bp.route("/<int:deal_id>/discount", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def set_discount(deal_id: int) -> Response | tuple[str, int]:
    deal = workable(deal_id)
    form = DiscountForm()
    if form.validate_on_submit():
        try:
            deal_lines.set_discount(
                db.session,
                deal,
                form.discount_kind.data or None,
                form.discount_value.data,
                form.discount_reason.data,
                actor=current_user,
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash("Скидка применена." if deal.discount_kind else "Скидка снята.", "success")
            return back(deal)
    return refused(deal, discount_form=form)
