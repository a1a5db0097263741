"""Receivables («дебиторская задолженность»): outstanding invoice amounts, aged by days overdue."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.billing.models import ZERO
from erp_crm.billing.services import paid_amounts
from erp_crm.clients.models import Client
from erp_crm.deals.models import Deal
from erp_crm.projects.models import Project
from erp_crm.sales_documents.models import Document, DocumentStatus
from erp_crm.sales_documents.schema import DocumentKind

BUCKETS = ("not_due", "d1_30", "d31_60", "d61_90", "d90_plus")
BUCKET_LABELS = {
    "not_due": "Срок не наступил",
    "d1_30": "1–30 дней",
    "d31_60": "31–60 дней",
    "d61_90": "61–90 дней",
    "d90_plus": "Более 90 дней",
}
GROUPINGS = {"client": "по контрагентам", "project": "по проектам", "manager": "по менеджерам"}


def bucket_of(due: dt.date | None, today: dt.date) -> str:
    days = (today - due).days if due else 0
    if days <= 0:
        return "not_due"
    if days <= 30:
        return "d1_30"
    if days <= 60:
        return "d31_60"
    if days <= 90:
        return "d61_90"
    return "d90_plus"


@dataclass
class DebtRow:
    key: int
    label: str
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, ZERO))
    invoices: int = 0

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)


@dataclass
class Receivables:
    group_by: str
    today: dt.date
    rows: list[DebtRow]
    totals: dict[str, Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.totals.values(), ZERO)


def receivables(
    session: Session,
    *,
    group_by: str = "client",
    today: dt.date | None = None,
    project_id: int | None = None,
    manager_id: int | None = None,
) -> Receivables:
    today = today or dt.date.today()
    group_by = group_by if group_by in GROUPINGS else "client"
    query = (
        select(Document, Deal.manager_id)
        .join(Deal, Deal.id == Document.deal_id)
        .where(
            Document.kind == DocumentKind.INVOICE.value,
            Document.status != DocumentStatus.CANCELLED.value,
        )
    )
    if project_id:
        query = query.where(Document.project_id == project_id)
    if manager_id:
        query = query.where(Deal.manager_id == manager_id)
    found = session.execute(query).all()
    paid = paid_amounts(session, [d.id for d, _ in found])
    rows: dict[int, DebtRow] = {}
    totals = dict.fromkeys(BUCKETS, ZERO)
    keys: dict[int, int] = {}
    for invoice, manager in found:
        debt = invoice.amount - paid.get(invoice.id, ZERO)
        if debt <= 0:
            continue
        key = {"client": invoice.client_id, "project": invoice.project_id, "manager": manager}[
            group_by
        ]
        keys[invoice.id] = key
        row = rows.setdefault(key, DebtRow(key=key, label=""))
        bucket = bucket_of(invoice.due_date, today)
        row.buckets[bucket] += debt
        row.invoices += 1
        totals[bucket] += debt
    model = {"client": Client, "project": Project, "manager": User}[group_by]
    names = {
        obj.id: (obj.name if group_by != "manager" else obj.full_name)
        for obj in session.scalars(select(model).where(model.id.in_(list(rows))))
    }
    for key, row in rows.items():
        row.label = names.get(key, str(key))
    ordered = sorted(rows.values(), key=lambda r: (-r.total, r.label))
    return Receivables(group_by=group_by, today=today, rows=ordered, totals=totals)


def to_xlsx(report: Receivables) -> bytes:
    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = "Дебиторская задолженность"
    sheet.append(
        [f"Дебиторская задолженность {GROUPINGS[report.group_by]} на {report.today:%d.%m.%Y}"]
    )
    sheet["A1"].font = Font(bold=True)
    header = ["", "Счетов", *[BUCKET_LABELS[b] for b in BUCKETS], "Итого"]
    sheet.append(header)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in report.rows:
        # Names are data, never formulas: a leading "=" is kept as text by the explicit type.
        sheet.append([row.label, row.invoices, *[row.buckets[b] for b in BUCKETS], row.total])
        sheet.cell(row=sheet.max_row, column=1).data_type = "s"
    sheet.append(
        [
            "Итого",
            sum(r.invoices for r in report.rows),
            *[report.totals[b] for b in BUCKETS],
            report.total,
        ]
    )
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in sheet.iter_rows(min_row=3, min_col=3):
        for cell in row:
            cell.number_format = "#,##0.00"
    sheet.column_dimensions["A"].width = 45
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def client_credits(session: Session) -> dict[int, Decimal]:
    """Unallocated money of known payers: overpayments and advances per client."""
    from sqlalchemy import func

    from erp_crm.billing.models import Payment

    rows = session.execute(
        select(Payment.client_id, func.sum(Payment.unallocated))
        .where(Payment.client_id.is_not(None), Payment.unallocated > 0)
        .group_by(Payment.client_id)
    )
    result: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for client_id, total in rows:
        result[client_id] = Decimal(total)
    return dict(result)
