"""The deals list with its filter and sums, and opening a new deal."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from erp_crm.auth.access import require_permission
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients.models import Client
from erp_crm.core import text
from erp_crm.core.forms import apply_errors, choices, form_status, form_values
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import db
from erp_crm.deals import access, next_steps, pipelines, queries, services
from erp_crm.deals.forms import DealForm
from erp_crm.deals.models import Deal
from erp_crm.deals.views.common import bp, contact_choices, int_arg, sellers
from erp_crm.errors import ValidationError
from erp_crm.projects.models import Project, ProjectStatus

CLIENT_CHOICES_LIMIT = 50


@bp.route("/")
@require_permission(Perm.DEALS_VIEW)
def index() -> str:
    flt = queries.DealFilter.from_args(request.args)
    query = queries.deal_query(flt)
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
    managers = {u.id: u for u in sellers()}
    used = select(Deal.manager_id).distinct()
    for user in db.session.scalars(select(User).where(User.id.in_(used))):
        managers.setdefault(user.id, user)
    return render_template(
        "deals/index.html",
        page=page,
        flt=flt,
        sums=queries.deal_sums(db.session, query),
        projects=db.session.scalars(
            select(Project).order_by(Project.opening_date.desc(), Project.name)
        ).all(),
        pipelines=pipelines.pipelines(db.session),
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


@bp.route("/new", methods=["GET", "POST"])
@require_permission(Perm.DEALS_WORK)
def create() -> Response | tuple[str, int]:
    form = DealForm()
    if request.method == "GET":  # prefill: from the client card, or «Показать контакты»
        for name in ("client_id", "project_id", "contact_id", "title", "manager_id"):
            if request.args.get(name):
                form[name].data = request.args[name]
    q = (request.args.get("q") or "").strip()[:200]
    client_id = int_arg(form.client_id.data)
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
    form.contact_id.choices = contact_choices(client)
    can_assign = has_permission(current_user, Perm.DEALS_ALL)
    form.manager_id.choices = choices(
        [("", "— я —"), *((u.id, u.full_name) for u in sellers() if u.id != current_user.id)]
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
