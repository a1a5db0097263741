"""Planning contacts and recording their formalized results, with the consequences each result
has (the next contact planned, the project's deal lost, the deal linked). Functions take the
session and the acting user; they flush and never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_crm.activities import access
from erp_crm.activities.models import (
    RESULT_LABELS,
    Activity,
    ActivityReason,
    ActivityType,
    Rating,
    ReasonKind,
    ResultKind,
    ResultRule,
    Status,
    Visitor,
)
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients.models import Client, ContactPerson
from erp_crm.db import utcnow
from erp_crm.deals import services as deal_services
from erp_crm.deals.models import Deal, Outcome
from erp_crm.errors import Conflict, PermissionDenied, ValidationError
from erp_crm.projects.models import Project

DEFAULT_TIME_ZONE = "Europe/Moscow"
# A contact "planned" a few minutes ago is a typing delay, not a contact in the past.
PAST_GRACE = dt.timedelta(minutes=5)
MAX_DURATION_MINUTES = 24 * 60
MAX_REMINDER_MINUTES = 14 * 24 * 60
MAX_BULK = 20_000


def zone_of(user: User | None) -> ZoneInfo:
    try:
        return ZoneInfo((user.time_zone if user else None) or DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def to_utc(local: dt.datetime, user: User | None) -> dt.datetime:
    """A wall-clock time the user typed (naive) → UTC; an aware one is only converted."""
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone_of(user))
    return local.astimezone(dt.UTC)


def to_local(moment: dt.datetime, user: User | None) -> dt.datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone_of(user))


def _int(raw: Any, name: str, errors: dict[str, str]) -> int | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, bool):
        errors[name] = "Ожидается номер записи."
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        errors[name] = "Ожидается номер записи."
        return None


def _moment(raw: Any, name: str, errors: dict[str, str]) -> dt.datetime | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, dt.datetime):
        return raw
    try:
        return dt.datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except ValueError:
        errors[name] = "Дата и время в формате ГГГГ-ММ-ДД ЧЧ:ММ."
        return None


def _offsets(raw: Any, errors: dict[str, str]) -> list[int]:
    if raw in (None, ""):
        return []
    items = raw.replace(";", ",").split(",") if isinstance(raw, str) else raw
    if not isinstance(items, Iterable):
        errors["reminders"] = "Напоминания — минуты до начала через запятую."
        return []
    offsets: set[int] = set()
    for item in items:
        if item in (None, "") or (isinstance(item, str) and not item.strip()):
            continue
        try:
            value = int(item)
        except (TypeError, ValueError):
            errors["reminders"] = "Напоминания — минуты до начала через запятую."
            return []
        if value < 0:
            errors["reminders"] = "Напоминание должно быть до начала контакта, не после."
            return []
        if value > MAX_REMINDER_MINUTES:
            errors["reminders"] = "Напоминание — не раньше чем за 14 дней до контакта."
            return []
        offsets.add(value)
    return sorted(offsets, reverse=True)


# --- planning -----------------------------------------------------------------------------------


@dataclass
class ActivityData:
    """What a planned contact needs; the page, the API and bulk planning share it."""

    type_id: int | None = None
    goal: str = ""
    client_id: int | None = None
    contact_id: int | None = None
    deal_id: int | None = None
    project_id: int | None = None
    responsible_id: int | None = None
    starts_at: dt.datetime | None = None  # aware, or naive in the responsible user's zone
    duration_minutes: int | None = None
    reminders: list[int] = field(default_factory=list)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ActivityData:
        errors: dict[str, str] = {}
        values = {
            key: _int(data.get(key), key, errors)
            for key in (
                "type_id",
                "client_id",
                "contact_id",
                "deal_id",
                "project_id",
                "responsible_id",
                "duration_minutes",
            )
        }
        goal = data.get("goal")
        if goal is not None and not isinstance(goal, str):
            errors["goal"] = "Цель — строка текста."
        item = cls(
            goal=(goal or "").strip() if isinstance(goal, str) else "",
            starts_at=_moment(data.get("starts_at"), "starts_at", errors),
            reminders=_offsets(data.get("reminders"), errors),
            **values,
        )
        if errors:
            raise ValidationError(fields=errors)
        return item


def active_types(session: Session) -> list[ActivityType]:
    return list(
        session.scalars(
            select(ActivityType)
            .where(ActivityType.is_active.is_(True))
            .order_by(ActivityType.position, ActivityType.name)
        )
    )


def reasons(session: Session, kind: ReasonKind) -> list[ActivityReason]:
    return list(
        session.scalars(
            select(ActivityReason)
            .where(ActivityReason.kind == kind.value, ActivityReason.is_active.is_(True))
            .order_by(ActivityReason.name)
        )
    )


def _checked(
    session: Session, data: ActivityData, *, actor: User, now: dt.datetime, current=None
) -> dict[str, Any]:
    """Validate a plan; returns the column values. Every problem is reported at once."""
    errors: dict[str, str] = {}
    kind = session.get(ActivityType, data.type_id) if data.type_id else None
    if kind is None or (not kind.is_active and (current is None or current.type_id != kind.id)):
        errors["type_id"] = "Выберите тип контакта."
    if not data.goal:
        errors["goal"] = "Укажите цель контакта."
    elif len(data.goal) > 500:
        errors["goal"] = "Цель — не длиннее 500 символов."
    client = session.get(Client, data.client_id) if data.client_id else None
    if client is None:
        errors["client_id"] = "Выберите клиента."
    elif client.is_merged:
        survivor = session.get(Client, client.merged_into_id)
        errors["client_id"] = (
            f"Клиент объединён с «{survivor.name if survivor else '—'}»: планируйте контакт с ним."
        )
    contact = session.get(ContactPerson, data.contact_id) if data.contact_id else None
    if data.contact_id and (contact is None or client is None or contact.client_id != client.id):
        errors["contact_id"] = "Контактное лицо должно быть сотрудником этого клиента."
    deal = session.get(Deal, data.deal_id) if data.deal_id else None
    if data.deal_id and (deal is None or client is None or deal.client_id != client.id):
        errors["deal_id"] = "Сделка должна быть сделкой этого клиента."
    project_id = deal.project_id if deal is not None else data.project_id
    if project_id and session.get(Project, project_id) is None:
        errors["project_id"] = "Выставочный проект не найден."
    responsible_id = data.responsible_id or (current.responsible_id if current else actor.id)
    responsible = session.get(User, responsible_id)
    if responsible is None or not responsible.is_active:
        errors["responsible_id"] = "Ответственный не найден или отключён."
    duration = data.duration_minutes or (
        current.duration_minutes if current else (kind.default_minutes if kind else 15)
    )
    if not 0 < duration <= MAX_DURATION_MINUTES:
        errors["duration_minutes"] = "Длительность — от 1 минуты до суток."
    starts_at = None
    if data.starts_at is None:
        errors["starts_at"] = "Укажите дату и время контакта."
    else:
        starts_at = to_utc(data.starts_at, responsible or actor)
        if starts_at < now - PAST_GRACE:
            errors["starts_at"] = "Нельзя запланировать контакт на прошедшее время."
    if errors:
        raise ValidationError(fields=errors)
    assert client is not None and responsible is not None
    if not access.can_plan(actor, client, responsible.id):
        raise PermissionDenied(
            "Планировать контакты другим сотрудникам можно по своим клиентам; "
            "любые — руководитель ОП."
        )
    return {
        "type_id": data.type_id,
        "goal": data.goal,
        "client_id": client.id,
        "contact_id": contact.id if contact else None,
        "deal_id": deal.id if deal else None,
        "project_id": project_id,
        "responsible_id": responsible.id,
        "starts_at": starts_at,
        "duration_minutes": duration,
        "reminders": list(data.reminders),
    }


def plan(
    session: Session, data: ActivityData, *, actor: User, now: dt.datetime | None = None
) -> Activity:
    """Plan a contact in the future."""
    values = _checked(session, data, actor=actor, now=now or utcnow())
    activity = Activity(author_id=actor.id, status=Status.PLANNED.value, **values)
    session.add(activity)
    session.flush()
    return activity


def _ensure_workable(actor: User, activity: Activity) -> None:
    if not access.can_work_activity(actor, activity):
        raise PermissionDenied("Контакт ведёт другой менеджер.")


def _ensure_planned(activity: Activity) -> None:
    if activity.status != Status.PLANNED.value:
        raise Conflict(
            "Контакт уже выполнен или отменён: запланируйте новый."
            if activity.status == Status.CANCELLED.value
            else "Контакт уже выполнен: его результат меняют на карточке контакта."
        )


def update_plan(
    session: Session,
    activity: Activity,
    data: ActivityData,
    *,
    actor: User,
    now: dt.datetime | None = None,
) -> Activity:
    _ensure_workable(actor, activity)
    _ensure_planned(activity)
    values = _checked(session, data, actor=actor, now=now or utcnow(), current=activity)
    for key, value in values.items():
        setattr(activity, key, value)
    session.flush()
    return activity


def move(
    session: Session,
    activity: Activity,
    starts_at: dt.datetime,
    *,
    actor: User,
    duration_minutes: int | None = None,
    now: dt.datetime | None = None,
) -> Activity:
    """Drag in the calendar: a new start (and length); the rest of the plan stays."""
    _ensure_workable(actor, activity)
    _ensure_planned(activity)
    moment = to_utc(starts_at, activity.responsible)
    if moment < (now or utcnow()) - PAST_GRACE:
        raise ValidationError(fields={"starts_at": "Нельзя перенести контакт в прошлое."})
    if duration_minutes is not None:
        if not 0 < duration_minutes <= MAX_DURATION_MINUTES:
            raise ValidationError(
                fields={"duration_minutes": "Длительность — от 1 минуты до суток."}
            )
        activity.duration_minutes = duration_minutes
    activity.starts_at = moment
    session.flush()
    return activity


def cancel(session: Session, activity: Activity, *, actor: User, note: str = "") -> Activity:
    _ensure_workable(actor, activity)
    _ensure_planned(activity)
    activity.status = Status.CANCELLED.value
    activity.result_text = (note or "").strip()[:2000] or None
    activity.completed_at = utcnow()
    activity.completed_by_id = actor.id
    session.flush()
    return activity


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
            reason_id=_int(data.get("reason_id"), "reason_id", errors),
            lost_reason_id=_int(data.get("lost_reason_id"), "lost_reason_id", errors),
            postponed_to=_moment(data.get("postponed_to"), "postponed_to", errors),
            deal_id=_int(data.get("deal_id"), "deal_id", errors),
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
        value = _int(raw.get(key), key, errors)
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


def working_day_after(day: dt.date, days: int) -> dt.date:
    """`days` calendar days later, moved forward past weekends and Russian public holidays."""
    target = day + dt.timedelta(days=days)
    russian = holidays.country_holidays("RU", years=range(target.year, target.year + 2))
    while target.weekday() >= 5 or target in russian:
        target += dt.timedelta(days=1)
    return target


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
        if not result.lost_reason_id:
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
    _ensure_workable(actor, activity)
    _ensure_planned(activity)
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
    """The client's scores of the manager, the project and the company (1–5)."""
    if not has_permission(actor, Perm.ACTIVITIES_WORK):
        raise PermissionDenied()
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


# --- lists --------------------------------------------------------------------------------------


def activities_of_client(session: Session, client: Client, limit: int = 50) -> list[Activity]:
    """The client card: planned first (soonest first), then the latest done or cancelled."""
    planned = session.scalars(
        select(Activity)
        .where(Activity.client_id == client.id, Activity.status == Status.PLANNED.value)
        .order_by(Activity.starts_at)
        .limit(limit)
    ).all()
    closed = session.scalars(
        select(Activity)
        .where(Activity.client_id == client.id, Activity.status != Status.PLANNED.value)
        .order_by(Activity.starts_at.desc())
        .limit(limit)
    ).all()
    return [*planned, *closed]


def activities_of_deal(session: Session, deal: Deal) -> list[Activity]:
    return list(
        session.scalars(
            select(Activity).where(Activity.deal_id == deal.id).order_by(Activity.starts_at.desc())
        )
    )


@dataclass
class Day:
    overdue: Sequence[Activity]
    today: Sequence[Activity]
    tomorrow: Sequence[Activity]


def day_of(
    session: Session, user: User, *, now: dt.datetime | None = None, limit: int = 200
) -> Day:
    """«Мой день»: what is overdue, what is on today and tomorrow, in the user's zone."""
    now = now or utcnow()
    local_today = to_local(now, user).date()
    start = to_utc(dt.datetime.combine(local_today, dt.time()), user)
    day = dt.timedelta(days=1)
    base = (
        select(Activity)
        .where(Activity.responsible_id == user.id, Activity.status == Status.PLANNED.value)
        .order_by(Activity.starts_at)
        .limit(limit)
    )
    return Day(
        overdue=session.scalars(base.where(Activity.starts_at < now)).all(),
        today=session.scalars(
            base.where(Activity.starts_at >= now, Activity.starts_at < start + day)
        ).all(),
        tomorrow=session.scalars(
            base.where(Activity.starts_at >= start + day, Activity.starts_at < start + 2 * day)
        ).all(),
    )


# --- bulk planning ------------------------------------------------------------------------------


@dataclass
class BulkPlan:
    """«Plan a call to every client of this group / selection», spread over the clients' curators
    (or one chosen manager) and over working days."""

    client_ids: list[int]
    type_id: int | None = None
    goal: str = ""
    first_day: dt.date | None = None
    working_days: int = 5
    day_start: dt.time = dt.time(10, 0)
    day_end: dt.time = dt.time(18, 0)
    responsible_id: int | None = None  # None: each client's curator (the actor for no curator)
    reminders: list[int] = field(default_factory=list)


@dataclass
class BulkResult:
    planned: int
    skipped_merged: int
    by_responsible: dict[int, int]


def bulk_plan(
    session: Session, plan_: BulkPlan, *, actor: User, now: dt.datetime | None = None
) -> BulkResult:
    now = now or utcnow()
    errors: dict[str, str] = {}
    kind = session.get(ActivityType, plan_.type_id) if plan_.type_id else None
    if kind is None or not kind.is_active:
        errors["type_id"] = "Выберите тип контакта."
    if not plan_.goal.strip():
        errors["goal"] = "Укажите цель контактов."
    if not plan_.client_ids:
        errors["client_ids"] = "Выберите клиентов."
    elif len(plan_.client_ids) > MAX_BULK:
        errors["client_ids"] = f"За один раз — не больше {MAX_BULK} клиентов."
    if plan_.first_day is None:
        errors["first_day"] = "Укажите первый день."
    if not 1 <= plan_.working_days <= 60:
        errors["working_days"] = "Распределить можно на 1–60 рабочих дней."
    if plan_.day_end <= plan_.day_start:
        errors["day_end"] = "Конец рабочего дня — позже начала."
    fixed = session.get(User, plan_.responsible_id) if plan_.responsible_id else None
    if plan_.responsible_id and (fixed is None or not fixed.is_active):
        errors["responsible_id"] = "Ответственный не найден или отключён."
    if errors:
        raise ValidationError(fields=errors)
    assert kind is not None and plan_.first_day is not None
    clients = session.scalars(select(Client).where(Client.id.in_(set(plan_.client_ids)))).all()
    alive = [c for c in clients if not c.is_merged]
    active_ids = set(session.scalars(select(User.id).where(User.is_active.is_(True))))
    queues: dict[int, list[Client]] = {}
    for client in sorted(alive, key=lambda c: c.name_norm or c.name):
        if fixed is not None:
            owner = fixed.id
        else:
            owner = client.curator_id if client.curator_id in active_ids else actor.id
        if not access.can_plan(actor, client, owner):
            raise PermissionDenied(
                f"Планировать контакты по клиенту «{client.name}» может его куратор "
                "или руководитель ОП."
            )
        queues.setdefault(owner, []).append(client)
    days = _working_days(plan_.first_day, plan_.working_days)
    window = dt.datetime.combine(plan_.first_day, plan_.day_end) - dt.datetime.combine(
        plan_.first_day, plan_.day_start
    )
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(list(queues))))}
    activities = []
    for owner, queue in queues.items():
        per_day = -(-len(queue) // len(days))
        step = window / per_day
        for index, client in enumerate(queue):
            day, slot = days[index // per_day], index % per_day
            local = dt.datetime.combine(day, plan_.day_start) + step * slot
            starts_at = to_utc(local.replace(second=0, microsecond=0), users[owner])
            if starts_at < now - PAST_GRACE:
                raise ValidationError(fields={"first_day": "Первый день и время — не в прошлом."})
            activities.append(
                Activity(
                    author_id=actor.id,
                    status=Status.PLANNED.value,
                    type_id=kind.id,
                    goal=plan_.goal.strip()[:500],
                    client_id=client.id,
                    responsible_id=owner,
                    starts_at=starts_at,
                    duration_minutes=kind.default_minutes,
                    reminders=list(plan_.reminders),
                )
            )
    session.add_all(activities)
    session.flush()
    return BulkResult(
        planned=len(activities),
        skipped_merged=len(clients) - len(alive),
        by_responsible={owner: len(queue) for owner, queue in queues.items()},
    )


def _working_days(first: dt.date, count: int) -> list[dt.date]:
    russian = holidays.country_holidays("RU", years=range(first.year, first.year + 2))
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5 and day not in russian:
            days.append(day)
        day += dt.timedelta(days=1)
    return days
