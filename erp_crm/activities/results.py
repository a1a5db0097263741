"""The formalized result of a done contact and its consequence: the next contact planned (a
postponement, a result's follow-up rule on working days), the project's deal lost with the
reason, the visitors of an invitation, the deal of a sale; the client's rating; the 24-hour rule
for changing a result."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_crm.activities import access
from erp_crm.activities.models import (
    RESULT_LABELS,
    Activity,
    ActivityReason,
    Rating,
    ReasonKind,
    ResultKind,
    ResultRule,
    Status,
    Visitor,
)
from erp_crm.activities.services import (
    ensure_planned,
    ensure_workable,
    parse_int,
    parse_moment,
    to_local,
    to_utc,
)
from erp_crm.auth.models import User
from erp_crm.clients.models import Client
from erp_crm.core.workdays import working_day_after
from erp_crm.db import utcnow
from erp_crm.deals import services as deal_services
from erp_crm.deals.models import Deal, LostReason, Outcome
from erp_crm.errors import Conflict, PermissionDenied, ValidationError
from erp_crm.projects.models import Project

# --- results ------------------------------------------------------------------------------------


@dataclass
class VisitorData:
    full_name: str
    position: str | None = None
    contact: str | None = None


@dataclass
class RatingData:
    manager_score: int
    project_score: int
    company_score: int
    comment: str | None = None

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> RatingData:
        errors: dict[str, str] = {}
        rating = _rating(raw, errors)
        if errors or rating is None:
            raise ValidationError(fields=errors)
        return rating


@dataclass
class ResultData:
    kind: str = ""
    text: str = ""
    reason_id: int | None = None
    lost_reason_id: int | None = None
    postponed_to: dt.datetime | None = None  # aware, or naive in the responsible user's zone
    deal_id: int | None = None
    visitors: list[VisitorData] = field(default_factory=list)
    rating: RatingData | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ResultData:
        errors: dict[str, str] = {}
        kind = data.get("kind") or data.get("result_kind") or ""
        text = data.get("text") or data.get("result_text") or ""
        if not isinstance(kind, str) or not isinstance(text, str):
            raise ValidationError(fields={"kind": "Выберите результат контакта."})
        visitors = []
        raw_visitors = data.get("visitors") or []
        if isinstance(
            raw_visitors, str
        ):  # the page: one visitor per line «ФИО; должность; контакт»
            raw_visitors = [
                dict(zip(VISITOR_FIELDS, (p.strip() for p in line.split(";")), strict=False))
                for line in raw_visitors.splitlines()
                if line.strip()
            ]
        if not isinstance(raw_visitors, list):
            errors["visitors"] = "Список посетителей — массив."
            raw_visitors = []
        for item in raw_visitors:
            if not isinstance(item, Mapping) or not str(item.get("full_name") or "").strip():
                errors["visitors"] = "У каждого посетителя должно быть ФИО."
                break
            visitors.append(
                VisitorData(
                    full_name=str(item["full_name"]).strip()[:200],
                    position=(str(item.get("position") or "").strip() or None),
                    contact=(str(item.get("contact") or "").strip() or None),
                )
            )
        rating = None
        raw_rating = data.get("rating")
        if isinstance(raw_rating, Mapping) and any(raw_rating.get(k) for k in SCORES):
            rating = _rating(raw_rating, errors)
        result = cls(
            kind=kind.strip(),
            text=text.strip(),
            reason_id=parse_int(data.get("reason_id"), "reason_id", errors),
            lost_reason_id=parse_int(data.get("lost_reason_id"), "lost_reason_id", errors),
            postponed_to=parse_moment(data.get("postponed_to"), "postponed_to", errors),
            deal_id=parse_int(data.get("deal_id"), "deal_id", errors),
            visitors=visitors,
            rating=rating,
        )
        if errors:
            raise ValidationError(fields=errors)
        return result


SCORES = ("manager_score", "project_score", "company_score")
# The page's visitors box: one visitor per line, «ФИО; должность; контакт».
VISITOR_FIELDS = ("full_name", "position", "contact")


def _rating(raw: Mapping[str, Any], errors: dict[str, str]) -> RatingData | None:
    scores: dict[str, int] = {}
    for key in SCORES:
        value = parse_int(raw.get(key), key, errors)
        if value is None or not 1 <= value <= 5:
            errors[key] = "Оценка — от 1 до 5."
        else:
            scores[key] = value
    if len(scores) < len(SCORES):
        return None
    comment = raw.get("comment")
    return RatingData(comment=(str(comment).strip() or None) if comment else None, **scores)


def _project_of(session: Session, activity: Activity) -> Project | None:
    if activity.deal is not None:
        return activity.deal.project
    return session.get(Project, activity.project_id) if activity.project_id else None


def _follow_up(
    session: Session, activity: Activity, starts_at: dt.datetime, *, actor: User, goal: str
) -> Activity:
    follow = Activity(
        author_id=actor.id,
        status=Status.PLANNED.value,
        type_id=activity.type_id,
        goal=goal[:500],
        client_id=activity.client_id,
        contact_id=activity.contact_id,
        deal_id=activity.deal_id,
        project_id=activity.project_id,
        responsible_id=activity.responsible_id,
        starts_at=starts_at,
        duration_minutes=activity.duration_minutes,
        reminders=list(activity.reminders or []),
        previous_activity_id=activity.id,
    )
    session.add(follow)
    session.flush()
    activity.next_activity_id = follow.id
    return follow


def rule_of(session: Session, kind: str | None) -> ResultRule | None:
    return session.scalar(select(ResultRule).where(ResultRule.result_kind == kind))


def _apply_rule(
    session: Session, activity: Activity, *, actor: User, now: dt.datetime
) -> Activity | None:
    rule = rule_of(session, activity.result_kind)
    if rule is None:
        return None
    if rule.stage_id and activity.deal is not None and activity.deal.outcome == Outcome.OPEN.value:
        if activity.deal.stage_id != rule.stage_id and rule.stage is not None:
            deal_services.move_to_stage(
                session,
                activity.deal,
                rule.stage,
                actor=actor,
                note=f"результат контакта: {RESULT_LABELS[activity.result_kind]}",
            )
    if not rule.follow_up_days or activity.next_activity_id:
        return None
    local = to_local(max(activity.starts_at, now), activity.responsible)
    day = working_day_after(local.date(), rule.follow_up_days)
    starts_at = to_utc(
        dt.datetime.combine(day, local.time().replace(second=0, microsecond=0)),
        activity.responsible,
    )
    return _follow_up(
        session,
        activity,
        starts_at,
        actor=actor,
        goal=f"После «{RESULT_LABELS[activity.result_kind]}»: {activity.goal}",
    )


def _lose_project_deal(
    session: Session, activity: Activity, project: Project, lost_reason_id: int, *, actor: User
) -> list[Deal]:
    """The client refused to take part: the project's open deals are lost with the reason; if
    there was none, a lost deal is recorded so the refusal counts in the funnel."""
    open_deals = list(
        session.scalars(
            select(Deal).where(
                Deal.client_id == activity.client_id,
                Deal.project_id == project.id,
                Deal.outcome == Outcome.OPEN.value,
            )
        )
    )
    if not open_deals:
        won = session.scalar(
            select(Deal.id).where(
                Deal.client_id == activity.client_id,
                Deal.project_id == project.id,
                Deal.outcome == Outcome.WON.value,
            )
        )
        if won:
            raise Conflict(
                f"У клиента продажа по проекту «{project.name}» (сделка №{won}): "
                "отказ оформляют на карточке сделки."
            )
        open_deals = [
            deal_services.create_deal(
                session,
                deal_services.DealData(
                    client_id=activity.client_id,
                    project_id=project.id,
                    manager_id=activity.responsible_id,
                    contact_id=activity.contact_id,
                ),
                actor=actor,
            )
        ]
    comment = activity.result_text or f"Отказ по итогам контакта №{activity.id}"
    for deal in open_deals:
        deal_services.mark_lost(session, deal, lost_reason_id, comment, actor=actor)
    if activity.deal_id is None:
        activity.deal_id = open_deals[0].id
    return open_deals


def _check_result(
    session: Session, activity: Activity, result: ResultData, now: dt.datetime
) -> dict[str, Any]:
    """The required parts of each result; returns the resolved values."""
    errors: dict[str, str] = {}
    resolved: dict[str, Any] = {}
    if result.kind not in RESULT_LABELS:
        raise ValidationError(fields={"kind": "Выберите результат контакта."})
    kind = ResultKind(result.kind)
    if kind is ResultKind.POSTPONED:
        reason = session.get(ActivityReason, result.reason_id) if result.reason_id else None
        if reason is None or reason.kind != ReasonKind.POSTPONE.value or not reason.is_active:
            errors["reason_id"] = "Выберите причину переноса."
        if result.postponed_to is None:
            errors["postponed_to"] = "Укажите, на когда перенесён контакт."
        else:
            moment = to_utc(result.postponed_to, activity.responsible)
            if moment <= now:
                errors["postponed_to"] = "Новая дата контакта должна быть в будущем."
            resolved["postponed_to"] = moment
    elif kind is ResultKind.REFUSED_PARTICIPATION:
        # an id from the catalog, active (an unknown one was a foreign-key 500 at the flush)
        lost = session.get(LostReason, result.lost_reason_id) if result.lost_reason_id else None
        if lost is None or not lost.is_active:
            errors["lost_reason_id"] = "Выберите причину отказа от участия."
        if _project_of(session, activity) is None:
            errors["project_id"] = "Укажите в контакте проект, от участия в котором отказ."
    elif kind is ResultKind.REFUSED_VISIT:
        reason = session.get(ActivityReason, result.reason_id) if result.reason_id else None
        if reason is None or reason.kind != ReasonKind.REFUSE_VISIT.value or not reason.is_active:
            errors["reason_id"] = "Выберите причину отказа от посещения."
    elif kind is ResultKind.INVITATION_SENT:
        if not result.visitors:
            errors["visitors"] = "Перечислите приглашённых: ФИО, должность, контакт."
    elif kind is ResultKind.MANUAL_SENT:
        if _project_of(session, activity) is None:
            errors["project_id"] = "Укажите в контакте проект, руководство которого отправлено."
    elif kind is ResultKind.SALE:
        deal = session.get(Deal, result.deal_id or activity.deal_id or 0)
        if deal is None or deal.client_id != activity.client_id:
            errors["deal_id"] = "Выберите сделку клиента, которой закончился контакт."
        elif deal.outcome == Outcome.LOST.value:
            errors["deal_id"] = "Сделка проиграна: продажей контакт закончиться не может."
        else:
            resolved["deal"] = deal
    elif kind is ResultKind.OTHER and not result.text:
        errors["text"] = "Опишите результат контакта."
    if errors:
        raise ValidationError(fields=errors)
    return resolved


def complete(
    session: Session,
    activity: Activity,
    result: ResultData,
    *,
    actor: User,
    now: dt.datetime | None = None,
) -> Activity | None:
    """Record the formalized result and carry out its consequence; returns the next contact it
    planned (a postponement, a rule's follow-up), if any. One transaction: a refused consequence
    (e.g. the deal cannot be lost) saves nothing."""
    now = now or utcnow()
    ensure_workable(actor, activity)
    ensure_planned(activity)
    if activity.client.is_merged:
        raise Conflict("Клиент объединён с другим: контакт перенесён к нему, откройте его там.")
    resolved = _check_result(session, activity, result, now)
    activity.status = Status.DONE.value
    activity.result_kind = result.kind
    activity.result_text = result.text[:5000] or None
    activity.completed_at = now
    activity.completed_by_id = actor.id
    following: Activity | None = None
    kind = ResultKind(result.kind)
    if kind in (ResultKind.POSTPONED, ResultKind.REFUSED_VISIT):
        activity.reason_id = result.reason_id
    if kind is ResultKind.POSTPONED:
        activity.postponed_to = resolved["postponed_to"]
        following = _follow_up(
            session, activity, resolved["postponed_to"], actor=actor, goal=activity.goal
        )
    elif kind is ResultKind.REFUSED_PARTICIPATION:
        project = _project_of(session, activity)
        assert project is not None and result.lost_reason_id is not None
        activity.lost_reason_id = result.lost_reason_id
        activity.project_id = project.id
        _lose_project_deal(session, activity, project, result.lost_reason_id, actor=actor)
    elif kind is ResultKind.INVITATION_SENT:
        activity.visitors = [
            Visitor(full_name=v.full_name, position=v.position, contact=v.contact)
            for v in result.visitors
        ]
    elif kind is ResultKind.SALE:
        activity.deal_id = resolved["deal"].id
        activity.project_id = resolved["deal"].project_id
    session.flush()
    if result.rating is not None:
        rate(session, activity.client, result.rating, actor=actor, activity=activity)
    ruled = _apply_rule(session, activity, actor=actor, now=now)
    session.flush()
    return following or ruled


def edit_result(
    session: Session,
    activity: Activity,
    text: str,
    *,
    actor: User,
    now: dt.datetime | None = None,
) -> Activity:
    """Correct the comment of a result: its author for 24 h, the head of sales later (the audit
    trail keeps what it said before)."""
    if activity.status != Status.DONE.value:
        raise Conflict("Контакт ещё не выполнен.")
    if not access.can_edit_result(actor, activity, now):
        raise PermissionDenied("Результат старше суток меняет только руководитель ОП.")
    activity.result_text = (text or "").strip()[:5000] or None
    session.flush()
    return activity


def postponements(session: Session, client_id: int, project_id: int | None) -> int:
    """How many times contacts with the client about the project were postponed."""
    query = select(func.count(Activity.id)).where(
        Activity.client_id == client_id, Activity.result_kind == ResultKind.POSTPONED.value
    )
    query = query.where(
        Activity.project_id == project_id if project_id else Activity.project_id.is_(None)
    )
    return session.scalar(query) or 0


def rate(
    session: Session,
    client: Client,
    data: RatingData,
    *,
    actor: User,
    activity: Activity | None = None,
    deal: Deal | None = None,
) -> Rating:
    """The client's scores of the manager, the project and the company (1–5), on a done
    contact, a deal, or the client itself."""
    if not access.can_rate(actor, client, activity=activity, deal=deal):
        raise PermissionDenied("Оценку клиента записывает его менеджер или руководитель ОП.")
    if client.is_merged:
        raise ValidationError(
            fields={"client_id": "Контрагент объединён с другим: оцените в карточке основного."}
        )
    if deal is not None and deal.client_id != client.id:
        raise ValidationError(fields={"deal_id": "Сделка другого контрагента."})
    for key in SCORES:
        if not 1 <= getattr(data, key) <= 5:
            raise ValidationError(fields={key: "Оценка — от 1 до 5."})
    manager_id = (
        activity.responsible_id if activity else (deal.manager_id if deal else client.curator_id)
    )
    rating = Rating(
        client_id=client.id,
        activity_id=activity.id if activity else None,
        deal_id=deal.id if deal else (activity.deal_id if activity else None),
        manager_id=manager_id,
        manager_score=data.manager_score,
        project_score=data.project_score,
        company_score=data.company_score,
        comment=(data.comment or "").strip()[:2000] or None,
        recorded_by_id=actor.id,
    )
    session.add(rating)
    session.flush()
    return rating


def ratings_of(
    session: Session, *, client_id: int | None = None, deal_id: int | None = None
) -> list[Rating]:
    query = select(Rating).order_by(Rating.recorded_at.desc(), Rating.id.desc()).limit(200)
    if client_id is not None:
        query = query.where(Rating.client_id == client_id)
    if deal_id is not None:
        query = query.where(Rating.deal_id == deal_id)
    return list(session.scalars(query))
