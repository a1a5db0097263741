"""Demo contacts: a believable month for every sales manager — three weeks done with every kind of
result, a few overdue, two weeks planned — and requests forwarded to the accountant and the
project manager. Built through the services (with their `now` moved into the past for what is
already done). Deterministic: random.Random(2027)."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.activities import results, services, tasks
from erp_crm.activities.models import ActivityReason, ActivityType, ReasonKind
from erp_crm.auth.models import User
from erp_crm.clients.models import Client
from erp_crm.db import utcnow
from erp_crm.deals.models import Deal, LostReason, Outcome
from erp_crm.errors import DomainError

GOALS = [
    "Пригласить к участию в выставке",
    "Уточнить площадь и тип стенда",
    "Обсудить коммерческое предложение",
    "Напомнить об оплате счёта",
    "Пригласить руководство на деловую программу",
    "Согласовать размещение стенда на плане",
]
VISITORS = [
    "Сидоров Иван Петрович; генеральный директор; +7 846 200-10-10",
    "Ковалёва Анна Сергеевна; директор по маркетингу; a.kovaleva@example.ru",
    "Фёдоров Олег; главный инженер",
]


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A Moscow wall-clock time as UTC (the demo users work in Europe/Moscow)."""
    return dt.datetime(day.year, day.month, day.day, hour - 3, minute, tzinfo=dt.UTC)


def load_demo_activities(session: Session, users: dict[str, User]) -> int:
    rng = random.Random(2027)
    types = {t.code: t for t in session.scalars(select(ActivityType))}
    postpone = session.scalars(
        select(ActivityReason).where(ActivityReason.kind == ReasonKind.POSTPONE.value)
    ).all()
    refuse_visit = session.scalars(
        select(ActivityReason).where(ActivityReason.kind == ReasonKind.REFUSE_VISIT.value)
    ).all()
    lost_reasons = session.scalars(select(LostReason).where(LostReason.is_active.is_(True))).all()
    now = utcnow()
    today = now.date()
    made = 0
    for username in ("manager1", "manager2", "manager3", "head"):
        manager = users[username]
        clients = session.scalars(
            select(Client)
            .where(Client.curator_id == manager.id, Client.merged_into_id.is_(None))
            .order_by(Client.id)
            .limit(40)
        ).all()
        if not clients:
            continue
        kinds = [
            "postponed",
            "refused_participation",
            "refused_visit",
            "invitation_sent",
            "manual_sent",
            "sale",
            "other",
        ]
        open_deals = session.scalars(
            select(Deal)
            .where(Deal.manager_id == manager.id, Deal.outcome != Outcome.LOST.value)
            .order_by(Deal.id)
        ).all()
        done_here = 0
        for n in range(21):  # done in the last three weeks (up to yesterday), on working days
            day = today - dt.timedelta(days=21 - n)
            if day.weekday() >= 5:
                continue
            kind = kinds[done_here % len(kinds)]
            done_here += 1
            client = clients[n % len(clients)]
            if kind in ("sale", "manual_sent", "refused_participation") and open_deals:
                client = open_deals[n % len(open_deals)].client  # results about a deal
            moment = _at(day, 10 + n % 7, 30 * (n % 2))
            deal = session.scalar(
                select(Deal).where(Deal.client_id == client.id, Deal.outcome != Outcome.LOST.value)
            )
            kind_code = rng.choice(["call", "call", "call", "email", "meeting"])
            activity = services.plan(
                session,
                services.ActivityData(
                    type_id=types[kind_code].id,
                    goal=rng.choice(GOALS),
                    client_id=client.id,
                    contact_id=client.contacts[0].id if client.contacts else None,
                    deal_id=deal.id if deal else None,
                    project_id=deal.project_id if deal else None,
                    responsible_id=manager.id,
                    starts_at=moment,
                    reminders=[15],
                ),
                actor=manager,
                now=moment - dt.timedelta(days=2),
            )
            result: dict = {"kind": kind, "text": ""}
            if kind == "postponed":
                result |= {
                    "reason_id": rng.choice(postpone).id,
                    "postponed_to": now + dt.timedelta(days=rng.randint(1, 12), hours=2),
                }
            elif kind == "refused_participation":
                if deal is None or deal.outcome != Outcome.OPEN.value:
                    kind, result = "other", {"kind": "other", "text": "Обсудили планы на год"}
                else:
                    result |= {"lost_reason_id": rng.choice(lost_reasons).id}
            elif kind == "refused_visit":
                result |= {"reason_id": rng.choice(refuse_visit).id}
            elif kind == "invitation_sent":
                result |= {"visitors": "\n".join(rng.sample(VISITORS, 2))}
            elif kind in ("manual_sent", "sale") and deal is None:
                kind, result = "other", {"kind": "other", "text": "Клиент просил прислать КП"}
            elif kind == "sale":
                result |= {"deal_id": deal.id}
            if kind == "other" and not result["text"]:
                result["text"] = "Поговорили, клиент думает над предложением"
            if n % 5 == 0:
                result["rating"] = {
                    "manager_score": rng.randint(4, 5),
                    "project_score": rng.randint(3, 5),
                    "company_score": rng.randint(3, 5),
                }
            try:
                with session.begin_nested():
                    results.complete(
                        session,
                        activity,
                        results.ResultData.from_mapping(result),
                        actor=manager,
                        now=moment + dt.timedelta(minutes=20),
                    )
            except DomainError:  # e.g. a deal that cannot be lost from here: a plain note
                results.complete(
                    session,
                    activity,
                    results.ResultData(kind="other", text="Созвонились, договорились списаться"),
                    actor=manager,
                    now=moment + dt.timedelta(minutes=20),
                )
            made += 1
        for n in range(3):  # overdue: planned for yesterday and the day before, not done
            client = clients[(n + 7) % len(clients)]
            moment = now - dt.timedelta(days=n + 1, hours=1)
            services.plan(
                session,
                services.ActivityData(
                    type_id=types["call"].id,
                    goal="Перезвонить по счёту",
                    client_id=client.id,
                    responsible_id=manager.id,
                    starts_at=moment,
                    reminders=[15],
                ),
                actor=manager,
                now=moment - dt.timedelta(hours=3),
            )
            made += 1
        for n in range(18):  # the next two weeks
            client = clients[(n + 3) % len(clients)]
            day = today + dt.timedelta(days=n // 2 + 1)
            if day.weekday() >= 5:
                continue
            services.plan(
                session,
                services.ActivityData(
                    type_id=types[rng.choice(["call", "call", "meeting", "visit"])].id,
                    goal=rng.choice(GOALS),
                    client_id=client.id,
                    contact_id=client.contacts[0].id if client.contacts else None,
                    responsible_id=manager.id,
                    starts_at=_at(day, 10 + 3 * (n % 3)),
                    reminders=[15, 1440] if n % 4 == 0 else [15],
                ),
                actor=manager,
                now=now,
            )
            made += 1
        client = clients[0]
        for assignee, goal in (
            (users["accountant"], f"Подготовьте акт сверки для «{client.name}»"),
            (users["project"], "Уточните, можно ли подвесной баннер над стендом"),
        ):
            task = tasks.forward(
                session,
                tasks.TaskData(
                    assignee_id=assignee.id,
                    goal=goal,
                    due_on=today + dt.timedelta(days=3),
                    client_id=client.id,
                ),
                actor=manager,
                today=today,
            )
            if username == "manager1" and assignee.username == "accountant":
                tasks.accept(session, task, actor=assignee)
                tasks.close(
                    session,
                    task,
                    "Акт сверки отправлен клиенту на почту",
                    actor=assignee,
                    done=True,
                )
    session.flush()
    return made
