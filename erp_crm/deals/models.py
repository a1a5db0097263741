from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from documents.money import VAT_MODES
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm
from erp_crm.clients.models import Client, ContactPerson
from erp_crm.db import Audited, Base, Money, TimestampMixin, utcnow
from erp_crm.projects.models import Project


class Outcome(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


OUTCOME_LABELS = {
    Outcome.OPEN.value: "В работе",
    Outcome.WON.value: "Выиграна",
    Outcome.LOST.value: "Проиграна",
}


class LineKind(StrEnum):
    STAND = "stand"  # a stand of the hall plan: area × price per m² + position surcharge
    SPACE = "space"  # m² sold without a stand chosen yet
    SERVICE = "service"
    REGISTRATION = "registration"


LINE_KIND_LABELS = {
    LineKind.STAND: "Стенд",
    LineKind.SPACE: "Площадь",
    LineKind.SERVICE: "Услуга",
    LineKind.REGISTRATION: "Регистрационный сбор",
}


class Pipeline(Audited, Base):
    __tablename__ = "pipelines"
    __audit_view_permission__ = Perm.DEALS_VIEW
    __audit_title__ = "Воронка"
    __audit_labels__: ClassVar[dict[str, str]] = {"name": "Название", "position": "Порядок"}

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    stages: Mapped[list[Stage]] = relationship(back_populates="pipeline", order_by="Stage.position")

    def audit_label(self) -> str:
        return self.name


class Stage(Audited, Base):
    """A stage with its percentage (0% interest … 100% closing documents, seed 003).

    `is_sale`: reaching it counts the deal as a sale (reserved stands become sold; a stand or m²
    line is required). `trigger`: an event that moves deals here (e.g. 'contract_signed').
    """

    __tablename__ = "stages"
    __table_args__ = (
        UniqueConstraint("pipeline_id", "name"),
        CheckConstraint("percent BETWEEN 0 AND 100", name="percent_range"),
    )
    __audit_view_permission__ = Perm.DEALS_VIEW
    __audit_title__ = "Этап воронки"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "pipeline_id": "Воронка",
        "name": "Название",
        "percent": "Процент",
        "position": "Порядок",
        "is_sale": "Продажа",
        "requires_next_contact": "Нужна дата следующего контакта",
        "trigger": "Переход по событию",
        "is_active": "Активен",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    percent: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)
    is_sale: Mapped[bool] = mapped_column(Boolean, default=False)
    requires_next_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    trigger: Mapped[str | None] = mapped_column(String(32))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    pipeline: Mapped[Pipeline] = relationship(back_populates="stages")

    def audit_label(self) -> str:
        return f"{self.name} ({self.percent}%)"


class LostReason(Audited, Base):
    __tablename__ = "lost_reasons"
    __audit_view_permission__ = Perm.DEALS_VIEW
    __audit_title__ = "Причина отказа"
    __audit_labels__: ClassVar[dict[str, str]] = {"name": "Причина"}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    def audit_label(self) -> str:
        return self.name


class Deal(Audited, TimestampMixin, Base):
    """A client's participation in a project («заявка на участие»). Never hard-deleted."""

    __tablename__ = "deals"
    __table_args__ = (
        CheckConstraint("outcome IN ('open', 'won', 'lost')", name="outcome_known"),
        CheckConstraint(
            "discount_kind IS NULL OR discount_kind IN ('percent', 'amount')",
            name="discount_kind_known",
        ),
        CheckConstraint("outcome <> 'lost' OR lost_reason_id IS NOT NULL", name="lost_has_reason"),
        Index("ix_deals_project_id_pipeline_id_stage_id", "project_id", "pipeline_id", "stage_id"),
        Index("ix_deals_client_id_project_id", "client_id", "project_id"),
        Index("ix_deals_manager_id_outcome", "manager_id", "outcome"),
    )
    __audit_view_permission__ = Perm.DEALS_VIEW
    __audit_title__ = "Сделка"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "pipeline_id": "Воронка",
        "stage_id": "Этап",
        "outcome": "Итог",
        "pricing_date": "Дата цен",
        "discount_kind": "Вид скидки",
        "discount_value": "Скидка",
        "discount_reason": "Основание скидки",
        "lost_reason_id": "Причина отказа",
        "lost_comment": "Комментарий к отказу",
        "closed_at": "Закрыта",
        "lead_id": "Лид",
        "position": "Порядок на канбане",
        "is_active": "Активна",
    }
    __audit_values__: ClassVar[dict[str, dict[Any, Any]]] = {
        "outcome": OUTCOME_LABELS,
        "discount_kind": {"percent": "процент", "amount": "сумма"},
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    manager_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact_persons.id"))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"))
    outcome: Mapped[str] = mapped_column(String(8), default=Outcome.OPEN.value)
    title: Mapped[str | None] = mapped_column(String(300))
    pricing_date: Mapped[dt.date] = mapped_column(Date, default=dt.date.today)
    discount_kind: Mapped[str | None] = mapped_column(String(8))
    discount_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    discount_reason: Mapped[str | None] = mapped_column(String(300))
    # Totals of the lines, kept in step by the pricing service (kanban and reports sum them).
    amount: Mapped[Money] = mapped_column(default=Decimal("0.00"))
    vat_amount: Mapped[Money] = mapped_column(default=Decimal("0.00"))
    area_m2: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    lost_reason_id: Mapped[int | None] = mapped_column(ForeignKey("lost_reasons.id"))
    lost_comment: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None]  # when it was won or lost
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    position: Mapped[int] = mapped_column(default=0)  # order inside a kanban column

    client: Mapped[Client] = relationship()
    project: Mapped[Project] = relationship()
    manager: Mapped[User] = relationship()
    contact: Mapped[ContactPerson | None] = relationship()
    pipeline: Mapped[Pipeline] = relationship()
    stage: Mapped[Stage] = relationship()
    lost_reason: Mapped[LostReason | None] = relationship()
    lines: Mapped[list[DealLine]] = relationship(
        back_populates="deal", order_by="DealLine.id", cascade="all, delete-orphan"
    )

    def audit_label(self) -> str:
        return self.label_for(self.id, self.title)

    @staticmethod
    def label_for(deal_id: int, title: str | None) -> str:
        return title or f"Сделка №{deal_id}"


class DealLine(Audited, Base):
    """A priced line. Prices are copied from the price list when added: later price-list changes
    never change a priced deal."""

    __tablename__ = "deal_lines"
    __table_args__ = (
        CheckConstraint("kind IN ('stand', 'space', 'service', 'registration')", name="kind_known"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )
    __audit_view_permission__ = Perm.DEALS_VIEW
    __audit_title__ = "Строка сделки"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "vat_setting": "Ставка НДС (настройка)",
        "stand_id": "Стенд",
        "service_item_id": "Услуга",
        "description": "Наименование",
        "unit": "Единица",
        "unit_code": "Код единицы (ОКЕИ)",
        "quantity": "Количество",
        "unit_price": "Цена",
        "surcharge": "Наценка",
        "base_amount": "Сумма без скидки",
        "discount": "Скидка",
        "vat_mode": "НДС в цене",
    }
    __audit_values__: ClassVar[dict[str, dict[Any, Any]]] = {
        "kind": LINE_KIND_LABELS,
        "vat_mode": VAT_MODES,
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    stand_id: Mapped[int | None] = mapped_column(ForeignKey("stands.id"), index=True)
    service_item_id: Mapped[int | None] = mapped_column(ForeignKey("service_items.id"))
    description: Mapped[str] = mapped_column(String(500))
    unit: Mapped[str] = mapped_column(String(32))
    unit_code: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    unit_price: Mapped[Money]  # VAT included, or net when vat_mode is «on_top»
    surcharge: Mapped[Money] = mapped_column(default=Decimal("0.00"))
    base_amount: Mapped[Money]  # quantity × unit_price + surcharge
    discount: Mapped[Money] = mapped_column(default=Decimal("0.00"))
    amount: Mapped[Money]  # with VAT: base_amount − discount (+ VAT when «on_top»)
    vat_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))  # None: «Без НДС»
    # The price list's rate setting: «auto» follows the date — the deal's pricing date here,
    # each document's own date on the document (documents.money.resolve_rate).
    vat_setting: Mapped[str] = mapped_column(String(8), default="auto", server_default="auto")
    vat_amount: Mapped[Money]
    area_m2: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    # Copied from the price list: «included» (НДС в т.ч.) keeps its gross on a document of
    # another rate, «on_top» (НДС сверху) keeps its net (base_amount − discount) and takes the VAT
    # of the document's date.
    vat_mode: Mapped[str] = mapped_column(String(8), default="included", server_default="included")

    deal: Mapped[Deal] = relationship(back_populates="lines")

    def audit_label(self) -> str:
        return self.description


class DealStageChange(Base):
    """The deal's path through the stages (also feeds stage-velocity reports)."""

    __tablename__ = "deal_stage_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    from_stage_id: Mapped[int | None] = mapped_column(ForeignKey("stages.id"))
    to_stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"))
    note: Mapped[str | None] = mapped_column(String(300))


class LeadStatus(StrEnum):
    NEW = "new"
    REJECTED = "rejected"
    CONVERTED = "converted"


LEAD_STATUS_LABELS = {
    LeadStatus.NEW: "Новый",
    LeadStatus.REJECTED: "Отклонён",
    LeadStatus.CONVERTED: "Сделка создана",
}
# Sources a person enters by hand; "web" and "api" come only through the public intake.
MANUAL_SOURCES = {
    "call": "Входящий звонок",
    "email": "Письмо",
    "exhibition": "На выставке",
    "manual": "Вручную",
}
LEAD_SOURCE_LABELS = {"web": "Форма на сайте", "api": "API сайта", **MANUAL_SOURCES}


class Lead(Audited, TimestampMixin, Base):
    """An inbound request (web form, API, call, e-mail) waiting for qualification."""

    __tablename__ = "leads"
    __table_args__ = (
        CheckConstraint("status IN ('new', 'rejected', 'converted')", name="status_known"),
        CheckConstraint(
            "status <> 'rejected' OR reject_reason IS NOT NULL", name="rejected_has_reason"
        ),
        Index("ix_leads_status_created_at", "status", "created_at"),
        Index("ix_leads_ip_created_at", "ip", "created_at"),
    )
    __audit_view_permission__ = Perm.LEADS_WORK
    __audit_title__ = "Лид"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "company_name": "Компания",
        "contact_name": "Контактное лицо",
        "message": "Сообщение",
        "reject_reason": "Причина отклонения",
        "ip": "IP-адрес",
    }
    __audit_values__: ClassVar[dict[str, dict[Any, Any]]] = {
        "status": LEAD_STATUS_LABELS,
        "source": LEAD_SOURCE_LABELS,
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32), default="manual")
    company_name: Mapped[str] = mapped_column(String(300))
    inn: Mapped[str | None] = mapped_column(String(12))
    contact_name: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    city: Mapped[str | None] = mapped_column(String(120))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    message: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=LeadStatus.NEW.value)
    reject_reason: Mapped[str | None] = mapped_column(String(300))
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    ip: Mapped[str | None] = mapped_column(String(64))

    project: Mapped[Project | None] = relationship()
    client: Mapped[Client | None] = relationship()

    def audit_label(self) -> str:
        return self.company_name
