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
from erp_crm.db import Audited, Base, Money, TimestampMixin
from erp_crm.organizations.models import VAT_RATE_CHOICES, Organization


class ProjectStatus(StrEnum):
    PLANNED = "planned"
    SELLING = "selling"
    RUNNING = "running"
    CLOSED = "closed"


PROJECT_STATUS_LABELS = {
    ProjectStatus.PLANNED: "Планируется",
    ProjectStatus.SELLING: "Идут продажи",
    ProjectStatus.RUNNING: "Проходит",
    ProjectStatus.CLOSED: "Завершён",
}


class StandType(StrEnum):
    RAW = "raw"  # raw space, «необорудованная площадь»
    SHELL = "shell"  # equipped / shell scheme stand, «оборудованная площадь»
    OPEN = "open"  # open area, «открытая площадь»


STAND_TYPE_LABELS = {
    StandType.RAW: "Необорудованная площадь",
    StandType.SHELL: "Оборудованный стенд",
    StandType.OPEN: "Открытая площадь",
}


class StandPosition(StrEnum):
    ROW = "row"  # one side open
    CORNER = "corner"  # two sides open
    PENINSULA = "peninsula"  # three sides open
    ISLAND = "island"  # four sides open


STAND_POSITION_LABELS = {
    StandPosition.ROW: "Линейный",
    StandPosition.CORNER: "Угловой",
    StandPosition.PENINSULA: "Полуостров",
    StandPosition.ISLAND: "Остров",
}


class StandStatus(StrEnum):
    FREE = "free"
    RESERVED = "reserved"
    SOLD = "sold"


STAND_STATUS_LABELS = {
    StandStatus.FREE: "Свободен",
    StandStatus.RESERVED: "Забронирован",
    StandStatus.SOLD: "Продан",
}


class Project(Audited, TimestampMixin, Base):
    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint(
            "status IN ('planned', 'selling', 'running', 'closed')", name="status_known"
        ),
        CheckConstraint("opening_date <= closing_date", name="dates_ordered"),
    )
    __audit_view_permission__ = Perm.PROJECTS_VIEW
    __audit_title__ = "Выставочный проект"
    # "price.<stand type>" and "surcharge.<position>" are the price list's rows in its records.
    __audit_labels__: ClassVar[dict[str, str]] = {
        "name": "Название",
        "venue": "Площадка",
        "build_up_date": "Монтаж",
        "opening_date": "Открытие",
        "closing_date": "Закрытие",
        "dismantling_date": "Демонтаж",
        "registration_fee": "Регистрационный сбор",
        "default_vat_rate": "Ставка НДС по умолчанию",
        "registration_vat_mode": "НДС в регистрационном сборе",
        "project_manager_id": "Руководитель проекта",
        "organization_id": "Организация-продавец",
        "price": "Цена за м²",
        "mode": "НДС в цене за м²",
        "surcharge": "Наценка за расположение",
    }
    __audit_values__: ClassVar[dict[str, dict[Any, Any]]] = {
        "status": PROJECT_STATUS_LABELS,
        "default_vat_rate": VAT_RATE_CHOICES,
        "registration_vat_mode": VAT_MODES,
        "price": STAND_TYPE_LABELS,
        "mode": STAND_TYPE_LABELS,
        "surcharge": STAND_POSITION_LABELS,
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    venue: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(120))
    build_up_date: Mapped[dt.date | None] = mapped_column(Date)  # монтаж
    opening_date: Mapped[dt.date] = mapped_column(Date)
    closing_date: Mapped[dt.date] = mapped_column(Date)
    dismantling_date: Mapped[dt.date | None] = mapped_column(Date)  # демонтаж
    status: Mapped[str] = mapped_column(String(16), default=ProjectStatus.PLANNED.value)
    description: Mapped[str | None] = mapped_column(Text)
    # Price list: registration fee per deal; VAT rate settings ('auto' = by document date).
    registration_fee: Mapped[Money] = mapped_column(default=Decimal("0.00"))
    default_vat_rate: Mapped[str] = mapped_column(String(8), default="auto")
    # «included»: the fee includes VAT; «on_top»: it is net, VAT on top (documents.money).
    registration_vat_mode: Mapped[str] = mapped_column(
        String(8), default="included", server_default="included"
    )
    project_manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The seller on the project's documents; the first active organization when not set.
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))

    project_manager: Mapped[User | None] = relationship()
    organization: Mapped[Organization | None] = relationship()
    halls: Mapped[list[Hall]] = relationship(back_populates="project", order_by="Hall.position")
    members: Mapped[list[ProjectMember]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )
    stand_prices: Mapped[list[StandPrice]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )
    surcharges: Mapped[list[PositionSurcharge]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )
    services: Mapped[list[ServiceItem]] = relationship(
        back_populates="project", order_by="ServiceItem.name"
    )

    def audit_label(self) -> str:
        return self.name


class ProjectMember(Base):
    """The project team: the sales managers who sell it."""

    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    project: Mapped[Project] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class Hall(Audited, Base):
    """A hall of the venue; its size (metres) frames the SVG plan."""

    __tablename__ = "halls"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    __audit_view_permission__ = Perm.PROJECTS_VIEW
    __audit_title__ = "Зал"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "name": "Название",
        "width_m": "Ширина, м",
        "depth_m": "Глубина, м",
        "position": "Порядок",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    width_m: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    depth_m: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    position: Mapped[int] = mapped_column(default=0)

    project: Mapped[Project] = relationship(back_populates="halls")
    stands: Mapped[list[Stand]] = relationship(back_populates="hall", order_by="Stand.number")

    def audit_label(self) -> str:
        return self.name


class StandPrice(Base):
    """Price per m² of a stand type in a project: VAT included, or net with VAT on top."""

    __tablename__ = "stand_prices"
    __table_args__ = (
        UniqueConstraint("project_id", "stand_type"),
        CheckConstraint("price_per_m2 >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    stand_type: Mapped[str] = mapped_column(String(16))
    price_per_m2: Mapped[Money]
    vat_rate: Mapped[str] = mapped_column(String(8), default="auto")
    vat_mode: Mapped[str] = mapped_column(String(8), default="included", server_default="included")

    project: Mapped[Project] = relationship(back_populates="stand_prices")


class PositionSurcharge(Base):
    """A surcharge for an open position: a percent of the stand's price or a fixed amount."""

    __tablename__ = "position_surcharges"
    __table_args__ = (
        UniqueConstraint("project_id", "position"),
        CheckConstraint("kind IN ('percent', 'amount')", name="kind_known"),
        CheckConstraint("value >= 0", name="value_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    position: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[Money]

    project: Mapped[Project] = relationship(back_populates="surcharges")


class ServiceItem(Audited, Base):
    """An extra service of the project's catalog (furniture, electricity, catalogue entry …)."""

    __tablename__ = "service_items"
    __table_args__ = (CheckConstraint("price >= 0", name="price_not_negative"),)
    __audit_view_permission__ = Perm.PROJECTS_VIEW
    __audit_title__ = "Услуга"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "name": "Название",
        "unit": "Единица",
        "unit_code": "Код единицы (ОКЕИ)",
        "price": "Цена",
        "vat_mode": "НДС в цене",
    }
    __audit_values__: ClassVar[dict[str, dict[Any, Any]]] = {
        "vat_rate": VAT_RATE_CHOICES,
        "vat_mode": VAT_MODES,
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(32), default="шт")
    unit_code: Mapped[str] = mapped_column(String(8), default="796")  # ОКЕИ: 796 шт, 055 м²
    price: Mapped[Money]
    vat_rate: Mapped[str] = mapped_column(String(8), default="auto")
    vat_mode: Mapped[str] = mapped_column(String(8), default="included", server_default="included")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    project: Mapped[Project] = relationship(back_populates="services")

    def audit_label(self) -> str:
        return self.name


class Stand(Audited, TimestampMixin, Base):
    """A stand in a hall. Status moves free → reserved (until a date) → sold, never twice.

    Reserving and selling are single conditional UPDATEs (see projects.stands), so two managers
    clicking at once cannot both win.
    """

    __tablename__ = "stands"
    __table_args__ = (
        UniqueConstraint("hall_id", "number"),
        CheckConstraint("status IN ('free', 'reserved', 'sold')", name="status_known"),
        CheckConstraint("stand_type IN ('raw', 'shell', 'open')", name="type_known"),
        CheckConstraint(
            "position IN ('row', 'corner', 'peninsula', 'island')", name="position_known"
        ),
        CheckConstraint("area_m2 > 0", name="area_positive"),
        CheckConstraint("status = 'free' OR deal_id IS NOT NULL", name="taken_has_deal"),
        Index("ix_stands_project_id_status", "project_id", "status"),
    )
    __audit_view_permission__ = Perm.PROJECTS_VIEW
    __audit_title__ = "Стенд"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "hall_id": "Зал",
        "stand_type": "Тип",
        "position": "Расположение",
        "x_m": "Отступ слева, м",
        "y_m": "Отступ сверху, м",
        "width_m": "Ширина, м",
        "depth_m": "Глубина, м",
        "reserved_until": "Бронь до",
        "is_active": "Активен",
    }
    __audit_values__: ClassVar[dict[str, dict[Any, Any]]] = {
        "stand_type": STAND_TYPE_LABELS,
        "position": STAND_POSITION_LABELS,
        "status": STAND_STATUS_LABELS,
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    number: Mapped[str] = mapped_column(String(32))
    area_m2: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    stand_type: Mapped[str] = mapped_column(String(16), default=StandType.RAW.value)
    position: Mapped[str] = mapped_column(String(16), default=StandPosition.ROW.value)
    # Placement on the hall plan, metres from the hall's top-left corner.
    x_m: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(0))
    y_m: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(0))
    width_m: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(3))
    depth_m: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(3))
    status: Mapped[str] = mapped_column(String(16), default=StandStatus.FREE.value)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"), index=True)
    reserved_until: Mapped[dt.datetime | None]
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    hall: Mapped[Hall] = relationship(back_populates="stands")
    project: Mapped[Project] = relationship()

    def audit_label(self) -> str:
        return f"{self.hall.name if self.hall else ''} № {self.number}".strip()


class SalesPlan(Base):
    """Plan of a month: per project and manager (user_id NULL = the project as a whole)."""

    __tablename__ = "sales_plans"
    __table_args__ = (
        UniqueConstraint("project_id", "user_id", "month"),
        CheckConstraint("area_m2 >= 0 AND amount >= 0", name="plan_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    month: Mapped[dt.date] = mapped_column(Date)  # the first day of the month
    area_m2: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    amount: Mapped[Money] = mapped_column(default=Decimal("0.00"))
