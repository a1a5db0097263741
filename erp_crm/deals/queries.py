"""Reading deals: the list's filter and sums, a client's deals, the stands and stages a deal may
take. No rules and no writes; deals/services.py changes deals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_crm.clients.models import Client
from erp_crm.core import text
from erp_crm.deals.models import Deal, Outcome, Pipeline, Stage
from erp_crm.projects import stands as stand_ops
from erp_crm.projects.models import Hall, Project, Stand

# --- the list ---------------------------------------------------------------------------------


def int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass
class DealFilter:
    """The filters of the deals list (pages and API): unknown or malformed values are ignored."""

    project_id: int | None = None
    pipeline: str | None = None  # a pipeline's code (or id)
    stage_id: int | None = None
    manager_id: int | None = None
    client_id: int | None = None
    outcome: str | None = None
    q: str = ""

    @classmethod
    def from_args(cls, args: Any) -> DealFilter:
        outcome = (args.get("outcome") or "").strip()
        return cls(
            project_id=int_or_none(args.get("project_id")),
            pipeline=(args.get("pipeline") or "").strip() or None,
            stage_id=int_or_none(args.get("stage_id")),
            manager_id=int_or_none(args.get("manager_id")),
            client_id=int_or_none(args.get("client_id")),
            outcome=outcome if outcome in {o.value for o in Outcome} else None,
            q=(args.get("q") or "").strip()[:200],
        )

    def as_args(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


def deal_query(flt: DealFilter):
    """SELECT of the filtered deals, newest first. Everyone with deals.view sees every deal."""
    query = select(Deal)
    if flt.project_id:
        query = query.where(Deal.project_id == flt.project_id)
    if flt.pipeline:
        if flt.pipeline.isdigit():
            query = query.where(Deal.pipeline_id == int(flt.pipeline))
        else:
            query = query.join(Pipeline, Pipeline.id == Deal.pipeline_id).where(
                Pipeline.code == flt.pipeline
            )
    if flt.stage_id:
        query = query.where(Deal.stage_id == flt.stage_id)
    if flt.manager_id:
        query = query.where(Deal.manager_id == flt.manager_id)
    if flt.client_id:
        query = query.where(Deal.client_id == flt.client_id)
    if flt.outcome:
        query = query.where(Deal.outcome == flt.outcome)
    if flt.q:
        pattern = text.like_pattern(text.normalize(flt.q))
        query = query.where(
            Deal.client_id.in_(select(Client.id).where(Client.name_norm.like(pattern, escape="\\")))
        )
    return query.order_by(Deal.id.desc())


@dataclass(frozen=True)
class DealSums:
    count: int
    amount: Decimal
    area_m2: Decimal


def deal_sums(session: Session, query) -> DealSums:
    """Count, amount and m² of a filtered deals query (all pages, not just the shown one)."""
    sub = query.order_by(None).subquery()
    count, amount, area = session.execute(
        select(func.count(), func.sum(sub.c.amount), func.sum(sub.c.area_m2))
    ).one()
    return DealSums(
        count=count or 0,
        amount=Decimal(amount or 0).quantize(Decimal("0.01")),
        area_m2=Decimal(area or 0).quantize(Decimal("0.01")),
    )


def free_stands(session: Session, project_id: int) -> list[Stand]:
    """Active stands of a project a deal may take now (an expired hold counts as free)."""
    rows = session.scalars(
        select(Stand)
        .join(Hall, Hall.id == Stand.hall_id)
        .where(
            Stand.project_id == project_id,
            Stand.is_active.is_(True),
            Stand.status != "sold",
        )
        .order_by(Hall.position, Hall.name, Stand.number)
    )
    return [s for s in rows if stand_ops.effective_status(s) == "free"]


def active_stages(session: Session) -> list[Stage]:
    """Stages a deal may be moved to: active stages of active pipelines, in board order."""
    return list(
        session.scalars(
            select(Stage)
            .join(Pipeline, Pipeline.id == Stage.pipeline_id)
            .where(Stage.is_active.is_(True), Pipeline.is_active.is_(True))
            .order_by(Pipeline.position, Pipeline.id, Stage.position, Stage.id)
        )
    )


def won_projects(deals: list[Deal]) -> list[Project]:
    """«Участие в наших выставках»: the projects of the won deals, latest first, once each."""
    seen: dict[int, Project] = {}
    for deal in deals:
        if deal.outcome == Outcome.WON.value:
            seen.setdefault(deal.project_id, deal.project)
    return sorted(seen.values(), key=lambda p: p.opening_date, reverse=True)


@dataclass
class ClientDeals:
    """The client card's deals block: deals grouped by project, and the projects taken part in."""

    by_project: list[tuple[Project, list[Deal]]]
    participations: list[Project]


def client_deals(session: Session, client: Client) -> ClientDeals:
    deals = deals_of_client(session, client)
    groups: dict[int, tuple[Project, list[Deal]]] = {}
    for deal in deals:
        groups.setdefault(deal.project_id, (deal.project, []))[1].append(deal)
    ordered = sorted(groups.values(), key=lambda g: g[0].opening_date, reverse=True)
    return ClientDeals(by_project=ordered, participations=won_projects(deals))


# --- the client's side --------------------------------------------------------------------------


def deals_of_client(session: Session, client: Client) -> list[Deal]:
    merged = select(Client.id).where(Client.merged_into_id == client.id)
    return list(
        session.scalars(
            select(Deal)
            .where((Deal.client_id == client.id) | Deal.client_id.in_(merged))
            .order_by(Deal.project_id, Deal.id.desc())
        )
    )
