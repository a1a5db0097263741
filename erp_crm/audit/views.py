from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select

from erp_crm.audit import presentation, services
from erp_crm.audit.models import AuditEntry
from erp_crm.auth.access import require_permission
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import Audited, Base, db

bp = Blueprint("audit", __name__, url_prefix="/audit")


def audited_classes() -> dict[str, type[Audited]]:
    return {
        mapper.class_.__tablename__: mapper.class_
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, Audited)
    }


def _actors(entries: list[AuditEntry]) -> dict[int, User]:
    ids = {e.actor_id for e in entries if e.actor_id}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


@bp.route("/")
@require_permission(Perm.AUDIT_VIEW_ALL)
def index() -> str:
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    entity_type = request.args.get("entity_type")
    if entity_type:
        query = query.where(AuditEntry.entity_type == entity_type)
    page = paginate(
        db.session,
        query,
        page=parse_page(request.args.get("page")),
        per_page=current_app.config["ITEMS_PER_PAGE"],
    )
    classes = audited_classes()
    presentation.prefetch(
        ((classes.get(e.entity_type), e.action, e.changes) for e in page.items), db.session
    )
    return render_template(
        "audit/index.html",
        page=page,
        actors=_actors(page.items),
        classes=classes,
        entity_type=entity_type,
    )


@bp.route("/<entity_type>/<int:entity_id>")
def history(entity_type: str, entity_id: int) -> str:
    cls = audited_classes().get(entity_type)
    if cls is None:
        abort(404)
    if not (
        has_permission(current_user, cls.__audit_view_permission__)
        or has_permission(current_user, Perm.AUDIT_VIEW_ALL)
    ):
        abort(403)
    record = db.session.get(cls, entity_id)
    entries = services.history(db.session, entity_type, entity_id)
    if record is None and not entries:
        abort(404)
    presentation.prefetch(((cls, e.action, e.changes) for e in entries), db.session)
    return render_template(
        "audit/history.html",
        cls=cls,
        record=record,
        entries=entries,
        actors=_actors(entries),
        entity_type=entity_type,
        entity_id=entity_id,
    )
