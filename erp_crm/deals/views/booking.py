"""The stand page with reserve / release: booking a stand with a deal, on the projects blueprint
(its endpoints stay projects.stand_*). The deals area owns «a stand in a deal»; projects only
knows the stand's atomic status changes.
"""

from __future__ import annotations

import datetime as dt

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from erp_crm.auth.access import require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.core.forms import apply_errors, choices
from erp_crm.db import db
from erp_crm.deals import access as deal_access
from erp_crm.deals import booking
from erp_crm.deals.models import Deal
from erp_crm.errors import ValidationError
from erp_crm.projects import access as project_access
from erp_crm.projects import stand_services as ss
from erp_crm.projects import stands
from erp_crm.projects.forms import ReserveForm
from erp_crm.projects.models import (
    STAND_POSITION_LABELS,
    STAND_STATUS_LABELS,
    STAND_TYPE_LABELS,
    Stand,
)
from erp_crm.projects.views.common import bp, deal_url
from erp_crm.ui import LOCAL_TZ


def _today() -> dt.date:
    return dt.datetime.now(LOCAL_TZ).date()


# --- the stand page: reserve and release --------------------------------------------------------


def _reserve_form(stand: Stand) -> ReserveForm:
    form = ReserveForm()
    deals = booking.open_deals_for(db.session, stand.project_id, current_user)
    form.deal_id.choices = choices(
        [
            ("", "— выберите сделку —"),
            *(
                (d.id, f"{d.client.name} — {d.audit_label()} ({d.manager.full_name})")
                for d in deals
            ),
        ]
    )
    if request.method == "GET":
        form.until.data = _today() + stands.DEFAULT_HOLD
        if stand.deal_id and any(d.id == stand.deal_id for d in deals):
            form.deal_id.data = str(stand.deal_id)
    return form


def _stand_page(stand: Stand, form: ReserveForm, status: int = 200) -> tuple[str, int]:
    effective = stands.effective_status(stand)
    holder_id = stands.effective_deal_id(stand)
    holder = db.session.get(Deal, holder_id) if holder_id else None
    return render_template(
        "projects/stand.html",
        stand=stand,
        project=stand.project,
        status=effective,
        statuses=STAND_STATUS_LABELS,
        types=STAND_TYPE_LABELS,
        positions=STAND_POSITION_LABELS,
        holder=holder,
        holder_url=deal_url(holder.id) if holder else None,
        form=form,
        can_manage=project_access.can_manage_projects(current_user),
        can_reserve=project_access.can_hold_stands(current_user) and stand.is_active,
        can_release=(
            holder is not None
            and effective == "reserved"
            and deal_access.can_act_for_deal(current_user, holder)
        ),
    ), status


@bp.route("/stands/<int:stand_id>")
@require_permission(Perm.PROJECTS_VIEW)
def stand_show(stand_id: int) -> tuple[str, int]:
    stands.release_expired(db.session)
    stand = ss.get_stand(db.session, stand_id)
    return _stand_page(stand, _reserve_form(stand))


@bp.route("/stands/<int:stand_id>/reserve", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def stand_reserve(stand_id: int) -> Response | tuple[str, int]:
    stand = ss.get_stand(db.session, stand_id)
    form = _reserve_form(stand)
    if form.validate_on_submit():
        try:
            if form.until.data < _today():
                raise ValidationError(fields={"until": "Срок брони должен быть в будущем."})
            stand = booking.reserve_for_deal(
                db.session,
                stand.id,
                form.deal_id.data,
                until=ss.hold_end(form.until.data),
                actor=current_user,
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Стенд № {stand.number} забронирован до {form.until.data:%d.%m.%Y}.", "success")
            return redirect(url_for("projects.stand_show", stand_id=stand.id))
    return _stand_page(stand, form, 422)


@bp.route("/stands/<int:stand_id>/release", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def stand_release(stand_id: int) -> Response:
    stand = ss.get_stand(db.session, stand_id)
    was_held = stands.effective_deal_id(stand) is not None
    stand = booking.release_by(db.session, stand.id, actor=current_user)
    flash(f"Бронь стенда № {stand.number} снята." if was_held else "Стенд и так свободен.", "info")
    return redirect(url_for("projects.stand_show", stand_id=stand.id))
