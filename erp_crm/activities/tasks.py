"""«Переадресация запроса смежным службам»: a request forwarded to a colleague of any
department (new → accepted → done / returned with an answer); the answer reaches the author and
the client's and deal's history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session, joinedload

from erp_crm.activities import access
from erp_crm.activities.models import Activity, Task, TaskStatus
from erp_crm.auth.models import User
from erp_crm.clients.models import Client
from erp_crm.db import utcnow
from erp_crm.deals.models import Deal
from erp_crm.errors import Conflict, PermissionDenied, ValidationError


@dataclass
class TaskData:
    assignee_id: int | None = None
    goal: str = ""
    due_on: dt.date | None = None
    client_id: int | None = None
    deal_id: int | None = None
    activity_id: int | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TaskData:
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for key in ("assignee_id", "client_id", "deal_id", "activity_id"):
            raw = data.get(key)
            try:
                values[key] = None if raw in (None, "") or isinstance(raw, bool) else int(raw)
            except (TypeError, ValueError):
                errors[key] = "Ожидается номер записи."
        raw_due = data.get("due_on")
        if isinstance(raw_due, dt.date):
            values["due_on"] = raw_due
        elif raw_due:
            try:
                values["due_on"] = dt.date.fromisoformat(str(raw_due))
            except ValueError:
                errors["due_on"] = "Дата в формате ГГГГ-ММ-ДД."
        goal = data.get("goal")
        if goal is not None and not isinstance(goal, str):
            errors["goal"] = "Суть запроса — строка текста."
        if errors:
            raise ValidationError(fields=errors)
        return cls(goal=(goal or "").strip(), **values)


def forward(session: Session, data: TaskData, *, actor: User, today: dt.date | None = None) -> Task:
    if not access.can_forward(actor):
        raise PermissionDenied()
    errors: dict[str, str] = {}
    assignee = session.get(User, data.assignee_id) if data.assignee_id else None
    if assignee is None:
        errors["assignee_id"] = "Выберите, кому переадресовать запрос."
    elif not assignee.is_active:
        errors["assignee_id"] = (
            f"Сотрудник «{assignee.full_name}» отключён: выберите другого исполнителя."
        )
    elif assignee.id == actor.id:
        errors["assignee_id"] = "Запрос переадресуют коллеге, не себе."
    if not data.goal:
        errors["goal"] = "Опишите суть запроса."
    if data.due_on is None:
        errors["due_on"] = "Укажите срок."
    elif data.due_on < (today or dt.date.today()):
        errors["due_on"] = "Срок не может быть в прошлом."
    client = session.get(Client, data.client_id) if data.client_id else None
    deal = session.get(Deal, data.deal_id) if data.deal_id else None
    activity = session.get(Activity, data.activity_id) if data.activity_id else None
    if data.client_id and client is None:
        errors["client_id"] = "Клиент не найден."
    elif client is not None and client.is_merged:
        errors["client_id"] = "Клиент объединён с другим: укажите оставшуюся карточку."
    if data.deal_id and deal is None:
        errors["deal_id"] = "Сделка не найдена."
    if data.activity_id and activity is None:
        errors["activity_id"] = "Контакт не найден."
    if deal is not None and client is not None and deal.client_id != client.id:
        errors["deal_id"] = "Сделка должна быть сделкой этого клиента."
    if errors:
        raise ValidationError(fields=errors)
    assert assignee is not None and data.due_on is not None
    if client is None and deal is not None:
        client = deal.client
    if client is None and activity is not None:
        client = activity.client
    task = Task(
        author_id=actor.id,
        assignee_id=assignee.id,
        client_id=client.id if client else None,
        deal_id=deal.id if deal else (activity.deal_id if activity else None),
        activity_id=activity.id if activity else None,
        goal=data.goal[:5000],
        due_on=data.due_on,
        status=TaskStatus.NEW.value,
    )
    session.add(task)
    session.flush()
    return task


def _ensure_assignee(actor: User, task: Task) -> None:
    if not access.can_answer_task(actor, task):
        raise PermissionDenied("Запрос выполняет тот, кому он переадресован.")


def accept(session: Session, task: Task, *, actor: User) -> Task:
    _ensure_assignee(actor, task)
    if task.status != TaskStatus.NEW.value:
        raise Conflict("Запрос уже принят или закрыт.")
    task.status = TaskStatus.ACCEPTED.value
    session.flush()
    return task


def close(session: Session, task: Task, answer: str, *, actor: User, done: bool) -> Task:
    """Done with an answer, or returned to the author with the reason."""
    _ensure_assignee(actor, task)
    if task.status not in (TaskStatus.NEW.value, TaskStatus.ACCEPTED.value):
        raise Conflict("Запрос уже закрыт.")
    answer = (answer or "").strip()
    if not answer:
        raise ValidationError(
            fields={
                "answer": "Напишите ответ автору запроса."
                if done
                else "Напишите, почему запрос возвращён."
            }
        )
    task.status = (TaskStatus.DONE if done else TaskStatus.RETURNED).value
    task.answer = answer[:5000]
    task.answered_at = utcnow()
    task.author_seen_at = None
    session.flush()
    return task


def mark_seen(session: Session, task: Task, *, actor: User) -> None:
    if task.author_id == actor.id and task.answered_at and task.author_seen_at is None:
        task.author_seen_at = utcnow()
        session.flush()


# «Мой день» reads both on every visit: built once, the user's id bound at execution.
_INBOX = (
    select(Task)
    .where(
        Task.assignee_id == bindparam("user_id"),
        Task.status.in_([TaskStatus.NEW.value, TaskStatus.ACCEPTED.value]),
    )
    .options(joinedload(Task.author))  # «Мой день» names each request's author
    .order_by(Task.due_on, Task.id)
)
_UNSEEN_ANSWERS = (
    select(Task)
    .where(
        Task.author_id == bindparam("user_id"),
        Task.answered_at.is_not(None),
        Task.author_seen_at.is_(None),
    )
    .options(joinedload(Task.assignee))
    .order_by(Task.answered_at.desc())
)


def inbox(session: Session, user: User) -> list[Task]:
    """Requests to the user that are still open."""
    return list(session.scalars(_INBOX, {"user_id": user.id}))


def unseen_answers(session: Session, user: User) -> list[Task]:
    """Answers to the user's requests they have not opened yet (the author is notified)."""
    return list(session.scalars(_UNSEEN_ANSWERS, {"user_id": user.id}))


def tasks_of(session: Session, user: User, *, limit: int = 200) -> list[Task]:
    """Every request the user sent or received, newest first."""
    return list(
        session.scalars(
            select(Task)
            .where(or_(Task.author_id == user.id, Task.assignee_id == user.id))
            .order_by(Task.id.desc())
            .limit(limit)
        )
    )
