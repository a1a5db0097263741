"""Payments: the list, the reconciliation queue, a payment's card, invoice payments, receivables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select
from werkzeug.wrappers import Response

from erp_crm.auth.access import require_permission
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.billing import receivables as debts
from erp_crm.billing import services
from erp_crm.billing.models import INVOICE_STATE_LABELS, Payment, PaymentAllocation
from erp_crm.clients.models import Client
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import db
from erp_crm.errors import NotFound
from erp_crm.projects.models import Project
from erp_crm.sales_documents.models import Document
from erp_crm.sales_documents.views.common import send_bytes
from erp_crm.ui import ru_number

bp = Blueprint("billing", __name__, url_prefix="/payments")


@bp.route("/")
@require_permission(Perm.PAYMENTS_VIEW)
def index() -> str:
    args = request.args
    show = args.get("show", "all")
    query = select(Payment).order_by(Payment.pay_date.desc(), Payment.id.desc())
    if show == "unallocated":
        query = query.where(Payment.unallocated > 0)
    q = (args.get("q") or "").strip()
    if q:
        query = query.where(
            or_(
                Payment.payer_inn == q,
                Payment.number == q,
                Payment.payer_name.ilike(f"%{q[:100]}%"),
            )
        )
    page = paginate(db.session, query, page=parse_page(args.get("page")), per_page=50)
    return render_template("billing/index.html", page=page, show=show, q=q)


@bp.route("/<int:payment_id>")
@require_permission(Perm.PAYMENTS_VIEW)
def show(payment_id: int) -> str:
    payment = services.get_payment(db.session, payment_id)
    invoices = {
        d.id: d
        for d in db.session.scalars(
            select(Document).where(Document.id.in_([a.document_id for a in payment.allocations]))
        )
    }
    candidates = []
    if payment.client_id:
        candidates = services.open_invoices(db.session, payment.client_id)
    paid = services.paid_amounts(db.session, [c.id for c in candidates])
    return render_template(
        "billing/show.html",
        payment=payment,
        invoices=invoices,
        candidates=[(c, c.amount - paid.get(c.id, Decimal("0.00"))) for c in candidates],
        client=db.session.get(Client, payment.client_id) if payment.client_id else None,
        users={u.id: u for u in db.session.scalars(select(User))},
        can_reconcile=has_permission(current_user, Perm.PAYMENTS_RECONCILE),
    )


@bp.route("/<int:payment_id>/allocate", methods=["POST"])
@require_permission(Perm.PAYMENTS_RECONCILE)
def allocate(payment_id: int) -> Response:
    payment = services.get_payment(db.session, payment_id)
    invoice = services.find_invoice(db.session, request.form.get("invoice", ""))
    allocation = services.allocate_by_hand(
        db.session,
        payment,
        invoice,
        (request.form.get("amount") or "").replace(",", ".").replace(" ", "").replace("\u00a0", "")
        or None,
        actor=current_user,
    )
    flash(f"Разнесено {ru_number(allocation.amount)} руб. на счёт № {invoice.number}.", "success")
    return redirect(url_for("billing.show", payment_id=payment.id))


@bp.route("/allocations/<int:allocation_id>/unassign", methods=["POST"])
@require_permission(Perm.PAYMENTS_RECONCILE)
def unassign(allocation_id: int) -> Response:
    allocation = db.session.get(PaymentAllocation, allocation_id)
    if allocation is None:
        raise NotFound("Разнесение не найдено.")
    payment = services.unassign(db.session, allocation, actor=current_user)
    flash("Разнесение снято: сумма вернулась в остаток платежа.", "info")
    return redirect(url_for("billing.show", payment_id=payment.id))


@bp.route("/invoices/<int:document_id>")
@require_permission(Perm.PAYMENTS_VIEW)
def invoice(document_id: int) -> str:
    document = db.session.get(Document, document_id)
    if document is None or document.kind != "invoice":
        raise NotFound("Счёт не найден.")
    allocations = db.session.scalars(
        select(PaymentAllocation)
        .where(PaymentAllocation.document_id == document.id)
        .order_by(PaymentAllocation.id)
    ).all()
    paid = services.paid_amounts(db.session, [document.id]).get(document.id, Decimal("0.00"))
    return render_template(
        "billing/invoice.html",
        document=document,
        allocations=allocations,
        paid=paid,
        state=services.invoice_state(document, paid),
        state_labels=INVOICE_STATE_LABELS,
    )


@bp.route("/receivables")
@require_permission(Perm.PAYMENTS_VIEW)
def receivables() -> Response | str:
    args = request.args
    report = debts.receivables(
        db.session,
        group_by=args.get("group_by", "client"),
        project_id=args.get("project_id", type=int),
        manager_id=args.get("manager_id", type=int),
    )
    if args.get("format") == "xlsx":
        name = f"Дебиторская задолженность {report.group_by} {report.today:%Y-%m-%d}.xlsx"
        return send_bytes(debts.to_xlsx(report), name, "xlsx")
    return render_template(
        "billing/receivables.html",
        report=report,
        buckets=debts.BUCKETS,
        bucket_labels=debts.BUCKET_LABELS,
        groupings=debts.GROUPINGS,
        projects=db.session.scalars(select(Project).order_by(Project.opening_date.desc())).all(),
        filters={"project_id": args.get("project_id", type=int), "group_by": report.group_by},
        today=dt.date.today(),
    )
