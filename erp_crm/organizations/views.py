from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from erp_crm.auth.access import require_permission
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.core.forms import apply_errors, form_status, form_values
from erp_crm.db import db
from erp_crm.errors import ValidationError
from erp_crm.organizations import services
from erp_crm.organizations.forms import OrganizationForm
from erp_crm.organizations.models import VAT_RATE_CHOICES, VAT_REGIME_LABELS

bp = Blueprint("organizations", __name__, url_prefix="/organizations")


@bp.route("/")
@require_permission(Perm.ORGANIZATIONS_VIEW)
def index() -> str:
    orgs = services.list_organizations(db.session)
    return render_template(
        "organizations/index.html",
        orgs=orgs,
        can_manage=has_permission(current_user, Perm.ORGANIZATIONS_MANAGE),
    )


@bp.route("/<int:org_id>")
@require_permission(Perm.ORGANIZATIONS_VIEW)
def show(org_id: int) -> str:
    org = services.get_organization(db.session, org_id)
    return render_template(
        "organizations/show.html",
        org=org,
        regimes=VAT_REGIME_LABELS,
        rates=VAT_RATE_CHOICES,
        can_manage=has_permission(current_user, Perm.ORGANIZATIONS_MANAGE),
    )


def _save(form: OrganizationForm, org_id: int | None) -> Response | None:
    data = services.OrganizationData.from_mapping(form_values(form))
    try:
        if org_id is None:
            org = services.create_organization(db.session, data, actor=current_user)
            flash(f"Организация «{org.short_name}» добавлена.", "success")
        else:
            org = services.get_organization(db.session, org_id)
            services.update_organization(db.session, org, data, actor=current_user)
            flash("Реквизиты сохранены.", "success")
    except ValidationError as err:
        apply_errors(form, err)
        return None
    return redirect(url_for("organizations.show", org_id=org.id))


@bp.route("/new", methods=["GET", "POST"])
@require_permission(Perm.ORGANIZATIONS_MANAGE)
def create() -> Response | tuple[str, int]:
    form = OrganizationForm()
    if form.validate_on_submit() and (done := _save(form, None)):
        return done
    status = form_status(form)
    return render_template("organizations/form.html", form=form, org=None), status


@bp.route("/<int:org_id>/edit", methods=["GET", "POST"])
@require_permission(Perm.ORGANIZATIONS_MANAGE)
def edit(org_id: int) -> Response | tuple[str, int]:
    org = services.get_organization(db.session, org_id)
    form = OrganizationForm(obj=org)
    if form.validate_on_submit() and (done := _save(form, org.id)):
        return done
    status = form_status(form)
    return render_template("organizations/form.html", form=form, org=org), status


@bp.route("/<int:org_id>/archive", methods=["POST"])
@require_permission(Perm.ORGANIZATIONS_MANAGE)
def archive(org_id: int) -> Response:
    org = services.get_organization(db.session, org_id)
    services.set_archived(db.session, org, True, actor=current_user)
    flash("Организация перенесена в архив.", "success")
    return redirect(url_for("organizations.show", org_id=org.id))


@bp.route("/<int:org_id>/restore", methods=["POST"])
@require_permission(Perm.ORGANIZATIONS_MANAGE)
def restore(org_id: int) -> Response:
    org = services.get_organization(db.session, org_id)
    services.set_archived(db.session, org, False, actor=current_user)
    flash("Организация восстановлена из архива.", "success")
    return redirect(url_for("organizations.show", org_id=org.id))
