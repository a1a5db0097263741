from __future__ import annotations

import datetime as dt
from enum import IntEnum, StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm
from erp_crm.db import Audited, Base, TimestampMixin, utcnow


class ClientKind(StrEnum):
    LEGAL = "legal"
    SOLE_TRADER = "sole_trader"
    PERSON = "person"


CLIENT_KIND_LABELS = {
    ClientKind.LEGAL: "Юридическое лицо",
    ClientKind.SOLE_TRADER: "Индивидуальный предприниматель",
    ClientKind.PERSON: "Физическое лицо",
}


class RelationshipType(StrEnum):
    """Derived from history: never bought / interest shown / one sale / more than one."""

    COLD = "cold"
    POTENTIAL = "potential"
    CURRENT = "current"
    PERMANENT = "permanent"


RELATIONSHIP_LABELS = {
    RelationshipType.COLD: "Холодный",
    RelationshipType.POTENTIAL: "Потенциальный",
    RelationshipType.CURRENT: "Текущий",
    RelationshipType.PERMANENT: "Постоянный",
}


class Readiness(IntEnum):
    """The colour scale of readiness to buy that managers set on the card."""

    UNKNOWN = 0
    NOT_INTERESTED = 1
    DOUBTS = 2
    CONSIDERING = 3
    READY = 4


READINESS_LABELS = {
    Readiness.UNKNOWN: ("Не оценена", "secondary"),
    Readiness.NOT_INTERESTED: ("Не заинтересован", "danger"),
    Readiness.DOUBTS: ("Сомневается", "warning"),
    Readiness.CONSIDERING: ("Рассматривает участие", "info"),
    Readiness.READY: ("Готов к покупке", "success"),
}


class GroupKind(StrEnum):
    COMMON = "common"
    PERSONAL = "personal"


GROUP_CATEGORY_LABELS = {
    "geography": "География",
    "industry": "Отрасль",
    "target": "Целевая группа выставки",
    "mailing": "Рассылка",
    "participation": "Участие",
    "other": "Прочее",
}

client_group_members = Table(
    "client_group_members",
    Base.metadata,
    Column("group_id", ForeignKey("client_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("client_id", ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_client_group_members_client_id", "client_id"),
)


class Client(Audited, TimestampMixin, Base):
    """A counterparty. Never hard-deleted: merged duplicates keep pointing at their survivor."""

    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint("kind IN ('legal', 'sole_trader', 'person')", name="kind_known"),
        CheckConstraint("readiness BETWEEN 0 AND 4", name="readiness_range"),
        CheckConstraint(
            "relationship_type IN ('cold', 'potential', 'current', 'permanent')",
            name="relationship_known",
        ),
        Index("ix_clients_inn_kpp", "inn", "kpp"),
        Index("ix_clients_curator_id_name_norm", "curator_id", "name_norm"),
        Index("ix_clients_city_norm", "city_norm"),
        Index("ix_clients_region", "region"),
        # Partial: only merged rows are indexed. A full index made SQLite walk it for
        # "merged_into_id IS NULL" (99 % of rows) on every list page (bench/README.md).
        Index(
            "ix_clients_merged_into_id",
            "merged_into_id",
            sqlite_where=text("merged_into_id IS NOT NULL"),
            postgresql_where=text("merged_into_id IS NOT NULL"),
        ),
        Index("ix_clients_industry", "industry"),
    )
    __audit_exclude__ = frozenset({"name_norm", "city_norm"})
    __audit_view_permission__ = Perm.CLIENTS_VIEW
    __audit_title__ = "Контрагент"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "full_name": "Полное наименование",
        "readiness": "Готовность к покупке",
        "relationship": "Тип отношений",
    }
    # Coded values by name on the history pages ("relationship": the list filter's name, in the
    # export records).
    __audit_values__: ClassVar[dict[str, dict[Any, Any]]] = {
        "kind": CLIENT_KIND_LABELS,
        "relationship_type": RELATIONSHIP_LABELS,
        "relationship": RELATIONSHIP_LABELS,
        "readiness": READINESS_LABELS,
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default=ClientKind.LEGAL.value)
    name: Mapped[str] = mapped_column(String(300))
    full_name: Mapped[str | None] = mapped_column(String(500))
    name_norm: Mapped[str] = mapped_column(String(500), index=True)
    inn: Mapped[str | None] = mapped_column(String(12))
    kpp: Mapped[str | None] = mapped_column(String(9))
    ogrn: Mapped[str | None] = mapped_column(String(15))
    legal_address: Mapped[str | None] = mapped_column(Text)
    postal_address: Mapped[str | None] = mapped_column(Text)
    region: Mapped[str | None] = mapped_column(String(120))
    city: Mapped[str | None] = mapped_column(String(120))
    city_norm: Mapped[str | None] = mapped_column(String(120))
    industry: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(200))
    readiness: Mapped[int] = mapped_column(Integer, default=0)
    relationship_type: Mapped[str] = mapped_column(
        String(16), default=RelationshipType.COLD.value, index=True
    )
    curator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    notes: Mapped[str | None] = mapped_column(Text)
    mailing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Merging keeps the duplicate as a pointer to the survivor (traceable, never deleted).
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    merged_at: Mapped[dt.datetime | None]

    curator: Mapped[User | None] = relationship(foreign_keys=[curator_id])
    contacts: Mapped[list[ContactPerson]] = relationship(
        back_populates="client", order_by="ContactPerson.id"
    )
    groups: Mapped[list[ClientGroup]] = relationship(
        secondary=client_group_members, back_populates="clients"
    )
    competitor_participations: Mapped[list[CompetitorParticipation]] = relationship(
        back_populates="client", cascade="all, delete-orphan"
    )

    def audit_label(self) -> str:
        return self.name

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None


class ContactPerson(Audited, TimestampMixin, Base):
    __tablename__ = "contact_persons"
    __audit_exclude__ = frozenset({"name_norm"})
    __audit_view_permission__ = Perm.CLIENTS_VIEW
    __audit_title__ = "Контактное лицо"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "full_name": "ФИО",
        "position": "Должность",
        "curator_id": "Куратор контакта",
        "is_active": "Активно",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(300))
    name_norm: Mapped[str] = mapped_column(String(300), index=True)
    position: Mapped[str | None] = mapped_column(String(200))
    birthday: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    curator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    client: Mapped[Client] = relationship(back_populates="contacts")
    curator: Mapped[User | None] = relationship(foreign_keys=[curator_id])
    channels: Mapped[list[ContactChannel]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactChannel.id"
    )

    def audit_label(self) -> str:
        return self.full_name

    def audit_extra(self) -> dict[str, Any]:
        return {"phones": self.phones, "emails": self.emails}

    @property
    def phones(self) -> list[str]:
        return [c.value for c in self.channels if c.kind == "phone"]

    @property
    def emails(self) -> list[str]:
        return [c.value for c in self.channels if c.kind == "email"]


class ContactChannel(Base):
    """A phone (stored as E.164) or an e-mail (lower-cased) of a contact; indexed for search."""

    __tablename__ = "contact_channels"
    __table_args__ = (
        CheckConstraint("kind IN ('phone', 'email')", name="kind_known"),
        Index("ix_contact_channels_kind_value", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact_persons.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(254))

    contact: Mapped[ContactPerson] = relationship(back_populates="channels")


class ClientGroup(Audited, TimestampMixin, Base):
    __tablename__ = "client_groups"
    __table_args__ = (
        CheckConstraint("kind IN ('common', 'personal')", name="kind_known"),
        CheckConstraint("kind = 'common' OR owner_id IS NOT NULL", name="personal_has_owner"),
    )
    __audit_view_permission__ = Perm.CLIENTS_VIEW
    __audit_title__ = "Группа клиентов"
    __audit_labels__: ClassVar[dict[str, str]] = {"name": "Название", "kind": "Вид группы"}
    __audit_values__: ClassVar[dict[str, dict[Any, Any]]] = {
        "kind": {GroupKind.COMMON: "Общая", GroupKind.PERSONAL: "Личная"},
        "category": GROUP_CATEGORY_LABELS,
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default=GroupKind.COMMON.value)
    category: Mapped[str] = mapped_column(String(32), default="other")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    owner: Mapped[User | None] = relationship()
    clients: Mapped[list[Client]] = relationship(
        secondary=client_group_members, back_populates="groups"
    )

    def audit_label(self) -> str:
        return self.name


class CompetitorExhibition(Audited, TimestampMixin, Base):
    """The catalog of competitors' exhibitions, for the participation history of clients."""

    __tablename__ = "competitor_exhibitions"
    __audit_view_permission__ = Perm.CLIENTS_VIEW
    __audit_title__ = "Выставка конкурента"
    __audit_labels__: ClassVar[dict[str, str]] = {"name": "Название выставки"}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    organizer: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(120))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    def audit_label(self) -> str:
        return self.name


class CompetitorParticipation(Base):
    __tablename__ = "competitor_participations"
    __table_args__ = (UniqueConstraint("client_id", "exhibition_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    exhibition_id: Mapped[int] = mapped_column(ForeignKey("competitor_exhibitions.id"), index=True)
    year: Mapped[int]

    client: Mapped[Client] = relationship(back_populates="competitor_participations")
    exhibition: Mapped[CompetitorExhibition] = relationship()


class SavedFilter(Base):
    """A user's named client-list filter (the query string of the list page)."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ImportJob(Base):
    """An import of a client file: its mapping, progress and the row-by-row report."""

    __tablename__ = "import_jobs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('uploaded', 'dry_run', 'running', 'done', 'failed')", name="status_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="uploaded")
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    created_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    rejected_count: Mapped[int] = mapped_column(default=0)
    report: Mapped[list[Any]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
