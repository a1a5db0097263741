"""Client groups pages: the list of groups, creating and editing a group."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from erp_crm.auth.access import ensure, require_permission
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients import access, groups
from erp_crm.clients.forms import GroupForm
from erp_crm.clients.models import GROUP_CATEGORY_LABELS, ClientGroup, client_group_members
from erp_crm.core.forms import apply_errors, choices, form_status
from erp_crm.db import db
from erp_crm.errors import ValidationError

bp = Blueprint("groups", __name__, url_prefix="/groups")


@bp.route("/")
@require_permission(Perm.CLIENTS_VIEW)
def index() -> str:
    visible = groups.visible_groups(db.session, current_user, include_archived=True)
    counts = dict(
        db.session.execute(
            select(client_group_members.c.group_id, func.count()).group_by(
                client_group_members.c.group_id
            )
        ).all()
    )
    return render_template(
        "clients/groups.html",
        groups=visible,
        counts=counts,
        categories=GROUP_CATEGORY_LABELS,
        can_manage=lambda g: access.can_manage_group(current_user, g),
        can_create=has_permission(current_user, Perm.GROUPS_PERSONAL)
        or has_permission(current_user, Perm.GROUPS_MANAGE_COMMON),
    )


def _group_form(group: ClientGroup | None = None) -> GroupForm:
    form = GroupForm(obj=group)
    allowed = []
    if has_permission(current_user, Perm.GROUPS_MANAGE_COMMON):
        allowed.append(("common", "Общая"))
    if has_permission(current_user, Perm.GROUPS_PERSONAL):
        allowed.append(("personal", "Личная"))
    form.kind.choices = choices(allowed)
    return form


@bp.route("/new", methods=["GET", "POST"])
@require_permission(Perm.GROUPS_PERSONAL)
def create() -> Response | tuple[str, int]:
    form = _group_form()
    if form.validate_on_submit():
        try:
            group = groups.create_group(
                db.session,
                name=form.name.data,
                kind=form.kind.data,
                category=form.category.data,
                description=form.description.data,
                actor=current_user,
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Группа «{group.name}» создана.", "success")
            return redirect(url_for("groups.index"))
    return render_template("clients/group_form.html", form=form, group=None), form_status(form)


@bp.route("/<int:group_id>/edit", methods=["GET", "POST"])
@require_permission(Perm.CLIENTS_VIEW)
def edit(group_id: int) -> Response | tuple[str, int]:
    group = groups.get_group(db.session, group_id, actor=current_user)
    ensure(access.can_manage_group(current_user, group))
    form = _group_form(group)
    del form.kind  # a common group stays common, a personal one personal
    if form.validate_on_submit():
        try:
            groups.update_group(
                db.session,
                group,
                name=form.name.data,
                category=form.category.data,
                description=form.description.data,
                is_active=form.is_active.data,
                actor=current_user,
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash("Группа сохранена.", "success")
            return redirect(url_for("groups.index"))
    return render_template("clients/group_form.html", form=form, group=group), form_status(form)
