"""The deal's card: its forms, its details, moving it to a stage, losing it."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from erp_crm import signals
from erp_crm.auth.access import ensure, require_permission
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm
from erp_crm.core.forms import apply_errors, choices
from erp_crm.db import db
from erp_crm.deals import access, next_steps, pipelines, queries, services
from erp_crm.deals.forms import (
    DetailsForm,
    DiscountForm,
    LostForm,
    ServiceLineForm,
    SpaceLineForm,
    StageForm,
    StandLineForm,
)
from erp_crm.deals.models import Deal, DealStageChange, Pipeline, Stage
from erp_crm.deals.views.common import bp, contact_choices
from erp_crm.errors import ValidationError
from erp_crm.projects import stands as stand_ops
from erp_crm.projects.models import (
    STAND_POSITION_LABELS,
    STAND_TYPE_LABELS,
    ServiceItem,
    Stand,
    StandPrice,
)
from erp_crm.ui import ru_number


def _stage_choices() -> list[SelectChoice]:
    return [
        SelectChoice(str(s.id), f"{s.name} — {s.percent}%", optgroup=s.pipeline.name)
        for s in queries.active_stages(db.session)
    ]


def _stand_label(stand: Stand) -> str:
    return (
        f"{stand.hall.name}, № {stand.number} — {ru_number(stand.area_m2)} м², "
        f"{STAND_TYPE_LABELS[stand.stand_type].lower()}, "  # type: ignore[index]
        f"{STAND_POSITION_LABELS[stand.position].lower()}"  # type: ignore[index]
    )


def _card_forms(deal: Deal, given: dict[str, Any]) -> dict[str, Any]:
    """Every form of the card; a submitted one (with its errors) comes in `given`."""
    forms: dict[str, Any] = {}

    stage_form = given.get("stage_form") or StageForm(formdata=None, stage_id=str(deal.stage_id))
    stage_form.stage_id.choices = _stage_choices()
    forms["stage_form"] = stage_form

    lost_form = given.get("lost_form") or LostForm(formdata=None)
    lost_form.lost_reason_id.choices = choices(
        [
            ("", "— выберите причину —"),
            *((r.id, r.name) for r in pipelines.lost_reasons(db.session, active_only=True)),
        ]
    )
    forms["lost_form"] = lost_form

    stand_form = given.get("stand_form") or StandLineForm(formdata=None)
    stand_form.stand_id.choices = choices(
        [("", "— выберите стенд —")]
        + [(s.id, _stand_label(s)) for s in queries.free_stands(db.session, deal.project_id)]
    )
    forms["stand_form"] = stand_form

    space_form = given.get("space_form") or SpaceLineForm(formdata=None)
    prices = db.session.scalars(
        select(StandPrice)
        .where(StandPrice.project_id == deal.project_id)
        .order_by(StandPrice.stand_type)
    )
    space_form.stand_type.choices = choices(
        (
            p.stand_type,
            f"{STAND_TYPE_LABELS[p.stand_type]} — {ru_number(p.price_per_m2)} ₽/м²",  # type: ignore[index]
        )
        for p in prices
    )
    forms["space_form"] = space_form

    service_form = given.get("service_form") or ServiceLineForm(formdata=None)
    service_form.service_item_id.choices = choices(
        [("", "— выберите услугу —")]
        + [
            (s.id, f"{s.name} — {ru_number(s.price)} ₽/{s.unit}")
            for s in db.session.scalars(
                select(ServiceItem)
                .where(ServiceItem.project_id == deal.project_id, ServiceItem.is_active.is_(True))
                .order_by(ServiceItem.name)
            )
        ]
    )
    forms["service_form"] = service_form

    forms["discount_form"] = given.get("discount_form") or DiscountForm(
        formdata=None,
        discount_kind=deal.discount_kind or "",
        discount_value=ru_number(deal.discount_value) if deal.discount_value else "",
        discount_reason=deal.discount_reason or "",
    )

    details_form = given.get("details_form") or DetailsForm(
        formdata=None, title=deal.title, contact_id=str(deal.contact_id or "")
    )
    details_form.contact_id.choices = contact_choices(deal.client)
    forms["details_form"] = details_form
    return forms


def _render_card(deal: Deal, status: int = 200, **given: Any) -> tuple[str, int]:
    changes = db.session.scalars(
        select(DealStageChange)
        .where(DealStageChange.deal_id == deal.id)
        .order_by(DealStageChange.at.desc(), DealStageChange.id.desc())
    ).all()
    stage_ids = {c.to_stage_id for c in changes} | {c.from_stage_id for c in changes}
    stages = {
        s.id: s for s in db.session.scalars(select(Stage).where(Stage.id.in_(stage_ids - {None})))
    }
    actor_ids = {c.actor_id for c in changes if c.actor_id}
    actors = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actor_ids)))}
    stand_ids = [line.stand_id for line in deal.lines if line.stand_id]
    stands = {s.id: s for s in db.session.scalars(select(Stand).where(Stand.id.in_(stand_ids)))}
    base_total = sum((line.base_amount for line in deal.lines), start=0)
    discount_total = sum((line.discount for line in deal.lines), start=0)
    can_work = access.can_work_deal(current_user, deal)
    # Lines, discount and prices as the issued documents say them: no controls that would refuse.
    frozen = signals.answers(signals.deal_pricing_refusal, deal, session=db.session)
    return render_template(
        "deals/show.html",
        deal=deal,
        can_work=can_work,
        can_reprice=can_work and deal.outcome != "lost" and not frozen,
        pricing_frozen=frozen[0] if frozen else None,
        changes=changes,
        stages=stages,
        actors=actors,
        stands=stands,
        stand_status=stand_ops.effective_status,
        base_total=base_total,
        discount_total=discount_total,
        pipelines={p.id: p for p in db.session.scalars(select(Pipeline))},
        next_contact=next_steps.next_contact(db.session, deal.id),
        card_sections=sorted(
            signals.answers(
                signals.deal_card_sections, deal, session=db.session, actor=current_user
            ),
            key=lambda section: section.order,
        ),
        **(_card_forms(deal, given) if can_work else {}),
    ), status


@bp.route("/<int:deal_id>")
@require_permission(Perm.DEALS_VIEW)
def show(deal_id: int) -> tuple[str, int]:
    return _render_card(services.get_deal(db.session, deal_id))


def workable(deal_id: int) -> Deal:
    deal = services.get_deal(db.session, deal_id)
    ensure(access.can_work_deal(current_user, deal))
    return deal


def back(deal: Deal) -> Response:
    return redirect(url_for("deals.show", deal_id=deal.id))


def refused(deal: Deal, **given: Any) -> tuple[str, int]:
    """Show the card again with the submitted form's errors in place (status 422).

    Whatever the service changed before it refused is rolled back first, so the card shows the
    deal as it is stored.
    """
    deal_id = deal.id
    db.session.rollback()
    return _render_card(services.get_deal(db.session, deal_id), 422, **given)


# --- actions: each one service call ----------------------------------------------------------


@bp.route("/<int:deal_id>/details", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def update_details(deal_id: int) -> Response | tuple[str, int]:
    deal = workable(deal_id)
    form = DetailsForm()
    if form.validate_on_submit():
        try:
            services.update_details(
                db.session,
                deal,
                title=form.title.data,
                contact_id=form.contact_id.data,
                actor=current_user,
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash("Сделка сохранена.", "success")
            return back(deal)
    return refused(deal, details_form=form)


@bp.route("/<int:deal_id>/stage", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def move(deal_id: int) -> Response | tuple[str, int]:
    deal = workable(deal_id)
    form = StageForm()
    if form.validate_on_submit():
        try:
            stage = services.get_stage(db.session, form.stage_id.data)
            services.move_to_stage(
                db.session,
                deal,
                stage,
                actor=current_user,
                note=form.note.data,
                next_contact_date=form.next_contact_date.data,
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Сделка на этапе «{stage.name}» ({stage.percent}%).", "success")
            return back(deal)
    return refused(deal, stage_form=form)


@bp.route("/<int:deal_id>/lose", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def lose(deal_id: int) -> Response | tuple[str, int]:
    deal = workable(deal_id)
    form = LostForm()
    if form.validate_on_submit():
        try:
            services.mark_lost(
                db.session,
                deal,
                form.lost_reason_id.data,
                form.lost_comment.data,
                actor=current_user,
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash("Сделка закрыта как проигранная.", "info")
            return back(deal)
    return refused(deal, lost_form=form)
