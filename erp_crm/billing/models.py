"""Payments (bank statement lines from 1C) and their allocations to our invoices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp_crm.auth.permissions import Perm
from erp_crm.db import Audited, Base, Money, utcnow
from erp_crm.ui import ru_number


class Payment(Audited, Base):
    """An incoming payment, stored once per accounting-side id (the idempotency key).

    What is not allocated to invoices stays on the payment: with a known client it is the
    client's credit (an overpayment or an advance), without one it waits in the reconciliation
    queue.
    """

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_payments_payer_inn", "payer_inn"),
        Index("ix_payments_client_id", "client_id"),
        Index("ix_payments_unallocated", "unallocated"),
    )
    __audit_view_permission__ = Perm.PAYMENTS_VIEW
    __audit_title__ = "Платёж"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "accounting_id": "Код в 1С",
        "pay_date": "Дата платежа",
        "payer_name": "Плательщик",
        "payer_inn": "ИНН плательщика",
        "payer_kpp": "КПП плательщика",
        "unallocated": "Не разнесено",
        "purpose": "Назначение платежа",
        "invoice_guid": "Счёт (идентификатор)",
        "invoice_number": "Номер счёта",
        "received_at": "Получен",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    accounting_id: Mapped[str] = mapped_column(String(64), unique=True)
    number: Mapped[str] = mapped_column(String(40))
    pay_date: Mapped[dt.date] = mapped_column(Date)
    payer_name: Mapped[str] = mapped_column(String(500))
    payer_inn: Mapped[str | None] = mapped_column(String(12))
    payer_kpp: Mapped[str | None] = mapped_column(String(9))
    amount: Mapped[Money]
    unallocated: Mapped[Money]  # amount − allocations, kept in step by the allocation service
    purpose: Mapped[str] = mapped_column(Text, default="")
    invoice_guid: Mapped[str | None] = mapped_column(String(36))
    invoice_number: Mapped[str | None] = mapped_column(String(60))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    allocations: Mapped[list[PaymentAllocation]] = relationship(
        back_populates="payment", order_by="PaymentAllocation.id"
    )

    def audit_label(self) -> str:
        return f"п/п № {self.number} от {self.pay_date:%d.%m.%Y}, {ru_number(self.amount)} руб."


class PaymentAllocation(Audited, Base):
    """A part of a payment applied to an invoice. Removing one is «снять разнесение»."""

    __tablename__ = "payment_allocations"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "method IN ('reference', 'number', 'amount', 'manual')", name="method_known"
        ),
        Index("ix_payment_allocations_document_id", "document_id"),
        Index("ix_payment_allocations_payment_id", "payment_id"),
    )
    __audit_view_permission__ = Perm.PAYMENTS_VIEW
    __audit_title__ = "Разнесение платежа"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "payment_id": "Платёж",
        "method": "Способ разнесения",
        "created_by_id": "Разнёс",
        "created_at": "Когда",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    amount: Mapped[Money]
    method: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    payment: Mapped[Payment] = relationship(back_populates="allocations")

    def audit_label(self) -> str:
        return f"{ru_number(self.amount)} руб. → документ {self.document_id}"


class InvoiceState:
    """Derived state of an invoice for pages: not stored (allocations are the truth)."""

    PAID = "paid"
    PARTLY_PAID = "partly_paid"
    UNPAID = "unpaid"
    OVERDUE = "overdue"


INVOICE_STATE_LABELS = {
    InvoiceState.PAID: "Оплачен",
    InvoiceState.PARTLY_PAID: "Оплачен частично",
    InvoiceState.UNPAID: "Не оплачен",
    InvoiceState.OVERDUE: "Просрочен",
}
ZERO = Decimal("0.00")
