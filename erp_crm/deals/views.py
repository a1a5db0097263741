"""Deal pages: list, card, lines, stage moves (the kanban board lives in kanban*.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from documents.money import rate_label
from erp_crm import signals
from erp_crm.auth.access import ensure, require_permission
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients.models import Client
from erp_crm.core import text
from erp_crm.core.forms import apply_errors, choices, form_status, form_values
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import db
from erp_crm.deals import access, next_steps, services
from erp_crm.deals import lines as deal_lines
from erp_crm.deals import pipelines as pipeline_services
from erp_crm.deals.forms import (
    DealForm,
    DetailsForm,
    DiscountForm,
    LostForm,
    ServiceLineForm,
    SpaceLineForm,
    StageForm,
    StandLineForm,
)
from erp_crm.deals.models import (
    LINE_KIND_LABELS,
    OUTCOME_LABELS,
    Deal,
    DealLine,
    DealStageChange,
    Pipeline,
    Stage,
)
from erp_crm.errors import NotFound, ValidationError
from erp_crm.projects import stands as stand_ops
from erp_crm.projects.models import (
    STAND_POSITION_LABELS,
    STAND_STATUS_LABELS,
    STAND_TYPE_LABELS,
    Project,
    ProjectStatus,
    ServiceItem,
    Stand,
    StandPrice,
)
from erp_crm.ui import LOCAL_TZ, ru_number

bp = Blueprint("deals", __name__, url_prefix="/deals")

CLIENT_CHOICES_LIMIT = 50


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "vat_label": rate_label,
        "line_kinds": LINE_KIND_LABELS,
        "outcomes": OUTCOME_LABELS,
        "stand_types": STAND_TYPE_LABELS,
        "stand_statuses": STAND_STATUS_LABELS,
    }


def _sellers() -> list[User]:
    users = db.session.scalars(
        select(User).where(User.is_active.is_(True)).order_by(User.full_name)
    )
    return [u for u in users if has_permission(u, Perm.DEALS_WORK)]


# --- list ---------------------------------------------------------------------------------------


@bp.route("/")
@require_permission(Perm.DEALS_VIEW)
def index() -> str:
    flt = services.DealFilter.from_args(request.args)
    query = services.deal_query(flt)
    page = paginate(
        db.session,
        query.options(
            selectinload(Deal.client),
            selectinload(Deal.project),
            selectinload(Deal.stage),
            selectinload(Deal.manager),
        ),
        page=parse_page(request.args.get("page")),
        per_page=current_app.config["ITEMS_PER_PAGE"],
    )
    managers = {u.id: u for u in _sellers()}
    used = select(Deal.manager_id).distinct()
    for user in db.session.scalars(select(User).where(User.id.in_(used))):
        managers.setdefault(user.id, user)
    return render_template(
        "deals/index.html",
        page=page,
        flt=flt,
        sums=services.deal_sums(db.session, query),
        projects=db.session.scalars(
            select(Project).order_by(Project.opening_date.desc(), Project.name)
        ).all(),
        pipelines=pipeline_services.pipelines(db.session),
        managers=sorted(managers.values(), key=lambda u: u.full_name),
        can_work=lambda deal: access.can_work_deal(current_user, deal),
        next_contacts=next_steps.next_contacts(db.session, [d.id for d in page.items]),
    )


# --- creation -----------------------------------------------------------------------------------


def _client_choices(q: str, selected: Client | None) -> list:
    query = select(Client).where(Client.merged_into_id.is_(None))
    if q:
        digits = q.replace(" ", "")
        pattern = text.like_pattern(text.normalize(q))
        condition = Client.name_norm.like(pattern, escape="\\")
        if digits.isdigit():
            condition = condition | (Client.inn == digits)
        query = query.where(condition)
    found = list(db.session.scalars(query.order_by(Client.name).limit(CLIENT_CHOICES_LIMIT)))
    if selected is not None and selected not in found:
        found.insert(0, selected)
    label = "— выберите контрагента —" if found else "— никого не найдено —"
    return choices(
        [
            ("", label),
            *(
                (
                    c.id,
                    c.name
                    + (f", ИНН {c.inn}" if c.inn else "")
                    + (f", {c.city}" if c.city else ""),
                )
                for c in found
            ),
        ]
    )


def _contact_choices(client: Client | None, empty: str = "— не указано —") -> list:
    if client is None:
        return choices([("", "— сначала выберите контрагента —")])
    return choices(
        [
            ("", empty),
            *(
                (c.id, c.full_name + (f", {c.position}" if c.position else ""))
                for c in client.contacts
                if c.is_active
            ),
        ]
    )


def _int_arg(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@bp.route("/new", methods=["GET", "POST"])
@require_permission(Perm.DEALS_WORK)
def create() -> Response | tuple[str, int]:
    form = DealForm()
    if request.method == "GET":  # prefill: from the client card, or «Показать контакты»
        for name in ("client_id", "project_id", "contact_id", "title", "manager_id"):
            if request.args.get(name):
                form[name].data = request.args[name]
    q = (request.args.get("q") or "").strip()[:200]
    client_id = _int_arg(form.client_id.data)
    client = db.session.get(Client, client_id) if client_id else None
    client_choices = _client_choices(q, client)
    form.project_id.choices = choices(
        [
            ("", "— выберите проект —"),
            *(
                (p.id, f"{p.name} ({p.opening_date:%d.%m.%Y})")
                for p in db.session.scalars(
                    select(Project)
                    .where(Project.status != ProjectStatus.CLOSED.value)
                    .order_by(Project.opening_date, Project.name)
                )
            ),
        ]
    )
    form.contact_id.choices = _contact_choices(client)
    can_assign = has_permission(current_user, Perm.DEALS_ALL)
    form.manager_id.choices = choices(
        [("", "— я —"), *((u.id, u.full_name) for u in _sellers() if u.id != current_user.id)]
    )
    if form.validate_on_submit():
        values = form_values(form)
        if not can_assign:
            values["manager_id"] = None
        try:
            deal = services.create_deal(
                db.session, services.DealData.from_mapping(values), actor=current_user
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Сделка «{deal.audit_label()}» открыта.", "success")
            return redirect(url_for("deals.show", deal_id=deal.id))
    return render_template(
        "deals/new.html",
        form=form,
        q=q,
        client=client,
        client_choices=client_choices,
        can_assign=can_assign,
    ), form_status(form)


# --- the card -----------------------------------------------------------------------------------


def _stage_choices() -> list[SelectChoice]:
    return [
        SelectChoice(str(s.id), f"{s.name} — {s.percent}%", optgroup=s.pipeline.name)
        for s in services.active_stages(db.session)
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

    stage_form = given.get("stage_form") or StageForm(
        formdata=None, stage_id=str(deal.stage_id)
    )
    stage_form.stage_id.choices = _stage_choices()
    forms["stage_form"] = stage_form

    lost_form = given.get("lost_form") or LostForm(formdata=None)
    lost_form.lost_reason_id.choices = choices(
        [
            ("", "— выберите причину —"),
            *((r.id, r.name) for r in pipeline_services.lost_reasons(db.session, active_only=True)),
        ]
    )
    forms["lost_form"] = lost_form

    stand_form = given.get("stand_form") or StandLineForm(formdata=None)
    stand_form.stand_id.choices = choices(
        [("", "— выберите стенд —")]
        + [(s.id, _stand_label(s)) for s in services.free_stands(db.session, deal.project_id)]
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
    details_form.contact_id.choices = _contact_choices(deal.client)
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


def _workable(deal_id: int) -> Deal:
    deal = services.get_deal(db.session, deal_id)
    ensure(access.can_work_deal(current_user, deal))
    return deal


def _back(deal: Deal) -> Response:
    return redirect(url_for("deals.show", deal_id=deal.id))


def _refused(deal: Deal, **given: Any) -> tuple[str, int]:
    """Show the card again with the submitted form's errors in place (status 422).

    Whatever the service changed before it refused is rolled back first, so the card shows the
    deal as it is stored.
    """
    deal_id = deal.id
    db.session.rollback()
    return _render_card(services.get_deal(db.session, deal_id), 422, **given)


# --- actions: each one service call -------------------------------------------------------------


@bp.route("/<int:deal_id>/details", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def update_details(deal_id: int) -> Response | tuple[str, int]:
    deal = _workable(deal_id)
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
            return _back(deal)
    return _refused(deal, details_form=form)


@bp.route("/<int:deal_id>/stage", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def move(deal_id: int) -> Response | tuple[str, int]:
    deal = _workable(deal_id)
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
            return _back(deal)
    return _refused(deal, stage_form=form)


@bp.route("/<int:deal_id>/lose", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def lose(deal_id: int) -> Response | tuple[str, int]:
    deal = _workable(deal_id)
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
            return _back(deal)
    return _refused(deal, lost_form=form)


def _hold_until(day: dt.date | None) -> dt.datetime | None:
    """A hold «until a day» lasts to the end of that day, Moscow time."""
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=LOCAL_TZ)


@bp.route("/<int:deal_id>/lines/stand", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def add_stand(deal_id: int) -> Response | tuple[str, int]:
    deal = _workable(deal_id)
    form = StandLineForm()
    form.stand_id.choices = choices(
        (s.id, s.number) for s in services.free_stands(db.session, deal.project_id)
    )
    form.stand_id.validate_choice = False  # a stand taken meanwhile is the service's Conflict
    if form.validate_on_submit():
        stand = db.session.get(Stand, _int_arg(form.stand_id.data) or 0)
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
            return _back(deal)
    return _refused(deal, stand_form=form)


@bp.route("/<int:deal_id>/lines/space", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def add_space(deal_id: int) -> Response | tuple[str, int]:
    deal = _workable(deal_id)
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
            return _back(deal)
    return _refused(deal, space_form=form)


@bp.route("/<int:deal_id>/lines/service", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def add_service(deal_id: int) -> Response | tuple[str, int]:
    deal = _workable(deal_id)
    form = ServiceLineForm()
    form.service_item_id.validate_choice = False  # the service checks the project's catalog
    if form.validate_on_submit():
        item = db.session.get(ServiceItem, _int_arg(form.service_item_id.data) or 0)
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
            return _back(deal)
    return _refused(deal, service_form=form)


@bp.route("/<int:deal_id>/lines/registration", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def add_registration(deal_id: int) -> Response:
    deal = _workable(deal_id)
    deal_lines.add_registration_line(db.session, deal, actor=current_user)
    flash("Регистрационный сбор добавлен в сделку.", "success")
    return _back(deal)


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
    return _back(deal)


@bp.route("/<int:deal_id>/discount", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def set_discount(deal_id: int) -> Response | tuple[str, int]:
    deal = _workable(deal_id)
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
            return _back(deal)
    return _refused(deal, discount_form=form)


# The stand page with booking registers on the projects blueprint (one-way: deals → projects).
from erp_crm.deals import booking_views  # noqa: E402, F401
