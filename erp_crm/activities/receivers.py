"""How contacts answer the client base's signals: the card's block, the history, a leaver's
clients. Connected when erp_crm.activities is imported.

(Merging clients needs nothing here: the merge moves every foreign key to the duplicate —
activities.client_id, client_ratings, activity_tasks — and its undo points them back.)"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.activities import access, results, services
from erp_crm.activities.forms import RatingForm
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
from erp_crm.deals.models import Deal


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
    can_rate = access.can_rate(actor, deal.client, deal=deal)
    data = {
        "activities": services.activities_of_deal(session, deal)[:15],
        "ratings": results.ratings_of(session, deal_id=deal.id)[:10],
        "form": RatingForm(formdata=None) if can_rate else None,
    }
    return signals.CardSection("activities/_deal_block.html", data, order=5)


@signals.deal_next_contact_set.connect
def plan_next_contact(
    deal: Deal, *, session: Session, day: dt.date, actor: User, **_: object
) -> None:
    """A deal's next-contact date becomes a planned call that day (10:00 at the manager's, or
    the next half hour when that is past), unless a contact is planned for the deal from that
    day on."""
    manager = deal.manager
    day_start = services.to_utc(dt.datetime.combine(day, dt.time()), manager)
    planned = session.scalar(
        select(Activity.id).where(
            Activity.deal_id == deal.id,
            Activity.status == Status.PLANNED.value,
            Activity.starts_at >= day_start,
        )
    )
    call = session.scalar(
        select(ActivityType)
        .where(ActivityType.is_active.is_(True))
        .order_by(ActivityType.code != "call", ActivityType.position)
    )
    if planned or call is None:
        return
    starts_at = services.to_utc(dt.datetime.combine(day, dt.time(10, 0)), manager)
    now = utcnow()
    if starts_at <= now:
        starts_at = (now + dt.timedelta(minutes=30)).replace(second=0, microsecond=0)
        starts_at -= dt.timedelta(minutes=starts_at.minute % 30)
    session.add(
        Activity(
            type_id=call.id,
            goal=f"Следующий шаг по сделке «{deal.title}»"[:500],
            client_id=deal.client_id,
            contact_id=deal.contact_id,
            deal_id=deal.id,
            project_id=deal.project_id,
            responsible_id=deal.manager_id,
            author_id=actor.id,
            starts_at=starts_at,
            duration_minutes=call.default_minutes,
            reminders=[15],
            status=Status.PLANNED.value,
        )
    )
    session.flush()


@signals.deal_next_contacts.connect
def next_contacts_of_deals(
    _sender: None, *, session: Session, deal_ids: list[int] | Select[tuple[int]], **_: object
) -> dict[int, dt.datetime]:
    if isinstance(deal_ids, list) and not deal_ids:
        return {}
    rows = session.execute(
        select(Activity.deal_id, func.min(Activity.starts_at))
        .where(Activity.deal_id.in_(deal_ids), Activity.status == Status.PLANNED.value)
        .group_by(Activity.deal_id)
    )
    return {deal_id: start for deal_id, start in rows}


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
