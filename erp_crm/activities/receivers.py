"""How contacts answer the client base's signals: the card's block, the history, a leaver's
clients. Connected when erp_crm.activities is imported.

(Merging clients needs nothing here: the merge moves every foreign key to the duplicate —
activities.client_id, client_ratings, activity_tasks — and its undo points them back.)"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.activities import services
from erp_crm.activities.models import (
    RESULT_LABELS,
    Activity,
    ActivityType,
    Rating,
    Status,
    Task,
    TaskStatus,
)
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients.models import Client
from erp_crm.clients.timeline import TimelineEvent
from erp_crm.db import utcnow
from erp_crm.deals.models import Deal, Stage


@signals.client_card_sections.connect
def activities_block(
    client: Client, *, session: Session, actor: User, **_: object
) -> signals.CardSection | None:
    if not has_permission(actor, Perm.ACTIVITIES_VIEW):
        return None
    return signals.CardSection(
        "activities/_client_block.html",
        services.activities_of_client(session, client, limit=10),
        order=5,
    )


@signals.deal_card_sections.connect
def deal_activities_block(
    deal: Deal, *, session: Session, actor: User, **_: object
) -> signals.CardSection | None:
    if not has_permission(actor, Perm.ACTIVITIES_VIEW):
        return None
    return signals.CardSection(
        "activities/_deal_block.html", services.activities_of_deal(session, deal)[:15], order=5
    )


@signals.deal_stage_changed.connect
def plan_deferred_contact(deal: Deal, *, session: Session, to_stage: Stage, **_: object) -> None:
    """A deal parked in deferred demand gets its next contact as a planned call on the chosen
    date (10:00 at the manager's), unless one is planned for the deal from that day on."""
    day = deal.next_contact_date
    if not to_stage.requires_next_contact or day is None:
        return
    manager = deal.manager
    starts_at = services.to_utc(dt.datetime.combine(day, dt.time(10, 0)), manager)
    if starts_at <= utcnow():
        return
    planned = session.scalar(
        select(Activity.id).where(
            Activity.deal_id == deal.id,
            Activity.status == Status.PLANNED.value,
            Activity.starts_at >= services.to_utc(dt.datetime.combine(day, dt.time()), manager),
        )
    )
    call = session.scalar(
        select(ActivityType)
        .where(ActivityType.is_active.is_(True))
        .order_by(ActivityType.code != "call", ActivityType.position)
    )
    if planned or call is None:
        return
    session.add(
        Activity(
            type_id=call.id,
            goal=f"Отложенный спрос: вернуться к сделке «{deal.title}»"[:500],
            client_id=deal.client_id,
            contact_id=deal.contact_id,
            deal_id=deal.id,
            project_id=deal.project_id,
            responsible_id=deal.manager_id,
            starts_at=starts_at,
            duration_minutes=call.default_minutes,
            reminders=[15],
            status=Status.PLANNED.value,
        )
    )
    session.flush()


@signals.client_timeline.connect
def activity_events(client: Client, *, session: Session, **_: object) -> list[TimelineEvent]:
    done = session.scalars(
        select(Activity)
        .where(Activity.client_id == client.id, Activity.status == Status.DONE.value)
        .order_by(Activity.completed_at.desc())
        .limit(100)
    ).all()
    events = [
        TimelineEvent(
            at=a.completed_at or a.starts_at,
            kind="activity.done",
            title=f"{a.type.name}: {RESULT_LABELS.get(a.result_kind or '', '')} — {a.goal}",
            details={"comment": a.result_text} if a.result_text else {},
            actor_id=a.completed_by_id,
        )
        for a in done
    ]
    answered = session.scalars(
        select(Task)
        .where(Task.client_id == client.id, Task.answered_at.is_not(None))
        .order_by(Task.answered_at.desc())
        .limit(50)
    ).all()
    events += [
        TimelineEvent(
            at=t.answered_at,
            kind="activity.task",
            title=(
                f"Запрос «{t.goal[:80]}» "
                f"{'выполнен' if t.status == TaskStatus.DONE.value else 'возвращён'}: {t.answer}"
            ),
            details={},
            actor_id=t.assignee_id,
        )
        for t in answered
        if t.answered_at is not None
    ]
    ratings = session.scalars(
        select(Rating).where(Rating.client_id == client.id).order_by(Rating.id.desc()).limit(20)
    ).all()
    events += [
        TimelineEvent(
            at=r.recorded_at,
            kind="activity.rating",
            title=(
                f"Оценка клиентом: менеджер {r.manager_score}, проект {r.project_score}, "
                f"компания {r.company_score}"
            ),
            details={"comment": r.comment} if r.comment else {},
            actor_id=r.recorded_by_id,
        )
        for r in ratings
    ]
    return events


@signals.clients_reassigned.connect
def move_planned_contacts(
    leaver: User, *, session: Session, to_users: list[User], **_: object
) -> dict[str, int] | None:
    """A leaver's planned contacts follow their clients to the new curators."""
    planned = session.scalars(
        select(Activity).where(
            Activity.responsible_id == leaver.id, Activity.status == Status.PLANNED.value
        )
    ).all()
    for activity in planned:  # through the ORM: each change gets its audit row
        curator = activity.client.curator_id
        activity.responsible_id = curator if curator and curator != leaver.id else to_users[0].id
    session.flush()
    return {"запланированных контактов": len(planned)} if planned else None
