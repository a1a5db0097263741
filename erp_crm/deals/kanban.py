"""The deals board: one project's deals of one pipeline, a column per active stage.

Column totals (count, Σ amount, Σ m²) come from one GROUP BY query; the cards from one query
ordered by the stage and `Deal.position`. Lost deals are not on the board. Moving a card goes
through `services.move_to_stage` (all the stage rules), then the target column is renumbered
with one UPDATE so the order survives a reload.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.clients.models import Client
from erp_crm.deals import access, next_steps, services
from erp_crm.deals.models import Deal, Outcome, Pipeline, Stage
from erp_crm.errors import Conflict, NotFound
from erp_crm.projects.models import Project, ProjectStatus

ZERO = Decimal("0.00")


@dataclass
class Card:
    id: int
    stage_id: int
    title: str
    client_id: int
    client_name: str
    amount: Decimal
    area_m2: Decimal
    manager_id: int
    manager_name: str
    outcome: str
    next_contact: dt.datetime | None
    position: int
    movable: bool

    @property
    def no_next_step(self) -> bool:
        return self.outcome == Outcome.OPEN.value and self.next_contact is None


@dataclass
class Totals:
    count: int = 0
    amount: Decimal = ZERO
    area_m2: Decimal = ZERO


@dataclass
class Column:
    stage: Stage
    totals: Totals = field(default_factory=Totals)
    cards: list[Card] = field(default_factory=list)


@dataclass
class Board:
    project: Project
    pipeline: Pipeline
    columns: list[Column]

    @property
    def totals(self) -> Totals:
        return Totals(
            count=sum(c.totals.count for c in self.columns),
            amount=sum((c.totals.amount for c in self.columns), ZERO),
            area_m2=sum((c.totals.area_m2 for c in self.columns), ZERO),
        )


# --- choices ------------------------------------------------------------------------------------


def projects(session: Session) -> list[Project]:
    """Projects for the select: current ones first (selling, running, planned), closed last."""
    order = case(
        (Project.status == ProjectStatus.SELLING.value, 0),
        (Project.status == ProjectStatus.RUNNING.value, 1),
        (Project.status == ProjectStatus.PLANNED.value, 2),
        else_=3,
    )
    return list(session.scalars(select(Project).order_by(order, Project.opening_date.desc())))


def pipelines(session: Session) -> list[Pipeline]:
    return list(
        session.scalars(
            select(Pipeline)
            .where(Pipeline.is_active.is_(True))
            .order_by(Pipeline.position, Pipeline.id)
        )
    )


def active_stages(session: Session, pipeline_id: int) -> list[Stage]:
    return list(
        session.scalars(
            select(Stage)
            .where(Stage.pipeline_id == pipeline_id, Stage.is_active.is_(True))
            .order_by(Stage.position, Stage.id)
        )
    )


# --- the board ----------------------------------------------------------------------------------


def _on_board(project_id: int, pipeline_id: int) -> list:
    return [
        Deal.project_id == project_id,
        Deal.pipeline_id == pipeline_id,
        Deal.outcome != Outcome.LOST.value,
    ]


def column_totals(session: Session, project_id: int, pipeline_id: int) -> dict[int, Totals]:
    """Count, Σ amount and Σ m² per stage, computed by the database (one GROUP BY)."""
    rows = session.execute(
        select(
            Deal.stage_id,
            func.count(Deal.id),
            func.coalesce(func.sum(Deal.amount), 0),
            func.coalesce(func.sum(Deal.area_m2), 0),
        )
        .where(*_on_board(project_id, pipeline_id))
        .group_by(Deal.stage_id)
    ).all()
    return {
        stage_id: Totals(
            count=count,
            amount=Decimal(str(amount)).quantize(ZERO),
            area_m2=Decimal(str(area)).quantize(ZERO),
        )
        for stage_id, count, amount, area in rows
    }


def cards(session: Session, project_id: int, pipeline_id: int, *, actor: User) -> list[Card]:
    # Only the columns a card shows: a busy board has thousands of cards, and loading whole Deal
    # entities into the identity map cost more than the query itself (bench/README-deals.md).
    rows = session.execute(
        select(
            Deal.id,
            Deal.stage_id,
            Deal.title,
            Deal.client_id,
            Client.name,
            Deal.amount,
            Deal.area_m2,
            Deal.manager_id,
            User.full_name,
            Deal.outcome,
            Deal.position,
        )
        .join(Client, Client.id == Deal.client_id)
        .join(User, User.id == Deal.manager_id)
        .where(*_on_board(project_id, pipeline_id))
        .order_by(Deal.stage_id, Deal.position, Deal.id)
    ).all()
    ahead = next_steps.next_contacts(session, [row.id for row in rows])
    return [
        Card(
            id=row.id,
            stage_id=row.stage_id,
            title=Deal.label_for(row.id, row.title),
            client_id=row.client_id,
            client_name=row.name,
            amount=row.amount,
            area_m2=row.area_m2,
            manager_id=row.manager_id,
            manager_name=row.full_name,
            outcome=row.outcome,
            next_contact=ahead.get(row.id),
            position=row.position,
            movable=access.can_work_deal_of(actor, row.manager_id),
        )
        for row in rows
    ]


def load_board(session: Session, *, project_id: int, pipeline_id: int, actor: User) -> Board:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("Проект не найден.")
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None or not pipeline.is_active:
        raise NotFound("Воронка не найдена.")
    totals = column_totals(session, project_id, pipeline_id)
    columns = {
        stage.id: Column(stage=stage, totals=totals.get(stage.id, Totals()))
        for stage in active_stages(session, pipeline_id)
    }
    for card in cards(session, project_id, pipeline_id, actor=actor):
        column = columns.get(card.stage_id)
        if column is not None:  # deals left in a switched-off stage are not shown
            column.cards.append(card)
    return Board(project=project, pipeline=pipeline, columns=list(columns.values()))


# --- moving a card ------------------------------------------------------------------------------


def _place(session: Session, deal: Deal, index: int | None) -> None:
    """Put the deal at `index` of its column (the end when None) and renumber the column."""
    others = list(
        session.scalars(
            select(Deal.id)
            .where(
                *_on_board(deal.project_id, deal.pipeline_id),
                Deal.stage_id == deal.stage_id,
                Deal.id != deal.id,
            )
            .order_by(Deal.position, Deal.id)
        )
    )
    index = len(others) if index is None else max(0, min(index, len(others)))
    ordered = [*others[:index], deal.id, *others[index:]]
    # One UPDATE; the order of the cards is not a business change, so it is not audited.
    session.execute(
        update(Deal)
        .where(Deal.id.in_(ordered))
        .values(position=case({deal_id: n for n, deal_id in enumerate(ordered)}, value=Deal.id))
        .execution_options(synchronize_session="fetch")
    )


def move_card(
    session: Session,
    deal: Deal,
    stage: Stage,
    *,
    actor: User,
    position: int | None = None,
    next_contact_date: dt.date | None = None,
) -> Deal:
    """A card dropped on a column: the stage rules of `move_to_stage`, then the new order.

    A lost deal is not on the board: a stale page must not bring it back by a drag.
    """
    if deal.outcome == Outcome.LOST.value:
        raise Conflict(
            "Сделка проиграна и снята с доски: вернуть её в работу можно на странице сделки."
        )
    services.move_to_stage(
        session,
        deal,
        stage,
        actor=actor,
        next_contact_date=next_contact_date,
        position=position,
    )
    _place(session, deal, position)
    return deal


def stage_totals(
    session: Session, project_id: int, pipeline_ids: Iterable[int]
) -> list[tuple[Stage, Totals]]:
    """Every active stage of the pipelines with its totals (for the answer to a move)."""
    result = []
    for pipeline_id in dict.fromkeys(pipeline_ids):
        totals = column_totals(session, project_id, pipeline_id)
        result += [(s, totals.get(s.id, Totals())) for s in active_stages(session, pipeline_id)]
    return result
