"""Document pages: the deal's documents panel, issuing, files, cancel/correct, the registry."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from werkzeug.wrappers import Response

from erp_crm import signals
from erp_crm.auth.access import require_permission
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm
from erp_crm.clients.models import Client
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import db
from erp_crm.deals import services as deal_services
from erp_crm.deals.models import Deal
from erp_crm.errors import NotFound
from erp_crm.projects.models import Project
from erp_crm.sales_documents import access, packages, preconditions, services
from erp_crm.sales_documents.models import STATUS_LABELS, Document, DocumentStatus
from erp_crm.sales_documents.schema import KIND_LABELS, PACKAGE_KINDS, DocumentKind
from erp_crm.sales_documents.views.common import send_bytes

bp = Blueprint("documents", __name__, url_prefix="/documents")


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"kind_labels": KIND_LABELS, "status_labels": STATUS_LABELS}


def _deal(deal_id: int) -> Deal:
    deal = deal_services.get_deal(db.session, deal_id)
    if deal is None:
        raise NotFound("Сделка не найдена.")
    return deal


def _to_deal(deal_id: int) -> Response:
    return redirect(url_for("deals.show", deal_id=deal_id) + "#documents")


# --- the deal's documents -----------------------------------------------------------------------


@bp.route("/deal/<int:deal_id>/panel")
@require_permission(Perm.DOCUMENTS_VIEW)
def deal_panel(deal_id: int) -> str:
    deal = _deal(deal_id)
    documents = services.deal_documents(db.session, deal.id)
    active = {d.kind: d for d in documents if d.is_active}
    return render_template(
        "documents/_deal_panel.html",
        deal=deal,
        documents=documents,
        active=active,
        kinds=list(DocumentKind),
        package_kinds=PACKAGE_KINDS,
        can_issue=access.can_issue(current_user, deal),
        missing_package=[k for k in PACKAGE_KINDS if k not in active],
        payment_states=services.payment_states(db.session, documents),
        early={
            k.value for k in DocumentKind if preconditions.needs_early_confirmation(deal, k.value)
        },
    )


@bp.route("/deal/<int:deal_id>/issue", methods=["POST"])
@require_permission(Perm.DOCUMENTS_ISSUE)
def issue(deal_id: int) -> Response:
    deal = _deal(deal_id)
    on = preconditions.parse_document_date(request.form.get("date"))
    document = services.issue_document(
        db.session,
        deal,
        request.form.get("kind", ""),
        actor=current_user,
        on=on,
        confirm_early=request.form.get("confirm_early") == "1",
    )
    flash(f"Выставлен документ: {document.audit_label()}.", "success")
    return _to_deal(deal.id)


@bp.route("/deal/<int:deal_id>/package", methods=["POST"])
@require_permission(Perm.DOCUMENTS_ISSUE)
def issue_package(deal_id: int) -> Response:
    deal = _deal(deal_id)
    issued = services.issue_package(db.session, deal, actor=current_user)
    if issued:
        flash("Выставлены: " + "; ".join(d.audit_label() for d in issued) + ".", "success")
    else:
        flash("Пакет документов уже выставлен полностью.", "info")
    return _to_deal(deal.id)


@bp.route("/deal/<int:deal_id>/package.<fmt>")
@require_permission(Perm.DOCUMENTS_VIEW)
def package_file(deal_id: int, fmt: str) -> Response:
    deal = _deal(deal_id)
    stem = f"Документы по сделке {deal.id}"
    if fmt == "zip":
        return send_bytes(packages.deal_zip(db.session, deal), f"{stem}.zip", "zip")
    if fmt == "pdf":
        return send_bytes(packages.deal_combined_pdf(db.session, deal), f"{stem}.pdf", "pdf")
    abort(404)


@bp.route("/deal/<int:deal_id>/preview/<kind>")
@require_permission(Perm.DOCUMENTS_VIEW)
def preview(deal_id: int, kind: str) -> Response:
    if kind not in {k.value for k in DocumentKind}:
        abort(404)
    deal = _deal(deal_id)
    data = services.preview_document(db.session, deal, kind, actor=current_user)
    return send_bytes(data, f"{KIND_LABELS[DocumentKind(kind)]} (проект).pdf", "pdf", inline=True)


@bp.route("/deal/<int:deal_id>/manual/<kind>")
@require_permission(Perm.DOCUMENTS_VIEW)
def deal_manual(deal_id: int, kind: str) -> Response:
    deal = _deal(deal_id)
    data = packages.manual_pdf(db.session, deal.project, kind, deal)
    return send_bytes(data, f"{kind}.pdf", "pdf", inline=True)


# --- one document -------------------------------------------------------------------------------


def _document(document_id: int) -> Document:
    return services.get_document(db.session, document_id)


@bp.route("/<int:document_id>")
@require_permission(Perm.DOCUMENTS_VIEW)
def show(document_id: int) -> str:
    document = _document(document_id)
    deal = db.session.get(Deal, document.deal_id)
    related = db.session.scalars(
        select(Document).where(
            or_(Document.base_document_id == document.id, Document.corrects_id == document.id)
        )
    ).all()
    return render_template(
        "documents/show.html",
        document=document,
        deal=deal,
        related=related,
        users={u.id: u for u in db.session.scalars(select(User))},
        can_change=access.can_change(current_user, document, deal),
        payment_state=services.payment_states(db.session, [document]).get(document.id),
        can_issue=access.can_issue(current_user, deal),
        exchange=next(
            iter(signals.answers(signals.document_exchange_state, document, session=db.session)),
            None,
        ),
    )


@bp.route("/<int:document_id>/file/<fmt>")
@require_permission(Perm.DOCUMENTS_VIEW)
def file(document_id: int, fmt: str) -> Response:
    if fmt not in ("pdf", "docx"):
        abort(404)
    document = _document(document_id)
    stored = services.file_of(db.session, document, fmt)
    inline = request.args.get("inline") == "1"
    return send_bytes(stored.content, stored.filename, fmt, inline=inline)


@bp.route("/<int:document_id>/cancel", methods=["POST"])
@require_permission(Perm.DOCUMENTS_ISSUE)
def cancel(document_id: int) -> Response:
    document = _document(document_id)
    services.cancel_document(
        db.session, document, actor=current_user, reason=request.form.get("reason", "")
    )
    flash(f"Документ аннулирован: {document.audit_label()}.", "info")
    return redirect(url_for("documents.show", document_id=document.id))


@bp.route("/<int:document_id>/correct", methods=["POST"])
@require_permission(Perm.DOCUMENTS_ISSUE)
def correct(document_id: int) -> Response:
    document = _document(document_id)
    new = services.issue_correction(
        db.session, document, actor=current_user, reason=request.form.get("reason", "")
    )
    flash(f"Выпущено исправление: {new.audit_label()}.", "success")
    return redirect(url_for("documents.show", document_id=new.id))


@bp.route("/<int:document_id>/status", methods=["POST"])
@require_permission(Perm.DOCUMENTS_ISSUE)
def set_status(document_id: int) -> Response:
    document = _document(document_id)
    services.set_status(db.session, document, request.form.get("status", ""), actor=current_user)
    flash(f"Статус документа: {STATUS_LABELS[DocumentStatus(document.status)]}.", "success")
    return redirect(url_for("documents.show", document_id=document.id))


# --- the registry -------------------------------------------------------------------------------


@bp.route("/")
@require_permission(Perm.DOCUMENTS_VIEW)
def index() -> str:
    args = request.args
    query = select(Document).order_by(Document.doc_date.desc(), Document.id.desc())
    kind, status = args.get("kind") or "", args.get("status") or ""
    project_id = args.get("project_id", type=int)
    q = (args.get("q") or "").strip()
    if kind in {k.value for k in DocumentKind}:
        query = query.where(Document.kind == kind)
    if status in {s.value for s in DocumentStatus}:
        query = query.where(Document.status == status)
    if project_id:
        query = query.where(Document.project_id == project_id)
    if q:
        from erp_crm.core.text import like_pattern, normalize

        matching_clients = select(Client.id).where(
            or_(Client.inn == q, Client.name_norm.like(like_pattern(normalize(q))))
        )
        query = query.where(
            or_(func.lower(Document.number) == q.lower(), Document.client_id.in_(matching_clients))
        )
    page = paginate(db.session, query, page=parse_page(args.get("page")), per_page=50)
    client_ids = {d.client_id for d in page.items}
    clients = {c.id: c for c in db.session.scalars(select(Client).where(Client.id.in_(client_ids)))}
    return render_template(
        "documents/index.html",
        page=page,
        payment_states=services.payment_states(db.session, page.items),
        clients=clients,
        projects=db.session.scalars(select(Project).order_by(Project.opening_date.desc())).all(),
        filters={"kind": kind, "status": status, "project_id": project_id, "q": q},
        kinds=list(DocumentKind),
        statuses=list(DocumentStatus),
    )
