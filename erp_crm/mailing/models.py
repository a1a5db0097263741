"""Mailing: postal addresses with their parts, label formats, selections, campaigns with their
frozen lists, the e-mail outbox and the refusals (unsubscribes)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from erp_crm.auth.permissions import Perm
from erp_crm.db import Audited, Base, TimestampMixin, utcnow

MM = Numeric(7, 2)


class PostalAddress(Audited, TimestampMixin, Base):
    """A client's postal address (contact_id empty) or a contact person's own one."""

    __tablename__ = "postal_addresses"
    __table_args__ = (
        UniqueConstraint("client_id", "contact_id"),
        Index("ix_postal_addresses_returned", "returned"),
    )
    __audit_view_permission__ = Perm.CLIENTS_VIEW
    __audit_title__ = "Почтовый адрес"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "recipient": "Получатель",
        "postcode": "Индекс",
        "street": "Улица",
        "building": "Дом",
        "office": "Офис / квартира",
        "returned": "Письмо вернулось",
        "returned_reason": "Причина возврата",
        "returned_at": "Возврат отмечен",
        "returned_by_id": "Возврат отметил",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact_persons.id"), index=True)
    recipient: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str] = mapped_column(String(6))
    region: Mapped[str | None] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(120))
    street: Mapped[str] = mapped_column(String(200))
    building: Mapped[str] = mapped_column(String(40))
    office: Mapped[str | None] = mapped_column(String(40))
    returned: Mapped[bool] = mapped_column(Boolean, default=False)
    returned_reason: Mapped[str | None] = mapped_column(String(300))
    returned_at: Mapped[dt.datetime | None]
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def audit_label(self) -> str:
        return self.one_line()

    def lines(self) -> list[str]:
        """The «Куда» lines, Russian order: street, building, office; city; region."""
        street = ", ".join(p for p in (self.street, self.building, self.office) if p)
        return [line for line in (street, self.city, self.region) if line]

    def one_line(self) -> str:
        return ", ".join([self.postcode, *reversed(self.lines())])


class LabelFormat(Audited, Base):
    """A sheet of address labels: rows × columns of a size, margins, gaps, printer offsets."""

    __tablename__ = "label_formats"
    __table_args__ = (
        CheckConstraint("rows_count > 0 AND columns_count > 0", name="grid_positive"),
    )
    __audit_view_permission__ = Perm.MAILING_WORK
    __audit_title__ = "Формат наклеек"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "rows_count": "Рядов",
        "columns_count": "Колонок",
        "page_width": "Ширина листа, мм",
        "page_height": "Высота листа, мм",
        "label_width": "Ширина наклейки, мм",
        "label_height": "Высота наклейки, мм",
        "margin_top": "Поле сверху, мм",
        "margin_left": "Поле слева, мм",
        "gap_x": "Промежуток по горизонтали, мм",
        "gap_y": "Промежуток по вертикали, мм",
        "offset_x": "Сдвиг принтера по горизонтали, мм",
        "offset_y": "Сдвиг принтера по вертикали, мм",
        "padding": "Отступ внутри, мм",
        "is_builtin": "Стандартный",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    rows_count: Mapped[int] = mapped_column(Integer)
    columns_count: Mapped[int] = mapped_column(Integer)
    page_width: Mapped[Decimal] = mapped_column(MM, default=Decimal("210"))
    page_height: Mapped[Decimal] = mapped_column(MM, default=Decimal("297"))
    label_width: Mapped[Decimal] = mapped_column(MM)
    label_height: Mapped[Decimal] = mapped_column(MM)
    margin_top: Mapped[Decimal] = mapped_column(MM, default=Decimal("0"))
    margin_left: Mapped[Decimal] = mapped_column(MM, default=Decimal("0"))
    gap_x: Mapped[Decimal] = mapped_column(MM, default=Decimal("0"))
    gap_y: Mapped[Decimal] = mapped_column(MM, default=Decimal("0"))
    offset_x: Mapped[Decimal] = mapped_column(MM, default=Decimal("0"))
    offset_y: Mapped[Decimal] = mapped_column(MM, default=Decimal("0"))
    padding: Mapped[Decimal] = mapped_column(MM, default=Decimal("3"))
    is_builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    def audit_label(self) -> str:
        return self.name

    @property
    def per_page(self) -> int:
        return self.rows_count * self.columns_count


class Selection(Audited, TimestampMixin, Base):
    """A saved selection («выборка»): the client list's filter and who of each client."""

    __tablename__ = "mailing_selections"
    __table_args__ = (
        CheckConstraint("target IN ('clients', 'contacts')", name="target_known"),
        CheckConstraint("contact_mode IN ('all', 'main', 'position')", name="mode_known"),
    )
    __audit_view_permission__ = Perm.MAILING_WORK
    __audit_title__ = "Выборка"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "target": "Кого выбирать",
        "contact_mode": "Какие контакты",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(16), default="clients")
    contact_mode: Mapped[str] = mapped_column(String(16), default="all")
    position: Mapped[str | None] = mapped_column(String(200))
    filter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def audit_label(self) -> str:
        return self.name


campaign_attachments = Table(
    "mail_message_attachments",
    Base.metadata,
    Column("message_id", ForeignKey("mail_messages.id", ondelete="CASCADE"), primary_key=True),
    Column("attachment_id", ForeignKey("mail_attachments.id"), primary_key=True),
    Index("ix_mail_message_attachments_attachment_id", "attachment_id"),
)


class Campaign(Audited, TimestampMixin, Base):
    """A mailing of a selection: printed (labels, envelopes), exported or e-mailed. Its list is
    frozen at the first print, export or send and never changes afterwards."""

    __tablename__ = "mailing_campaigns"
    __table_args__ = (
        CheckConstraint("channel IN ('post', 'email')", name="channel_known"),
        CheckConstraint("status IN ('draft', 'frozen', 'sending', 'sent')", name="status_known"),
    )
    __audit_view_permission__ = Perm.MAILING_WORK
    __audit_title__ = "Рассылка"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "sent_at": "Отправлена",
        "selection_id": "Выборка",
        "channel": "Канал",
        "subject": "Тема письма",
        "body": "Текст письма",
        "frozen_at": "Список зафиксирован",
        "frozen_by_id": "Зафиксировал",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    selection_id: Mapped[int] = mapped_column(ForeignKey("mailing_selections.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8), default="post")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    frozen_at: Mapped[dt.datetime | None]
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sent_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    selection: Mapped[Selection] = relationship()
    recipients: Mapped[list[CampaignRecipient]] = relationship(
        back_populates="campaign", order_by="CampaignRecipient.position"
    )

    def audit_label(self) -> str:
        return self.name


class CampaignRecipient(Base):
    """One line of a frozen campaign list, with the address as it was (or why left out)."""

    __tablename__ = "mailing_campaign_recipients"
    __table_args__ = (Index("ix_mailing_campaign_recipients_campaign", "campaign_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("mailing_campaigns.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact_persons.id"))
    address_id: Mapped[int | None] = mapped_column(ForeignKey("postal_addresses.id"))
    client_name: Mapped[str] = mapped_column(String(300))
    person: Mapped[str | None] = mapped_column(String(300))
    recipient: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(6))
    region: Mapped[str | None] = mapped_column(String(120))
    city: Mapped[str | None] = mapped_column(String(120))
    street: Mapped[str | None] = mapped_column(String(200))
    building: Mapped[str | None] = mapped_column(String(40))
    office: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    excluded: Mapped[str | None] = mapped_column(String(16))  # reason code, None = included
    unsubscribed_at: Mapped[dt.datetime | None]

    campaign: Mapped[Campaign] = relationship(back_populates="recipients")


class MailAttachment(Base):
    """A file attached to one or more outgoing e-mails (a campaign's manual is stored once)."""

    __tablename__ = "mail_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MailMessage(Base):
    """The outbox: every e-mail the app sends to clients, with its attempts and the answer."""

    __tablename__ = "mail_messages"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'failed', 'sent', 'dead')", name="status_known"),
        Index("ix_mail_messages_status_next", "status", "next_attempt_at"),
        Index("ix_mail_messages_deal_id", "deal_id"),
        Index("ix_mail_messages_client_id", "client_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # document | campaign
    status: Mapped[str] = mapped_column(String(8), default="queued")
    to_address: Mapped[str] = mapped_column(String(254))
    to_name: Mapped[str | None] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact_persons.id"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("mailing_campaigns.id"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("mailing_campaign_recipients.id"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    server_reply: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    attachments: Mapped[list[MailAttachment]] = relationship(secondary=campaign_attachments)


class MailServerSettings(Audited, Base):
    """The SMTP connection set by the admin (one row); empty: the environment's settings."""

    __tablename__ = "mail_settings"
    __table_args__ = (
        CheckConstraint("security IN ('none', 'starttls', 'ssl')", name="security_known"),
    )
    __audit_view_permission__ = Perm.MAILING_SETTINGS
    __audit_title__ = "Настройки почты"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "host": "Сервер SMTP",
        "port": "Порт",
        "security": "Шифрование",
        "sender": "Отправитель",
        "rate_per_minute": "Писем в минуту",
        "max_attempts": "Попыток отправки",
    }
    __audit_secret__ = frozenset({"password_encrypted"})

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    port: Mapped[int] = mapped_column(Integer)
    security: Mapped[str] = mapped_column(String(8), default="starttls")
    sender: Mapped[str] = mapped_column(String(254))
    username: Mapped[str | None] = mapped_column(String(200))
    password_encrypted: Mapped[str | None] = mapped_column(Text)
    rate_per_minute: Mapped[int] = mapped_column(Integer, default=60)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)

    def audit_label(self) -> str:
        return f"{self.host}:{self.port}"


class Unsubscribe(Base):
    """A refusal of mailings by its link: recorded once per e-mail address."""

    __tablename__ = "mail_unsubscribes"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact_persons.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("mailing_campaigns.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
