"""Demo deals: ~150 deals of the demo clients in the demo projects, built through the services.

Every stage of the sales pipeline gets deals; some wait as deferred demand (with next-contact
dates), some are in instalment control, some are lost with a reason. Lines are real stands of
the project (held or sold), m² when the stands run out, services and the registration fee; some
deals have a discount. The stage history is spread over the last months so the board and the
reports have something to show. Deterministic: random.Random(2026).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.clients.models import Client
from erp_crm.db import utcnow
from erp_crm.deals import lines as deal_lines
from erp_crm.deals import pipelines, queries, services
from erp_crm.deals.models import Deal, DealStageChange, Stage
from erp_crm.projects.models import Project, ProjectStatus, ServiceItem, Stand, StandPrice

# Where the deals end up: (kind, weight). «sales:N» is the sales stage of N percent.
WEIGHTS = [
    ("sales:0", 14),
    ("sales:10", 10),
    ("sales:20", 10),
    ("sales:40", 9),
    ("sales:60", 8),
    ("sales:70", 10),
    ("sales:80", 8),
    ("sales:90", 5),
    ("sales:100", 5),
    ("deferred", 8),
    ("instalments", 6),
    ("lost", 12),
]
DISCOUNT_REASONS = [
    "Постоянный участник",
    "Ранняя оплата",
    "Пакет услуг",
    "Партнёр выставки",
    "Участие в двух проектах",
]
LOST_COMMENTS = [
    "Бюджет на выставки урезали до конца года.",
    "Решили ехать на отраслевую выставку в Москве.",
    "Не успевают подготовить экспозицию.",
    "Не ответили на три письма и звонки.",
    None,
]
NOTES = ["после звонка", "встреча в офисе клиента", "отправили КП", "договорились по цене", None]


def _plan(rng: random.Random, stages: dict[str, list[Stage]], count: int) -> list[str]:
    """Targets: every sales stage, both deferred stages, every instalment stage and a few lost
    deals once, then weighted picks up to `count`."""
    must = [f"sales:{s.percent}" for s in stages["sales"]]
    must += ["deferred"] * len(stages["deferred"]) + ["instalments"] * len(stages["instalments"])
    must += ["lost"] * 2
    kinds, weights = zip(*WEIGHTS, strict=True)
    extra = rng.choices(kinds, weights=weights, k=max(0, count - len(must)))
    return must + extra


def _moment(days_ago: int, rng: random.Random) -> dt.datetime:
    return utcnow() - dt.timedelta(
        days=days_ago, hours=rng.randint(0, 9), minutes=rng.randint(0, 59)
    )


class _Builder:
    def __init__(self, session: Session, rng: random.Random, projects: list[Project]) -> None:
        self.session, self.rng = session, rng
        self.free: dict[int, list[Stand]] = {}
        self.prices: dict[int, list[StandPrice]] = {}
        self.items: dict[int, list[ServiceItem]] = {}
        for project in projects:
            stands = queries.free_stands(session, project.id)
            rng.shuffle(stands)
            self.free[project.id] = stands
            self.prices[project.id] = list(
                session.scalars(
                    select(StandPrice)
                    .where(StandPrice.project_id == project.id)
                    .order_by(StandPrice.stand_type)
                )
            )
            self.items[project.id] = list(
                session.scalars(
                    select(ServiceItem)
                    .where(ServiceItem.project_id == project.id, ServiceItem.is_active.is_(True))
                    .order_by(ServiceItem.id)
                )
            )

    def can_sell(self, project: Project) -> bool:
        return bool(self.free[project.id] or self.prices[project.id])

    def lines(self, deal: Deal, manager: User, *, needs_space: bool, early: bool) -> None:
        rng, session, project_id = self.rng, self.session, deal.project_id
        if early and rng.random() < 0.4:
            return  # an early deal: nothing priced yet
        free, prices = self.free[project_id], self.prices[project_id]
        if free and (rng.random() < 0.8 or not prices):
            stand = free.pop()
            hold = utcnow() + dt.timedelta(days=rng.randint(5, 30))
            deal_lines.add_stand_line(session, deal, stand, actor=manager, hold_until=hold)
        elif prices and (needs_space or rng.random() < 0.7):
            price = rng.choice(prices)
            deal_lines.add_space_line(
                session,
                deal,
                stand_type=price.stand_type,
                area_m2=Decimal(rng.choice([6, 9, 12, 15, 18, 24, 36])),
                actor=manager,
            )
        if rng.random() < 0.75:
            deal_lines.add_registration_line(session, deal, actor=manager)
        items = self.items[project_id]
        for item in rng.sample(items, k=rng.randint(0, min(3, len(items)))):
            deal_lines.add_service_line(session, deal, item, rng.randint(1, 4), actor=manager)
        if deal.lines and rng.random() < 0.2:
            if rng.random() < 0.6:
                kind, value = "percent", Decimal(rng.choice([5, 10, 15]))
            else:
                kind = "amount"
                value = min(Decimal(rng.choice([5000, 10000, 20000])), deal.amount)
            if value > 0:
                deal_lines.set_discount(
                    session, deal, kind, value, rng.choice(DISCOUNT_REASONS), actor=manager
                )

    def walk(self, deal: Deal, path: list[Stage], manager: User) -> None:
        """Move the deal stage by stage, as a manager would over the weeks."""
        for stage in path:
            if stage.id == deal.stage_id:
                continue
            next_contact = None
            if stage.requires_next_contact:
                next_contact = dt.date.today() + dt.timedelta(days=self.rng.randint(10, 150))
            services.move_to_stage(
                self.session,
                deal,
                stage,
                actor=manager,
                note=self.rng.choice(NOTES),
                next_contact_date=next_contact,
            )

    def backdate(self, deal: Deal) -> None:
        """Spread the deal's history over the past months (the services stamp «now»)."""
        changes = list(
            self.session.scalars(
                select(DealStageChange)
                .where(DealStageChange.deal_id == deal.id)
                .order_by(DealStageChange.id)
            )
        )
        days_ago = self.rng.randint(10 + 6 * len(changes), 40 + 12 * len(changes))
        for change in changes:
            change.at = _moment(days_ago, self.rng)
            days_ago = max(0, days_ago - self.rng.randint(3, 14))
        deal.created_at = changes[0].at
        if deal.closed_at is not None:
            deal.closed_at = changes[-1].at


def load_demo_deals(
    session: Session, users: dict[str, User], projects: list[Project], *, count: int = 150
) -> int:
    """Create about `count` deals; returns how many were created (0 without clients/projects)."""
    rng = random.Random(2026)  # noqa: S311 (demo data, not security)
    managers = [users[name] for name in ("manager1", "manager2", "manager3") if name in users]
    by_id = {m.id: m for m in managers}
    live = [p for p in projects if p.status != ProjectStatus.CLOSED.value]
    clients = list(
        session.scalars(select(Client).where(Client.merged_into_id.is_(None)).order_by(Client.id))
    )
    if not (managers and live and clients):
        return 0
    stages = {
        code: [s for s in services.pipeline_by_code(session, code).stages if s.is_active]
        for code in ("sales", "deferred", "instalments")
    }
    sales_before = [s for s in stages["sales"] if not s.is_sale]
    signed = next(s for s in stages["sales"] if s.is_sale)
    reasons = pipelines.lost_reasons(session, active_only=True)
    builder = _Builder(session, rng, live)
    unused = {p.id: rng.sample(clients, k=len(clients)) for p in live}
    created = 0
    for n, target in enumerate(_plan(rng, stages, count)):
        project = live[n % len(live)]
        if not unused[project.id]:
            continue
        client = unused[project.id].pop()
        manager = by_id.get(client.curator_id or 0) or rng.choice(managers)
        contacts = [c for c in client.contacts if c.is_active]
        next_contact = None
        if target.startswith("sales:") and rng.random() < 0.6:
            next_contact = dt.date.today() + dt.timedelta(days=rng.randint(1, 30))
        deal = services.create_deal(
            session,
            services.DealData(
                client_id=client.id,
                project_id=project.id,
                contact_id=rng.choice(contacts).id if contacts else None,
                next_contact_date=next_contact,
            ),
            actor=manager,
        )
        created += 1
        kind, _, percent = target.partition(":")
        selling = kind == "instalments" or (kind == "sales" and int(percent) >= signed.percent)
        if selling and not builder.can_sell(project):
            kind, percent, selling = "sales", "60", False
        early = target in ("sales:0", "sales:10", "sales:20", "deferred", "lost")
        builder.lines(deal, manager, needs_space=selling, early=early)
        if kind == "sales":
            goal = next(s for s in stages["sales"] if s.percent == int(percent))
            builder.walk(deal, stages["sales"][: stages["sales"].index(goal) + 1], manager)
        elif kind == "deferred":
            reached = sales_before[: rng.randint(1, 3)]
            goal = stages["deferred"][created % len(stages["deferred"])]
            builder.walk(deal, [*reached, goal], manager)
        elif kind == "instalments":
            upto = stages["sales"][: stages["sales"].index(signed) + 1]
            goal = stages["instalments"][created % len(stages["instalments"])]
            builder.walk(deal, [*upto, goal], manager)
        elif kind == "lost":
            builder.walk(deal, sales_before[: rng.randint(1, len(sales_before))], manager)
            services.mark_lost(
                session, deal, rng.choice(reasons).id, rng.choice(LOST_COMMENTS), actor=manager
            )
        builder.backdate(deal)
    session.flush()
    return created
