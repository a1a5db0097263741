"""Issued sales documents, their frozen files, number counters, templates and project manuals.

An issued document never changes: its files, SHA-256, data snapshot and template version are
written once. Only its status moves (issued → sent → signed, or cancelled, which keeps the number).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm
from erp_crm.db import Audited, Base, Money, utcnow
from erp_crm.sales_documents.schema import KIND_LABELS, DocumentKind

KIND_VALUES = ", ".join(f"'{k.value}'" for k in DocumentKind)


class DocumentStatus(StrEnum):
    ISSUED = "issued"
    SENT = "sent"
    SIGNED = "signed"
    CANCELLED = "cancelled"


STATUS_LABELS = {
    "draft": "Черновик",
    DocumentStatus.ISSUED: "Выставлен",
    DocumentStatus.SENT: "Отправлен клиенту",
    DocumentStatus.SIGNED: "Подписан",
    DocumentStatus.CANCELLED: "Аннулирован",
}


class DocumentCounter(Base):
    """The last number given per organization, kind and year: incremented in the issuing
    transaction (UPDATE … RETURNING), so a rollback gives the number back: no gaps, no repeats."""

    __tablename__ = "document_counters"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class NumberFormat(Audited, Base):
    """An organization's number pattern for a kind (documents.numbering); default when absent."""

    __tablename__ = "document_number_formats"
    __table_args__ = (UniqueConstraint("organization_id", "kind"),)
    __audit_view_permission__ = Perm.DOCUMENTS_VIEW
    __audit_title__ = "Формат номера"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "pattern": "Шаблон номера",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(16))
    pattern: Mapped[str] = mapped_column(String(40))

    def audit_label(self) -> str:
        return f"{KIND_LABELS.get(self.kind, self.kind)}: {self.pattern}"


class Document(Audited, Base):
    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(f"kind IN ({KIND_VALUES})", name="kind_known"),
        CheckConstraint("status IN ('issued', 'sent', 'signed', 'cancelled')", name="status_known"),
        # The gapless sequence: one number once per organization, kind and year (a corrected
        # VAT invoice keeps its number and adds a correction number, line 1а).
        UniqueConstraint("organization_id", "kind", "year", "seq", "correction_no"),
        Index("ix_documents_deal_id_kind", "deal_id", "kind"),
        Index("ix_documents_client_id", "client_id"),
        Index("ix_documents_project_id_kind", "project_id", "kind"),
    )
    __audit_exclude__ = frozenset({"snapshot"})
    __audit_view_permission__ = Perm.DOCUMENTS_VIEW
    __audit_title__ = "Документ"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "organization_id": "Организация",
        "deal_id": "Сделка",
        "client_id": "Контрагент",
        "project_id": "Проект",
        "seq": "Порядковый номер",
        "correction_no": "Номер исправления",
        "doc_date": "Дата документа",
        "vat_amount": "Сумма НДС",
        "due_date": "Оплатить до",
        "base_document_id": "Основание",
        "corrects_id": "Исправляет документ",
        "template_version": "Версия шаблона",
        "issued_at": "Выставлен",
        "sent_at": "Отправлен",
        "signed_at": "Подписан",
        "cancelled_at": "Аннулирован",
        "cancel_reason": "Причина аннулирования",
    }
    __audit_values__: ClassVar[dict[str, dict[Any, Any]]] = {
        "status": STATUS_LABELS,
        "kind": KIND_LABELS,
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: str(uuid.uuid4()))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    kind: Mapped[str] = mapped_column(String(16))
    year: Mapped[int]
    seq: Mapped[int]
    correction_no: Mapped[int] = mapped_column(default=0)
    number: Mapped[str] = mapped_column(String(60))
    doc_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=DocumentStatus.ISSUED.value)
    amount: Mapped[Money] = mapped_column(default=Decimal("0.00"))
    vat_amount: Mapped[Money] = mapped_column(default=Decimal("0.00"))
    due_date: Mapped[dt.date | None] = mapped_column(Date)  # invoices: pay by
    base_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    template_version: Mapped[str] = mapped_column(String(120))
    snapshot: Mapped[dict[str, Any]] = deferred(mapped_column(JSON, default=dict))
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]
    signed_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    issued_by: Mapped[User] = relationship(foreign_keys=[issued_by_id])
    files: Mapped[list[DocumentFile]] = relationship(
        back_populates="document", order_by="DocumentFile.format"
    )
    base_document: Mapped[Document | None] = relationship(
        remote_side=[id], foreign_keys=[base_document_id]
    )
    corrects: Mapped[Document | None] = relationship(remote_side=[id], foreign_keys=[corrects_id])

    @property
    def title(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def is_active(self) -> bool:
        return self.status != DocumentStatus.CANCELLED.value

    def audit_label(self) -> str:
        label = f"{self.title} № {self.number} от {self.doc_date:%d.%m.%Y}"
        if self.correction_no:
            label += f" (исправление № {self.correction_no})"
        elif self.corrects_id:
            label += " (исправленный)"
        return label


class DocumentFile(Base):
    """A frozen file of an issued document. Written once; the hash proves it never changed."""

    __tablename__ = "document_files"
    __table_args__ = (
        UniqueConstraint("document_id", "format"),
        CheckConstraint("format IN ('pdf', 'docx')", name="format_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    format: Mapped[str] = mapped_column(String(8))
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))

    document: Mapped[Document] = relationship(back_populates="files")


class DocumentTemplate(Audited, Base):
    """An uploaded template of a kind, for all projects or one. The newest active one wins;
    otherwise the shipped template in templates/ is used. Activated only after a preview."""

    __tablename__ = "document_templates"
    __table_args__ = (
        CheckConstraint("engine IN ('html', 'docx')", name="engine_known"),
        Index("ix_document_templates_kind_project_id", "kind", "project_id"),
    )
    __audit_exclude__ = frozenset({"content"})
    __audit_view_permission__ = Perm.TEMPLATES_MANAGE
    __audit_title__ = "Шаблон документа"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "engine": "Формат",
        "filename": "Файл",
        "size": "Размер, байт",
        "uploaded_at": "Загружен",
        "previewed_at": "Предпросмотр",
        "previewed_by_id": "Смотрел предпросмотр",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    engine: Mapped[str] = mapped_column(String(8))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    # A new upload waits inactive: the admin previews it, then activates it for its kind.
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    previewed_at: Mapped[dt.datetime | None]
    previewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def version(self) -> str:
        return f"upload:{self.id}:{self.sha256[:12]}"

    def audit_label(self) -> str:
        return f"{self.name} ({self.filename})"


class ProjectManual(Audited, Base):
    """A project's participant manual uploaded as a file (marketing or technical); attached to
    the package instead of the one rendered from the shipped template."""

    __tablename__ = "project_manuals"
    __table_args__ = (
        CheckConstraint("kind IN ('marketing_manual', 'technical_manual')", name="kind_known"),
        UniqueConstraint("project_id", "kind"),
    )
    __audit_exclude__ = frozenset({"content"})
    __audit_view_permission__ = Perm.PROJECTS_VIEW
    __audit_title__ = "Руководство участника"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "filename": "Файл",
        "size": "Размер, байт",
        "uploaded_at": "Загружено",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    kind: Mapped[str] = mapped_column(String(24))
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def audit_label(self) -> str:
        return self.filename


class PrintJob(Base):
    """Batch printing of a project's documents: progress for the page, the result ZIP on disk."""

    __tablename__ = "print_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    deal_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    issued: Mapped[int] = mapped_column(default=0)
    failed: Mapped[list[Any]] = mapped_column(JSON, default=list)
    result_path: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
