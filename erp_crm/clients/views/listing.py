"""The client list: search and filters, adding the rows to a group, saved filters."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import delete, select
from werkzeug.wrappers import Response

from erp_crm.auth.access import require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.clients import access, groups, services
from erp_crm.clients.forms import BulkGroupForm, SavedFilterForm
from erp_crm.clients.models import (
    CLIENT_KIND_LABELS,
    READINESS_LABELS,
    RELATIONSHIP_LABELS,
    Client,
    CompetitorExhibition,
    SavedFilter,
)
from erp_crm.clients.search import FILTER_LABELS, PROJECT_OUTCOMES, ClientFilter, client_query
from erp_crm.clients.views.common import bp
from erp_crm.core.forms import choices
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import db
from erp_crm.projects import services as project_services

_DISTINCT_TTL = 60.0
_distinct_cache: dict[tuple[str, str], tuple[float, list[str]]] = {}


def _distinct(column) -> list[str]:
    """Values used in the base (region, industry, source) for the filter selects.

    A GROUP BY over the whole base on every list page costs more than the search itself, and the
    set of regions barely changes: it is kept for a minute per database.
    """
    key = (str(db.engine.url), column.key)
    now = time.monotonic()
    cached = _distinct_cache.get(key)
    if cached and cached[0] > now:
        return cached[1]
    rows = db.session.scalars(
        select(column).where(column.is_not(None)).group_by(column).order_by(column).limit(500)
    )
    values = [r for r in rows if r]
    _distinct_cache[key] = (now + _DISTINCT_TTL, values)
    return values


@bp.route("/")
@require_permission(Perm.CLIENTS_VIEW)
def index() -> str:
    flt = ClientFilter.from_args(request.args)
    page = paginate(
        db.session,
        client_query(flt, actor=current_user),
        page=parse_page(request.args.get("page")),
        per_page=current_app.config["ITEMS_PER_PAGE"],
    )
    actor = current_user._get_current_object()
    visible = groups.visible_groups(db.session, actor)
    manageable = [g for g in visible if access.can_manage_group(actor, g)]
    bulk = BulkGroupForm()
    bulk.group_id.choices = choices((g.id, g.name) for g in manageable)
    saved = db.session.scalars(
        select(SavedFilter).where(SavedFilter.user_id == current_user.id).order_by(SavedFilter.name)
    ).all()
    curators = services.curators(db.session)
    return render_template(
        "clients/index.html",
        page=page,
        flt=flt,
        filter_args=flt.as_args(),
        groups=visible,
        bulk=bulk,
        saved=saved,
        save_form=SavedFilterForm(query=urlencode(flt.as_args())),
        curators=curators,
        curator_names={u.id: u.full_name for u in curators},  # rows name them without a lookup
        # the card's address without its id: 50 rows, one url_for (each costs ~25 µs)
        card_url=url_for("clients.show", client_id=0).removesuffix("0"),
        regions=_distinct(Client.region),
        industries=_distinct(Client.industry),
        sources=_distinct(Client.source),
        competitors=db.session.scalars(
            select(CompetitorExhibition).order_by(CompetitorExhibition.name)
        ).all(),
        projects=project_services.list_projects(db.session),
        project_outcomes=PROJECT_OUTCOMES,
        filter_labels=FILTER_LABELS,
        kinds=CLIENT_KIND_LABELS,
        readiness=READINESS_LABELS,
        relationships=RELATIONSHIP_LABELS,
    )


@bp.route("/bulk-groups", methods=["POST"])
@require_permission(Perm.CLIENTS_VIEW)
def bulk_groups() -> Response:
    form = BulkGroupForm()
    visible = groups.visible_groups(db.session, current_user)
    form.group_id.choices = choices((g.id, g.name) for g in visible)
    back = request.form.get("back") or url_for("clients.index")
    if not back.startswith("/clients"):
        back = url_for("clients.index")
    if not form.validate_on_submit():
        flash("Выберите группу и отметьте клиентов.", "danger")
        return redirect(back)
    group = groups.get_group(db.session, int(form.group_id.data), actor=current_user)
    ids = [int(i) for i in form.client_ids.data if str(i).isdigit()]
    if form.action.data == "remove":
        count = groups.remove_from_group(db.session, group, ids, actor=current_user)
        flash(f"Из группы «{group.name}» убрано: {count}.", "success")
    else:
        count = groups.add_to_group(db.session, group, ids, actor=current_user)
        flash(f"В группу «{group.name}» добавлено: {count}.", "success")
    return redirect(back)


@bp.route("/filters", methods=["POST"])
@require_permission(Perm.CLIENTS_VIEW)
def save_filter() -> Response:
    form = SavedFilterForm()
    if not form.validate_on_submit():
        flash(next(iter([*form.name.errors, *form.query.errors]), "Назовите фильтр."), "danger")
        if form.query.errors:
            return redirect(url_for("clients.index"))
        return redirect(url_for("clients.index") + "?" + (form.query.data or ""))
    name = form.name.data.strip()
    existing = db.session.scalar(
        select(SavedFilter).where(SavedFilter.user_id == current_user.id, SavedFilter.name == name)
    )
    if existing:
        existing.query = form.query.data or ""
    else:
        db.session.add(SavedFilter(user_id=current_user.id, name=name, query=form.query.data or ""))
    flash(f"Фильтр «{name}» сохранён.", "success")
    return redirect(url_for("clients.index") + "?" + (form.query.data or ""))


@bp.route("/filters/<int:filter_id>/delete", methods=["POST"])
@require_permission(Perm.CLIENTS_VIEW)
def delete_filter(filter_id: int) -> Response:
    db.session.execute(
        delete(SavedFilter).where(
            SavedFilter.id == filter_id, SavedFilter.user_id == current_user.id
        )
    )
    flash("Фильтр удалён.", "info")
    return redirect(url_for("clients.index"))
