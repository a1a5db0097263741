"""The catalogs of contacts the head of sales keeps: contact types, reasons of postponements and
refusals to visit, and the next step each result sets."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_crm.activities.models import (
    RESULT_LABELS,
    ActivityReason,
    ActivityType,
    ReasonKind,
    ResultRule,
)
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.deals.models import Stage
from erp_crm.errors import Conflict, PermissionDenied, ValidationError


def _ensure(actor: User) -> None:
    if not has_permission(actor, Perm.ACTIVITY_CATALOGS_MANAGE):
        raise PermissionDenied("Справочники контактов ведёт руководитель ОП.")


def add_type(session: Session, name: str, minutes: int, *, actor: User) -> ActivityType:
    _ensure(actor)
    clean = " ".join((name or "").split())
    if not clean:
        raise ValidationError(fields={"name": "Назовите тип контакта."})
    if not 1 <= minutes <= 1440:
        raise ValidationError(fields={"default_minutes": "Длительность — от 1 минуты до суток."})
    # Compared in Python: SQLite's lower() folds only ASCII, not Cyrillic.
    if clean.casefold() in {n.casefold() for n in session.scalars(select(ActivityType.name))}:
        raise Conflict(f"Тип «{clean}» уже есть.")
    code = re.sub(r"\W+", "_", clean.lower())[:20] or "type"
    taken = set(session.scalars(select(ActivityType.code)))
    base, n = code, 1
    while code in taken:
        n += 1
        code = f"{base}_{n}"
    position = (session.scalar(select(func.max(ActivityType.position))) or 0) + 1
    kind = ActivityType(code=code, name=clean, default_minutes=minutes, position=position)
    session.add(kind)
    session.flush()
    return kind


def toggle_type(session: Session, kind: ActivityType, *, actor: User) -> ActivityType:
    """Switch a type off (planned and done contacts keep it) or back on."""
    _ensure(actor)
    kind.is_active = not kind.is_active
    session.flush()
    return kind


def add_reason(session: Session, kind: str, name: str, *, actor: User) -> ActivityReason:
    _ensure(actor)
    if kind not in {k.value for k in ReasonKind}:
        raise ValidationError(fields={"kind": "Выберите каталог причин."})
    clean = " ".join((name or "").split())
    if not clean:
        raise ValidationError(fields={"name": "Назовите причину."})
    names = session.scalars(select(ActivityReason.name).where(ActivityReason.kind == kind))
    if clean.casefold() in {n.casefold() for n in names}:
        raise Conflict(f"Причина «{clean}» уже есть.")
    reason = ActivityReason(kind=kind, name=clean[:200])
    session.add(reason)
    session.flush()
    return reason


def toggle_reason(session: Session, reason: ActivityReason, *, actor: User) -> ActivityReason:
    _ensure(actor)
    reason.is_active = not reason.is_active
    session.flush()
    return reason


def set_rule(
    session: Session,
    result_kind: str,
    follow_up_days: int | None,
    stage_id: int | None,
    *,
    actor: User,
) -> ResultRule:
    _ensure(actor)
    if result_kind not in RESULT_LABELS:
        raise ValidationError(fields={"result_kind": "Неизвестный результат контакта."})
    if follow_up_days is not None and not 1 <= follow_up_days <= 365:
        raise ValidationError(fields={"follow_up_days": "Через 1–365 дней, или пусто."})
    if stage_id is not None:
        stage = session.get(Stage, stage_id)
        if stage is None or not stage.is_active:
            raise ValidationError(fields={"stage_id": "Выберите действующий этап."})
    rule = session.scalar(select(ResultRule).where(ResultRule.result_kind == result_kind))
    if rule is None:
        rule = ResultRule(result_kind=result_kind)
        session.add(rule)
    rule.follow_up_days = follow_up_days
    rule.stage_id = stage_id
    session.flush()
    return rule
