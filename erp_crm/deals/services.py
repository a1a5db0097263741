"""Deals: creation, the deal's details, stage moves with their rules, losing a deal, the
pipeline's triggers. The priced lines and the discount are lines.py; reading (the list's filter
and sums, a client's deals, the stands and stages a deal may take) is queries.py.

Rules: a manager works their own deals (head of sales all); a client has at most one open deal
per project; entering a sale stage (70%+) needs a stand or m² line and sells the deal's stands;
leaving it puts them back on hold; losing needs a reason from the catalog and frees the stands.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients import services as client_services
from erp_crm.clients.models import Client, ContactPerson
from erp_crm.db import utcnow
from erp_crm.deals import next_steps
from erp_crm.deals.access import can_work_deal
from erp_crm.deals.models import (
    Deal,
    DealStageChange,
    LineKind,
    LostReason,
    Outcome,
    Pipeline,
    Stage,
)
from erp_crm.deals.queries import int_or_none
from erp_crm.errors import Conflict, NotFound, PermissionDenied, ValidationError
from erp_crm.projects import stands as stand_ops
from erp_crm.projects.models import (
    Project,
    ProjectStatus,
)

# --- access -------------------------------------------------------------------------------------


def _ensure_can_work(user: User, deal: Deal) -> None:
    if not can_work_deal(user, deal):
        raise PermissionDenied("Работать со сделкой может её менеджер или руководитель ОП.")


def _ensure_open(deal: Deal) -> None:
    if deal.outcome == Outcome.LOST.value:
        raise Conflict("Сделка проиграна: верните её на этап воронки, чтобы изменить.")


# --- lookups ------------------------------------------------------------------------------------


def get_deal(session: Session, deal_id: int) -> Deal:
    deal = session.get(Deal, deal_id)
    if deal is None:
        raise NotFound("Сделка не найдена.")
    return deal


def pipeline_by_code(session: Session, code: str) -> Pipeline:
    pipeline = session.scalar(select(Pipeline).where(Pipeline.code == code))
    if pipeline is None:
        raise NotFound(f"Воронка «{code}» не найдена.")
    return pipeline


def first_stage(pipeline: Pipeline) -> Stage:
    active = [s for s in pipeline.stages if s.is_active]
    if not active:
        raise Conflict(f"В воронке «{pipeline.name}» нет этапов.")
    return active[0]


def get_stage(session: Session, stage_id: Any) -> Stage:
    """A stage by id for a move; a wrong id is a field error, not a missing page."""
    stage = session.get(Stage, int_or_none(stage_id)) if int_or_none(stage_id) else None
    if stage is None:
        raise ValidationError(fields={"stage_id": "Выберите этап воронки."})
    return stage


# --- creation -----------------------------------------------------------------------------------


@dataclass
class DealData:
    client_id: int | None = None
    project_id: int | None = None
    manager_id: int | None = None
    contact_id: int | None = None
    stage_id: int | None = None
    title: str | None = None
    next_contact_date: dt.date | None = None

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> DealData:
        values: dict[str, Any] = {}
        errors = {}
        for key in ("client_id", "project_id", "manager_id", "contact_id", "stage_id"):
            raw = data.get(key)
            try:
                values[key] = int(raw) if raw not in (None, "") else None
            except (TypeError, ValueError):
                errors[key] = "Ожидается номер записи."
        values["title"] = str(data.get("title") or "").strip() or None
        raw_date = data.get("next_contact_date")
        if isinstance(raw_date, dt.date):
            values["next_contact_date"] = raw_date
        elif raw_date:
            try:
                values["next_contact_date"] = dt.date.fromisoformat(str(raw_date))
            except ValueError:
                errors["next_contact_date"] = "Дата в формате ГГГГ-ММ-ДД."
        if errors:
            raise ValidationError(fields=errors)
        return cls(**values)


def create_deal(
    session: Session, data: DealData, *, actor: User, lead_id: int | None = None
) -> Deal:
    """Open a deal of a client in a project, at the first stage of the sales pipeline."""
    if not has_permission(actor, Perm.DEALS_WORK):
        raise PermissionDenied()
    errors: dict[str, str] = {}
    client = session.get(Client, data.client_id) if data.client_id else None
    if client is None or client.is_merged:
        errors["client_id"] = "Выберите контрагента."
    project = session.get(Project, data.project_id) if data.project_id else None
    if project is None:
        errors["project_id"] = "Выберите выставочный проект."
    elif project.status == ProjectStatus.CLOSED.value:
        errors["project_id"] = "Проект завершён: новые сделки по нему не открываются."
    contact = session.get(ContactPerson, data.contact_id) if data.contact_id else None
    if data.contact_id and (contact is None or client is None or contact.client_id != client.id):
        errors["contact_id"] = "Контактное лицо должно принадлежать контрагенту."
    manager_id = actor.id
    if data.manager_id and data.manager_id != actor.id:
        if not has_permission(actor, Perm.DEALS_ALL):
            errors["manager_id"] = "Назначить сделку другому менеджеру может руководитель ОП."
        else:
            manager = session.get(User, data.manager_id)
            if manager is None or not manager.is_active:
                errors["manager_id"] = "Менеджер не найден или отключён."
            manager_id = data.manager_id
    if data.stage_id:
        stage = session.get(Stage, data.stage_id)
        if stage is None or not stage.is_active or stage.is_sale:
            errors["stage_id"] = "Новая сделка начинается с этапа до подписания договора."
    else:
        stage = first_stage(pipeline_by_code(session, "sales"))
    if stage is not None and "stage_id" not in errors:
        try:
            _check_next_contact(session, None, stage, data.next_contact_date)
        except ValidationError as err:
            errors.update(err.fields)
    if errors:
        raise ValidationError(fields=errors)
    assert client is not None and project is not None and stage is not None
    duplicate = session.scalar(
        select(Deal.id).where(
            Deal.client_id == client.id,
            Deal.project_id == project.id,
            Deal.outcome != Outcome.LOST.value,
        )
    )
    if duplicate:
        raise Conflict(
            f"У контрагента уже есть сделка №{duplicate} по проекту «{project.name}»: "
            "работайте с ней."
        )
    deal = Deal(
        client_id=client.id,
        project_id=project.id,
        manager_id=manager_id,
        contact_id=contact.id if contact else None,
        pipeline_id=stage.pipeline_id,
        stage_id=stage.id,
        title=data.title or f"{client.name} — {project.name}"[:300],
        pricing_date=dt.date.today(),
        lead_id=lead_id,
    )
    session.add(deal)
    session.flush()
    change = DealStageChange(deal_id=deal.id, actor_id=actor.id, to_stage_id=stage.id)
    session.add(change)
    client_services.refresh_relationship(session, client)
    session.flush()
    signals.deal_stage_changed.send(
        deal, session=session, change=change, from_stage=None, to_stage=stage, actor=actor
    )
    if data.next_contact_date is not None:
        signals.deal_next_contact_set.send(
            deal, session=session, day=data.next_contact_date, actor=actor
        )
    return deal


# --- stages -------------------------------------------------------------------------------------


def _has_space(deal: Deal) -> bool:
    return any(line.kind in (LineKind.STAND.value, LineKind.SPACE.value) for line in deal.lines)


def move_to_stage(
    session: Session,
    deal: Deal,
    stage: Stage,
    *,
    actor: User,
    note: str | None = None,
    next_contact_date: dt.date | None = None,
    position: int | None = None,
) -> Deal:
    """Move a deal to a stage of any active pipeline (returning from deferred demand included)."""
    _ensure_can_work(actor, deal)
    if not stage.is_active or not stage.pipeline.is_active:
        raise ValidationError(fields={"stage_id": "Этот этап отключён."})
    _check_next_contact(session, deal.id, stage, next_contact_date)
    stand_ids = [line.stand_id for line in deal.lines if line.stand_id is not None]
    was_sale = deal.outcome == Outcome.WON.value
    was_lost = deal.outcome == Outcome.LOST.value
    # The deal's new outcome is flushed before the stands change: the stand UPDATEs check it.
    if stage.is_sale:
        if not _has_space(deal):
            raise ValidationError(
                fields={
                    "stage_id": "Продажа без стенда или площади невозможна: добавьте стенд "
                    "или м² в сделку."
                }
            )
        deal.outcome = Outcome.WON.value
        deal.lost_reason_id = None
        deal.lost_comment = None
        if not was_sale:
            deal.closed_at = utcnow()
            session.flush()
            stand_ops.sell(session, stand_ids, deal.id, actor=actor)
    else:
        deal.outcome = Outcome.OPEN.value
        deal.closed_at = None
        deal.lost_reason_id = None
        deal.lost_comment = None
        session.flush()
        if was_sale:  # the contract fell through: the stands go back on hold for this deal
            for stand_id in stand_ids:
                stand_ops.release(session, stand_id, actor=actor, deal_id=deal.id)
                stand_ops.reserve(session, stand_id, deal.id, until=None, actor=actor)
        elif was_lost:
            for stand_id in stand_ids:
                stand_ops.reserve(session, stand_id, deal.id, until=None, actor=actor)
    change, from_stage = None, deal.stage
    if stage.id != deal.stage_id:
        change = DealStageChange(
            deal_id=deal.id,
            actor_id=actor.id,
            from_stage_id=deal.stage_id,
            to_stage_id=stage.id,
            note=(note or "")[:300] or None,
        )
        session.add(change)
    deal.stage_id, deal.pipeline_id = stage.id, stage.pipeline_id
    deal.stage, deal.pipeline = stage, stage.pipeline
    if position is not None:
        deal.position = position
    client_services.refresh_relationship(session, deal.client)
    session.flush()
    if change is not None:
        signals.deal_stage_changed.send(
            deal,
            session=session,
            change=change,
            from_stage=from_stage,
            to_stage=stage,
            actor=actor,
        )
    if next_contact_date is not None:
        signals.deal_next_contact_set.send(
            deal, session=session, day=next_contact_date, actor=actor
        )
    return deal


def _check_next_contact(
    session: Session, deal_id: int | None, stage: Stage, day: dt.date | None
) -> None:
    """A typed next-contact date is never dropped: it must not be past, and it becomes a
    planned contact. A stage that needs one (deferred demand) takes the date or a contact
    already planned ahead."""
    if day is not None:
        if day < dt.date.today():
            raise ValidationError(
                fields={"next_contact_date": "Дата следующего контакта не может быть в прошлом."}
            )
        return
    if not stage.requires_next_contact:
        return
    ahead = next_steps.next_contact(session, deal_id) if deal_id else None
    if ahead is None or ahead <= utcnow():
        raise ValidationError(
            fields={
                "next_contact_date": "Для отложенного спроса укажите дату следующего контакта "
                "(по ней будет запланирован звонок)."
            }
        )


def mark_lost(
    session: Session, deal: Deal, reason_id: Any, comment: str | None, *, actor: User
) -> Deal:
    """Lose a deal: a reason from the catalog is required; its stands are freed."""
    _ensure_can_work(actor, deal)
    try:
        reason = session.get(LostReason, int(reason_id)) if reason_id not in (None, "") else None
    except (TypeError, ValueError):
        reason = None
    if reason is None or not reason.is_active:
        raise ValidationError(fields={"lost_reason_id": "Выберите причину отказа из списка."})
    for line in deal.lines:
        if line.stand_id is not None:
            stand_ops.release(session, line.stand_id, actor=actor, deal_id=deal.id)
    deal.outcome = Outcome.LOST.value
    deal.lost_reason_id = reason.id
    deal.lost_comment = (comment or "").strip() or None
    deal.closed_at = utcnow()
    client_services.refresh_relationship(session, deal.client)
    session.flush()
    return deal


def fire_trigger(session: Session, deal: Deal, event: str, *, actor: User) -> bool:
    """Move the deal forward to its pipeline's stage bound to `event` (e.g. 'contract_signed').

    Never moves a deal backwards or out of a lost state; returns whether it moved.
    """
    target = session.scalar(
        select(Stage).where(
            Stage.pipeline_id == deal.pipeline_id, Stage.trigger == event, Stage.is_active.is_(True)
        )
    )
    if target is None or deal.outcome == Outcome.LOST.value:
        return False
    if target.position <= deal.stage.position:
        return False
    move_to_stage(session, deal, target, actor=actor, note=f"автоматически: {event}")
    return True


# --- the deal's own fields ----------------------------------------------------------------------


def update_details(
    session: Session, deal: Deal, *, title: Any, contact_id: Any, actor: User
) -> Deal:
    """Rename the deal and/or change its contact person (a contact of the deal's client)."""
    _ensure_can_work(actor, deal)
    errors: dict[str, str] = {}
    new_title = str(title or "").strip()
    if not new_title:
        errors["title"] = "Укажите название сделки."
    elif len(new_title) > 300:
        errors["title"] = "Название не длиннее 300 знаков."
    contact = None
    if contact_id not in (None, ""):
        try:
            contact = session.get(ContactPerson, int(contact_id))
        except (TypeError, ValueError):
            contact = None
        if contact is None or contact.client_id != deal.client_id:
            errors["contact_id"] = "Контактное лицо должно принадлежать контрагенту."
    if errors:
        raise ValidationError(fields=errors)
    deal.title = new_title
    deal.contact_id = contact.id if contact else None
    deal.contact = contact
    session.flush()
    return deal
