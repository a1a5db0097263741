"""Planned contacts with clients («контакты»), their formalized results, ratings and requests
forwarded to other departments (seed 002: «Планирование контактов с клиентами…»)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm
from erp_crm.clients.models import Client, ContactPerson
from erp_crm.db import Audited, Base, TimestampMixin, UTCDateTime, utcnow
from erp_crm.deals.models import Deal, LostReason, Stage
from erp_crm.projects.models import Project


class Status(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    CANCELLED = "cancelled"


STATUS_LABELS = {
    Status.PLANNED.value: "Запланирован",
    Status.DONE.value: "Выполнен",
    Status.CANCELLED.value: "Отменён",
}


class ResultKind(StrEnum):
    """The formalized results of a done contact (seed 002). Each has its required parts and its
    consequence (results.complete)."""

    POSTPONED = "postponed"  # «перенос»: new date + reason → the next contact is planned
    REFUSED_PARTICIPATION = "refused_participation"  # lost reason → the project's deal is lost
    REFUSED_VISIT = "refused_visit"  # reason
    INVITATION_SENT = "invitation_sent"  # the list of visitors
    MANUAL_SENT = "manual_sent"  # the project's manual was sent
    SALE = "sale"  # links the deal and its documents
    OTHER = "other"  # free text


RESULT_LABELS = {
    ResultKind.POSTPONED.value: "Перенос",
    ResultKind.REFUSED_PARTICIPATION.value: "Отказ от участия",
    ResultKind.REFUSED_VISIT.value: "Отказ от посещения",
    ResultKind.INVITATION_SENT.value: "Отправка приглашения",
    ResultKind.MANUAL_SENT.value: "Отправка руководства участника",
    ResultKind.SALE.value: "Продажа",
    ResultKind.OTHER.value: "Другое",
}


class ReasonKind(StrEnum):
    POSTPONE = "postpone"
    REFUSE_VISIT = "refuse_visit"


class ActivityType(Audited, Base):
    """The admin-managed catalog of contact types: call, meeting, e-mail, letter, visit…"""

    __tablename__ = "activity_types"
    __audit_view_permission__ = Perm.ACTIVITIES_VIEW
    __audit_title__ = "Тип контакта"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "icon": "Значок",
        "name": "Название",
        "default_minutes": "Длительность, мин",
        "is_active": "Действует",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    icon: Mapped[str] = mapped_column(String(40), default="telephone")
    default_minutes: Mapped[int] = mapped_column(default=15)
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    def audit_label(self) -> str:
        return self.name


class ActivityReason(Audited, Base):
    """Reasons of a postponement and of a refusal to visit (refusals to take part use the deals'
    lost reasons, so the funnel's statistics stay one list)."""

    __tablename__ = "activity_reasons"
    __table_args__ = (UniqueConstraint("kind", "name"),)
    __audit_view_permission__ = Perm.ACTIVITIES_VIEW
    __audit_title__ = "Причина"
    __audit_labels__: ClassVar[dict[str, str]] = {"name": "Причина", "is_active": "Действует"}

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    def audit_label(self) -> str:
        return self.name


class ResultRule(Audited, Base):
    """The next step a result sets (admin-configurable): a follow-up contact after N days and/or
    a move of the deal to a stage."""

    __tablename__ = "activity_result_rules"
    __audit_view_permission__ = Perm.ACTIVITIES_VIEW
    __audit_title__ = "Следующий шаг результата"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "result_kind": "Результат",
        "follow_up_days": "Следующий контакт через, дней",
        "stage_id": "Этап сделки",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    result_kind: Mapped[str] = mapped_column(String(32), unique=True)
    follow_up_days: Mapped[int | None]
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stages.id"))

    stage: Mapped[Stage | None] = relationship()

    def audit_label(self) -> str:
        return RESULT_LABELS.get(self.result_kind, self.result_kind)


class Activity(Audited, TimestampMixin, Base):
    """One contact with a client: planned, then done with a formalized result, or cancelled."""

    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("status IN ('planned', 'done', 'cancelled')", name="status_known"),
        CheckConstraint("status <> 'done' OR result_kind IS NOT NULL", name="done_has_result"),
        # «Мой день» and the calendar: a user's contacts by time; the client card's by client.
        Index("ix_activities_responsible_start", "responsible_id", "starts_at"),
        # The planned ones only (a small part of a user's history): overdue, today, tomorrow.
        Index(
            "ix_activities_planned_responsible_start",
            "responsible_id",
            "starts_at",
            sqlite_where=text("status = 'planned'"),
            postgresql_where=text("status = 'planned'"),
        ),
        Index("ix_activities_client_start", "client_id", "starts_at"),
        Index("ix_activities_status_start", "status", "starts_at"),
        Index("ix_activities_deal", "deal_id"),
    )
    __audit_view_permission__ = Perm.ACTIVITIES_VIEW
    __audit_title__ = "Контакт"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "author_id": "Автор",
        "completed_at": "Выполнен",
        "completed_by_id": "Отметил выполнение",
        "next_activity_id": "Следующий контакт",
        "previous_activity_id": "Предыдущий контакт",
        "type_id": "Тип",
        "goal": "Цель",
        "client_id": "Клиент",
        "contact_id": "Контактное лицо",
        "deal_id": "Сделка",
        "project_id": "Проект",
        "responsible_id": "Ответственный",
        "starts_at": "Начало",
        "duration_minutes": "Длительность, мин",
        "reminders": "Напоминания, мин до начала",
        "status": "Статус",
        "result_kind": "Результат",
        "result_text": "Комментарий к результату",
        "reason_id": "Причина",
        "lost_reason_id": "Причина отказа",
        "postponed_to": "Перенесён на",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("activity_types.id"))
    goal: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact_persons.id"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    responsible_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int] = mapped_column(default=15)
    # Minutes before the start at which to remind the responsible user, e.g. [15, 1440].
    reminders: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=Status.PLANNED.value)

    result_kind: Mapped[str | None] = mapped_column(String(32))
    result_text: Mapped[str | None] = mapped_column(Text)
    reason_id: Mapped[int | None] = mapped_column(ForeignKey("activity_reasons.id"))
    lost_reason_id: Mapped[int | None] = mapped_column(ForeignKey("lost_reasons.id"))
    postponed_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The contact planned by this one's result (postponement, a rule's follow-up).
    next_activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    previous_activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))

    type: Mapped[ActivityType] = relationship()
    client: Mapped[Client] = relationship()
    contact: Mapped[ContactPerson | None] = relationship()
    deal: Mapped[Deal | None] = relationship()
    project: Mapped[Project | None] = relationship()
    responsible: Mapped[User] = relationship(foreign_keys=[responsible_id])
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])
    reason: Mapped[ActivityReason | None] = relationship()
    lost_reason: Mapped[LostReason | None] = relationship()
    visitors: Mapped[list[Visitor]] = relationship(
        back_populates="activity", cascade="all, delete-orphan", order_by="Visitor.id"
    )

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        return self.status == Status.PLANNED.value and self.starts_at < (now or utcnow())

    def audit_label(self) -> str:
        return f"{self.goal[:60]} ({self.starts_at:%d.%m.%Y %H:%M} UTC)"


class Visitor(Audited, Base):
    """A person invited to the exhibition by an «invitation sent» result; kept with the client's
    participation history."""

    __tablename__ = "activity_visitors"
    __audit_view_permission__ = Perm.ACTIVITIES_VIEW
    __audit_title__ = "Приглашённый посетитель"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "activity_id": "Контакт",
        "full_name": "ФИО",
        "position": "Должность",
        "contact": "Контакт",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(200))

    activity: Mapped[Activity] = relationship(back_populates="visitors")

    def audit_label(self) -> str:
        return self.full_name


class Rating(Audited, Base):
    """«Оценка клиентом»: the client's 1–5 scores of the manager, the project and the company."""

    __tablename__ = "client_ratings"
    __table_args__ = tuple(
        CheckConstraint(f"{field} BETWEEN 1 AND 5", name=f"{field}_1_5")
        for field in ("manager_score", "project_score", "company_score")
    )
    __audit_view_permission__ = Perm.ACTIVITIES_VIEW
    __audit_title__ = "Оценка клиентом"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "activity_id": "Контакт",
        "recorded_by_id": "Записал",
        "recorded_at": "Записана",
        "manager_score": "Менеджер",
        "project_score": "Проект",
        "company_score": "Компания",
        "comment": "Комментарий",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"), index=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    manager_score: Mapped[int] = mapped_column(SmallInteger)
    project_score: Mapped[int] = mapped_column(SmallInteger)
    company_score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    client: Mapped[Client] = relationship()
    manager: Mapped[User | None] = relationship(foreign_keys=[manager_id])

    def audit_label(self) -> str:
        return f"{self.manager_score}/{self.project_score}/{self.company_score}"


class TaskStatus(StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    DONE = "done"
    RETURNED = "returned"


TASK_STATUS_LABELS = {
    TaskStatus.NEW.value: "Новая",
    TaskStatus.ACCEPTED.value: "Принята",
    TaskStatus.DONE.value: "Выполнена",
    TaskStatus.RETURNED.value: "Возвращена",
}


class Task(Audited, TimestampMixin, Base):
    """«Переадресация запроса смежным службам»: a request to a colleague of any department."""

    __tablename__ = "activity_tasks"
    __table_args__ = (
        CheckConstraint(
            "status IN ('new', 'accepted', 'done', 'returned')", name="task_status_known"
        ),
        Index("ix_activity_tasks_assignee_status", "assignee_id", "status"),
    )
    __audit_view_permission__ = Perm.ACTIVITIES_VIEW
    __audit_title__ = "Поручение"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "author_id": "Автор",
        "activity_id": "Контакт",
        "answered_at": "Ответ дан",
        "author_seen_at": "Автор ознакомился",
        "goal": "Суть запроса",
        "assignee_id": "Исполнитель",
        "due_on": "Срок",
        "status": "Статус",
        "answer": "Ответ",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"), index=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    goal: Mapped[str] = mapped_column(Text)
    due_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.NEW.value)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # When the author saw the answer (the «answers to my requests» badge clears then).
    author_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id])
    client: Mapped[Client | None] = relationship()
    deal: Mapped[Deal | None] = relationship()

    def audit_label(self) -> str:
        return self.goal[:80]


class ReminderSent(Base):
    """The sent-ledger: one row per activity × offset × channel, claimed by INSERT before the
    reminder goes out, so two senders never send the same reminder twice."""

    __tablename__ = "activity_reminders_sent"
    __table_args__ = (UniqueConstraint("activity_id", "offset_minutes", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), index=True)
    offset_minutes: Mapped[int]
    channel: Mapped[str] = mapped_column(String(16))  # 'app' | 'email'
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(String(500))
