"""The project pages: the list, the card, create/edit, halls, the price list and the services
catalog (on the `projects` blueprint of common.py)."""

from __future__ import annotations

from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from erp_crm.auth.access import ensure, require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.core.forms import apply_errors, choices, form_status
from erp_crm.db import db, utcnow
from erp_crm.errors import ValidationError
from erp_crm.projects import access, plans, services
from erp_crm.projects import prices as price_lists
from erp_crm.projects import stand_services as ss
from erp_crm.projects.forms import HallForm, PriceListForm, ProjectForm, ServiceForm
from erp_crm.projects.models import (
    PROJECT_STATUS_LABELS,
    STAND_STATUS_LABELS,
    Project,
    Stand,
    StandStatus,
    StandType,
)
from erp_crm.projects.values import SURCHARGE_KINDS, VAT_MODE_LABELS, VAT_SETTINGS
from erp_crm.projects.views.common import bp


@bp.app_template_global("project_status_label")
def project_status_label(status: str) -> str:
    return PROJECT_STATUS_LABELS.get(status, status)  # type: ignore[call-overload]


# --- projects -----------------------------------------------------------------------------------


@bp.route("/")
@require_permission(Perm.PROJECTS_VIEW)
def index() -> str:
    status = request.args.get("status") or None
    projects = services.list_projects(db.session, status=status)
    effective = ss.effective_status_sql(utcnow()).label("status")
    areas: dict[int, dict[str, object]] = {}
    for project_id, key, area in db.session.execute(
        select(Stand.project_id, effective, func.sum(Stand.area_m2))
        .where(Stand.is_active.is_(True))
        .group_by(Stand.project_id, effective)
    ):
        areas.setdefault(project_id, {})[key] = area
    return render_template(
        "projects/index.html",
        projects=projects,
        areas=areas,
        status=status,
        statuses=PROJECT_STATUS_LABELS,
        summary=plans.projects_summary(db.session, projects),
        can_manage=access.can_manage_projects(current_user),
    )


def _project_form(project: Project | None = None) -> ProjectForm:
    form = ProjectForm(obj=project)
    form.project_manager_id.choices = choices(
        [
            ("", "— не назначен —"),
            *((u.id, u.full_name) for u in services.manager_candidates(db.session)),
        ]
    )
    team = services.team_candidates(db.session)
    if project is not None:  # a deactivated member stays listed while in the team
        known = {u.id for u in team}
        team += [m.user for m in project.members if m.user_id not in known]
    form.member_ids.choices = choices((u.id, u.full_name) for u in team)
    if request.method == "GET":
        if project is not None:
            form.project_manager_id.data = str(project.project_manager_id or "")
            form.member_ids.data = [str(m.user_id) for m in project.members]
        else:
            form.project_manager_id.data = (
                str(current_user.id)
                if any(str(current_user.id) == c.value for c in form.project_manager_id.choices)
                else ""
            )
    return form


def _project_data(form: ProjectForm) -> services.ProjectData:
    return services.ProjectData(
        name=form.name.data,
        code=form.code.data,
        venue=form.venue.data,
        city=form.city.data,
        build_up_date=form.build_up_date.data,
        opening_date=form.opening_date.data,
        closing_date=form.closing_date.data,
        dismantling_date=form.dismantling_date.data,
        status=form.status.data,
        description=form.description.data,
        project_manager_id=form.project_manager_id.data,
        member_ids=form.member_ids.data or [],
    )


@bp.route("/new", methods=["GET", "POST"])
@require_permission(Perm.PROJECTS_MANAGE)
def create() -> Response | tuple[str, int]:
    form = _project_form()
    if form.validate_on_submit():
        try:
            project = services.create_project(db.session, _project_data(form), actor=current_user)
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Проект «{project.name}» создан. Добавьте залы, цены и стенды.", "success")
            return redirect(url_for("projects.show", project_id=project.id))
    return render_template("projects/form.html", form=form, project=None), form_status(form)


@bp.route("/<int:project_id>/edit", methods=["GET", "POST"])
@require_permission(Perm.PROJECTS_MANAGE)
def edit(project_id: int) -> Response | tuple[str, int]:
    project = services.get_project(db.session, project_id)
    form = _project_form(project)
    if form.validate_on_submit():
        try:
            services.update_project(db.session, project, _project_data(form), actor=current_user)
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash("Изменения сохранены.", "success")
            return redirect(url_for("projects.show", project_id=project.id))
    return render_template("projects/form.html", form=form, project=project), form_status(form)


@bp.route("/<int:project_id>")
@require_permission(Perm.PROJECTS_VIEW)
def show(project_id: int) -> str:
    project = services.get_project(db.session, project_id)
    empty = {s.value: ss.StatusTotal(0, Decimal("0.00")) for s in StandStatus}
    by_hall = ss.hall_totals(db.session, project.id)
    hall_totals = {h.id: by_hall.get(h.id, empty) for h in project.halls}
    return render_template(
        "projects/show.html",
        project=project,
        totals=ss.stand_totals(db.session, project.id),
        hall_totals=hall_totals,
        statuses=STAND_STATUS_LABELS,
        prices=price_lists.price_rows(project),
        surcharges=price_lists.surcharge_rows(project),
        vat_labels=VAT_SETTINGS,
        mode_labels=VAT_MODE_LABELS,
        report=plans.plan_vs_actual(db.session, project),
        can_manage=access.can_manage_projects(current_user),
        can_plan=access.can_manage_plans(current_user),
    )


# --- halls --------------------------------------------------------------------------------------


def _hall_data(form: HallForm) -> services.HallData:
    return services.HallData(
        name=form.name.data,
        width_m=form.width_m.data,
        depth_m=form.depth_m.data,
        position=form.position.data,
    )


@bp.route("/<int:project_id>/halls/new", methods=["GET", "POST"])
@require_permission(Perm.PROJECTS_MANAGE)
def hall_create(project_id: int) -> Response | tuple[str, int]:
    project = services.get_project(db.session, project_id)
    form = HallForm()
    if request.method == "GET":
        form.position.data = len(project.halls) + 1
    if form.validate_on_submit():
        try:
            hall = services.create_hall(db.session, project, _hall_data(form), actor=current_user)
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Зал «{hall.name}» добавлен.", "success")
            return redirect(url_for("projects.show", project_id=project.id))
    return render_template(
        "projects/hall_form.html", form=form, project=project, hall=None
    ), form_status(form)


@bp.route("/halls/<int:hall_id>/edit", methods=["GET", "POST"])
@require_permission(Perm.PROJECTS_MANAGE)
def hall_edit(hall_id: int) -> Response | tuple[str, int]:
    hall = services.get_hall(db.session, hall_id)
    form = HallForm(obj=hall)
    if form.validate_on_submit():
        try:
            services.update_hall(db.session, hall, _hall_data(form), actor=current_user)
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash("Зал сохранён.", "success")
            return redirect(url_for("projects.show", project_id=hall.project_id))
    return render_template(
        "projects/hall_form.html", form=form, project=hall.project, hall=hall
    ), form_status(form)


@bp.route("/halls/<int:hall_id>/delete", methods=["POST"])
@require_permission(Perm.PROJECTS_MANAGE)
def hall_delete(hall_id: int) -> Response:
    hall = services.get_hall(db.session, hall_id)
    project_id, name = hall.project_id, hall.name
    services.delete_hall(db.session, hall, actor=current_user)
    flash(f"Зал «{name}» удалён.", "info")
    return redirect(url_for("projects.show", project_id=project_id))


# --- price list and services catalog ------------------------------------------------------------


def _price_form(project: Project) -> PriceListForm:
    form = PriceListForm()
    if request.method == "GET":
        data = price_lists.PriceListData.from_model(project)
        form.registration_fee.data = str(data.registration_fee)
        form.default_vat_rate.data = data.default_vat_rate
        form.registration_vat_mode.data = data.registration_vat_mode
        for stand_type in StandType:
            price, vat = data.prices.get(stand_type.value, (None, "auto"))
            form[f"price_{stand_type.value}"].data = "" if price is None else str(price)
            form[f"vat_{stand_type.value}"].data = vat
            form[f"mode_{stand_type.value}"].data = data.modes.get(stand_type.value, "included")
        for position in price_lists.SURCHARGE_POSITIONS:
            kind, value = data.surcharges.get(position.value, ("percent", None))
            form[f"kind_{position.value}"].data = kind
            form[f"surcharge_{position.value}"].data = "" if value is None else str(value)
    return form


def _price_data(form: PriceListForm) -> price_lists.PriceListData:
    return price_lists.PriceListData(
        registration_fee=form.registration_fee.data,
        default_vat_rate=form.default_vat_rate.data,
        prices={
            t.value: (form[f"price_{t.value}"].data, form[f"vat_{t.value}"].data) for t in StandType
        },
        modes={t.value: form[f"mode_{t.value}"].data for t in StandType},
        registration_vat_mode=form.registration_vat_mode.data,
        surcharges={
            p.value: (form[f"kind_{p.value}"].data, form[f"surcharge_{p.value}"].data)
            for p in price_lists.SURCHARGE_POSITIONS
        },
    )


@bp.route("/<int:project_id>/prices", methods=["GET", "POST"])
@require_permission(Perm.PROJECTS_VIEW)
def prices(project_id: int) -> Response | tuple[str, int]:
    project = services.get_project(db.session, project_id)
    can_manage = access.can_manage_projects(current_user)
    form = _price_form(project)
    if request.method == "POST":
        ensure(can_manage)
        if form.validate_on_submit():
            try:
                price_lists.save_price_list(
                    db.session, project, _price_data(form), actor=current_user
                )
            except ValidationError as err:
                apply_errors(form, err)
            else:
                flash(
                    "Прайс-лист сохранён. Уже рассчитанные сделки сохраняют свои цены.", "success"
                )
                return redirect(url_for("projects.prices", project_id=project.id))
    return render_template(
        "projects/prices.html",
        form=form,
        project=project,
        can_manage=can_manage,
        price_rows=price_lists.price_rows(project),
        surcharge_rows=price_lists.surcharge_rows(project),
        kinds=SURCHARGE_KINDS,
        vat_labels=VAT_SETTINGS,
        mode_labels=VAT_MODE_LABELS,
        stand_types=list(StandType),
        positions=price_lists.SURCHARGE_POSITIONS,
    ), form_status(form)


def _service_data(form: ServiceForm) -> price_lists.ServiceData:
    return price_lists.ServiceData(
        name=form.name.data,
        unit=form.unit.data,
        unit_code=form.unit_code.data,
        price=form.price.data,
        vat_rate=form.vat_rate.data,
        vat_mode=form.vat_mode.data,
        is_active=bool(form.is_active.data),
    )


@bp.route("/<int:project_id>/services/new", methods=["GET", "POST"])
@require_permission(Perm.PROJECTS_MANAGE)
def service_create(project_id: int) -> Response | tuple[str, int]:
    project = services.get_project(db.session, project_id)
    form = ServiceForm()
    if form.validate_on_submit():
        try:
            item = price_lists.create_service(
                db.session, project, _service_data(form), actor=current_user
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Услуга «{item.name}» добавлена в каталог.", "success")
            return redirect(url_for("projects.prices", project_id=project.id))
    return render_template(
        "projects/service_form.html", form=form, project=project, item=None
    ), form_status(form)


@bp.route("/services/<int:item_id>/edit", methods=["GET", "POST"])
@require_permission(Perm.PROJECTS_MANAGE)
def service_edit(item_id: int) -> Response | tuple[str, int]:
    item = price_lists.get_service(db.session, item_id)
    form = ServiceForm(obj=item)
    if request.method == "GET":
        form.price.data = str(item.price)
    if form.validate_on_submit():
        try:
            price_lists.update_service(db.session, item, _service_data(form), actor=current_user)
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash("Услуга сохранена.", "success")
            return redirect(url_for("projects.prices", project_id=item.project_id))
    return render_template(
        "projects/service_form.html", form=form, project=item.project, item=item
    ), form_status(form)
