"""Pipelines, their stages and the lost-reasons catalog: what the admin changes.

Rules: nothing that deals use is deleted — pipelines, stages and reasons are deactivated; the
sales pipeline (new deals start there) stays active with at least one active stage; a stage that
open deals sit on is not deactivated and does not change its «sale» flag (the deals' outcome
follows that flag); a trigger belongs to one active stage of a pipeline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.deals.models import Deal, LostReason, Outcome, Pipeline, Stage
from erp_crm.errors import Conflict, NotFound, PermissionDenied, ValidationError

SALES_CODE = "sales"
# Events that move deals forward (deals.services.fire_trigger): raised by documents and payments.
TRIGGERS = {
    "contract_issued": "Выставлен договор",
    "contract_signed": "Подписан договор",
    "invoice_issued": "Выставлен счёт",
    "prepayment_received": "Получена предоплата",
    "closing_documents": "Выставлены закрывающие документы",
}
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


def _ensure_manage(actor: User) -> None:
    if not has_permission(actor, Perm.PIPELINES_MANAGE):
        raise PermissionDenied("Воронки настраивает администратор.")


def _name(value: Any, field: str = "name", limit: int = 200) -> str:
    name = " ".join(str(value or "").split())
    if not name:
        raise ValidationError(fields={field: "Укажите название."})
    if len(name) > limit:
        raise ValidationError(fields={field: f"Название не длиннее {limit} знаков."})
    return name


# --- lookups ------------------------------------------------------------------------------------


def pipelines(session: Session) -> list[Pipeline]:
    return list(session.scalars(select(Pipeline).order_by(Pipeline.position, Pipeline.id)))


def get_pipeline(session: Session, pipeline_id: int) -> Pipeline:
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise NotFound("Воронка не найдена.")
    return pipeline


def get_stage(session: Session, stage_id: int) -> Stage:
    stage = session.get(Stage, stage_id)
    if stage is None:
        raise NotFound("Этап не найден.")
    return stage


def get_reason(session: Session, reason_id: int) -> LostReason:
    reason = session.get(LostReason, reason_id)
    if reason is None:
        raise NotFound("Причина отказа не найдена.")
    return reason


def lost_reasons(session: Session, *, active_only: bool = False) -> list[LostReason]:
    query = select(LostReason).order_by(LostReason.name)
    if active_only:
        query = query.where(LostReason.is_active.is_(True))
    return list(session.scalars(query))


def deals_per_stage(session: Session) -> dict[int, tuple[int, int]]:
    """stage id -> (open or won deals on it, all deals on it)."""
    rows = session.execute(
        select(
            Deal.stage_id,
            func.count().filter(Deal.outcome != Outcome.LOST.value),
            func.count(),
        ).group_by(Deal.stage_id)
    ).all()
    return {stage_id: (live, total) for stage_id, live, total in rows}


def _live_deals_on(session: Session, stage: Stage) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                Deal.stage_id == stage.id, Deal.outcome != Outcome.LOST.value
            )
        )
        or 0
    )


# --- pipelines ----------------------------------------------------------------------------------


def create_pipeline(session: Session, name: Any, code: Any = None, *, actor: User) -> Pipeline:
    _ensure_manage(actor)
    clean = _name(name)
    code = str(code or "").strip().lower()
    if code:
        if not _CODE.match(code):
            raise ValidationError(
                fields={"code": "Код: латинские буквы, цифры и «_», от 2 до 32 знаков."}
            )
        if session.scalar(select(Pipeline.id).where(Pipeline.code == code)):
            raise ValidationError(fields={"code": "Воронка с таким кодом уже есть."})
    else:
        number = (session.scalar(select(func.max(Pipeline.id))) or 0) + 1
        code = f"pipeline_{number}"
        while session.scalar(select(Pipeline.id).where(Pipeline.code == code)):
            number += 1
            code = f"pipeline_{number}"
    if session.scalar(select(Pipeline.id).where(Pipeline.name == clean)):
        raise ValidationError(fields={"name": "Воронка с таким названием уже есть."})
    position = (session.scalar(select(func.max(Pipeline.position))) or 0) + 1
    pipeline = Pipeline(code=code, name=clean, position=position, is_active=True)
    session.add(pipeline)
    session.flush()
    return pipeline


def rename_pipeline(session: Session, pipeline: Pipeline, name: Any, *, actor: User) -> Pipeline:
    _ensure_manage(actor)
    clean = _name(name)
    same = session.scalar(
        select(Pipeline.id).where(Pipeline.name == clean, Pipeline.id != pipeline.id)
    )
    if same:
        raise ValidationError(fields={"name": "Воронка с таким названием уже есть."})
    pipeline.name = clean
    session.flush()
    return pipeline


def set_pipeline_active(
    session: Session, pipeline: Pipeline, active: bool, *, actor: User
) -> Pipeline:
    _ensure_manage(actor)
    if not active and pipeline.code == SALES_CODE:
        raise Conflict("Воронку продаж отключить нельзя: с неё начинаются новые сделки.")
    pipeline.is_active = active
    session.flush()
    return pipeline


# --- stages -------------------------------------------------------------------------------------


@dataclass
class StageData:
    name: str | None = None
    percent: Any = None
    position: Any = None  # 1-based order in the pipeline; None keeps it (or appends a new stage)
    is_sale: bool = False
    requires_next_contact: bool = False
    trigger: str | None = None

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> StageData:
        return cls(
            name=data.get("name"),
            percent=data.get("percent"),
            position=data.get("position"),
            is_sale=bool(data.get("is_sale")),
            requires_next_contact=bool(data.get("requires_next_contact")),
            trigger=(str(data.get("trigger") or "").strip() or None),
        )


def _ordered(pipeline: Pipeline) -> list[Stage]:
    return sorted(pipeline.stages, key=lambda s: (s.position, s.id or 0))


def _renumber(stages: list[Stage]) -> None:
    for n, stage in enumerate(stages):
        stage.position = n


def _clean_stage(
    session: Session, pipeline: Pipeline, data: StageData, stage: Stage | None
) -> tuple[str, int, int | None]:
    errors: dict[str, str] = {}
    name = " ".join(str(data.name or "").split())
    if not name:
        errors["name"] = "Укажите название этапа."
    elif len(name) > 200:
        errors["name"] = "Название не длиннее 200 знаков."
    elif any(s.name == name and s is not stage for s in pipeline.stages):
        errors["name"] = "Этап с таким названием в воронке уже есть."
    percent = None
    try:
        percent = int(str(data.percent).strip())
    except (TypeError, ValueError):
        errors["percent"] = "Процент — целое число от 0 до 100."
    else:
        if not 0 <= percent <= 100:
            errors["percent"] = "Процент — целое число от 0 до 100."
    position = None
    if data.position not in (None, ""):
        try:
            position = int(str(data.position).strip())
        except (TypeError, ValueError):
            errors["position"] = "Порядок — номер этапа в воронке (1, 2, 3 …)."
        else:
            if position < 1:
                errors["position"] = "Порядок — номер этапа в воронке (1, 2, 3 …)."
    if data.trigger and data.trigger not in TRIGGERS:
        errors["trigger"] = "Выберите событие из списка."
    elif data.trigger and any(
        s.trigger == data.trigger and s.is_active and s is not stage for s in pipeline.stages
    ):
        errors["trigger"] = "Это событие уже переводит сделки на другой этап этой воронки."
    if errors:
        raise ValidationError(fields=errors)
    assert percent is not None
    return name, percent, position


def _place(pipeline: Pipeline, stage: Stage, position: int | None) -> None:
    stages = [s for s in _ordered(pipeline) if s is not stage]
    index = len(stages) if position is None else min(position - 1, len(stages))
    stages.insert(index, stage)
    _renumber(stages)


def add_stage(session: Session, pipeline: Pipeline, data: StageData, *, actor: User) -> Stage:
    _ensure_manage(actor)
    name, percent, position = _clean_stage(session, pipeline, data, None)
    stage = Stage(
        pipeline_id=pipeline.id,
        name=name,
        percent=percent,
        is_sale=data.is_sale,
        requires_next_contact=data.requires_next_contact,
        trigger=data.trigger,
        is_active=True,
        position=0,
    )
    pipeline.stages.append(stage)
    _place(pipeline, stage, position)
    session.flush()
    return stage


def update_stage(session: Session, stage: Stage, data: StageData, *, actor: User) -> Stage:
    _ensure_manage(actor)
    pipeline = stage.pipeline
    name, percent, position = _clean_stage(session, pipeline, data, stage)
    if data.is_sale != stage.is_sale and _live_deals_on(session, stage):
        raise ValidationError(
            fields={
                "is_sale": "На этапе есть сделки: признак продажи меняют только у пустого этапа "
                "(перенесите сделки или заведите новый этап)."
            }
        )
    stage.name, stage.percent = name, percent
    stage.is_sale = data.is_sale
    stage.requires_next_contact = data.requires_next_contact
    stage.trigger = data.trigger
    if position is not None:
        _place(pipeline, stage, position)
    session.flush()
    return stage


def move_stage(session: Session, stage: Stage, direction: str, *, actor: User) -> Stage:
    """One step up or down in its pipeline's order."""
    _ensure_manage(actor)
    if direction not in ("up", "down"):
        raise ValidationError(fields={"direction": "Направление: вверх или вниз."})
    stages = _ordered(stage.pipeline)
    index = stages.index(stage)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(stages):
        stages[index], stages[other] = stages[other], stages[index]
    _renumber(stages)
    session.flush()
    return stage


def set_stage_active(session: Session, stage: Stage, active: bool, *, actor: User) -> Stage:
    _ensure_manage(actor)
    if not active and stage.is_active:
        live = _live_deals_on(session, stage)
        if live:
            raise Conflict(
                f"На этапе «{stage.name}» {live} сделок: перенесите их, затем отключайте этап."
            )
        others = [s for s in stage.pipeline.stages if s.is_active and s is not stage]
        if stage.pipeline.code == SALES_CODE and not others:
            raise Conflict("В воронке продаж должен остаться хотя бы один действующий этап.")
    if active and stage.trigger:
        taken = any(
            s.trigger == stage.trigger and s.is_active and s is not stage
            for s in stage.pipeline.stages
        )
        if taken:
            raise Conflict(
                "Событие этого этапа уже переводит сделки на другой этап: "
                "уберите событие у одного из них."
            )
    stage.is_active = active
    session.flush()
    return stage


# --- lost reasons -------------------------------------------------------------------------------


def add_lost_reason(session: Session, name: Any, *, actor: User) -> LostReason:
    _ensure_manage(actor)
    clean = _name(name)
    if session.scalar(select(LostReason.id).where(LostReason.name == clean)):
        raise ValidationError(fields={"name": "Такая причина уже есть в справочнике."})
    reason = LostReason(name=clean, is_active=True)
    session.add(reason)
    session.flush()
    return reason


def rename_lost_reason(
    session: Session, reason: LostReason, name: Any, *, actor: User
) -> LostReason:
    _ensure_manage(actor)
    clean = _name(name)
    same = session.scalar(
        select(LostReason.id).where(LostReason.name == clean, LostReason.id != reason.id)
    )
    if same:
        raise ValidationError(fields={"name": "Такая причина уже есть в справочнике."})
    reason.name = clean
    session.flush()
    return reason


def set_lost_reason_active(
    session: Session, reason: LostReason, active: bool, *, actor: User
) -> LostReason:
    _ensure_manage(actor)
    if not active:
        left = session.scalar(
            select(func.count()).where(LostReason.is_active.is_(True), LostReason.id != reason.id)
        )
        if not left:
            raise Conflict("Должна остаться хотя бы одна действующая причина отказа.")
    reason.is_active = active
    session.flush()
    return reason
