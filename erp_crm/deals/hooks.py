"""How deals plug into the client base: relationship type, timeline, reassignment, merging."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.clients import search as client_search
from erp_crm.clients import services as client_services
from erp_crm.clients.models import Client
from erp_crm.deals import services
from erp_crm.deals.models import Deal, DealStageChange, Outcome, Stage


def deal_events(session: Session, client: Client) -> list[client_services.TimelineEvent]:
    rows = session.execute(
        select(DealStageChange, Deal, Stage)
        .join(Deal, Deal.id == DealStageChange.deal_id)
        .join(Stage, Stage.id == DealStageChange.to_stage_id)
        .where(Deal.client_id == client.id)
        .order_by(DealStageChange.id.desc())
        .limit(100)
    ).all()
    return [
        client_services.TimelineEvent(
            at=change.at,
            kind="deal.stage",
            title=(
                f"Сделка «{deal.audit_label()}»: этап «{stage.name}» ({stage.percent}%)"
                if change.from_stage_id
                else f"Открыта сделка «{deal.audit_label()}»"
            ),
            details={},
            actor_id=change.actor_id,
        )
        for change, deal, stage in rows
    ]


def move_open_deals(
    session: Session, from_user: User, to_users: list[User], *, actor: User
) -> dict[str, int]:
    """Reassigning a leaver's clients moves their open deals to the clients' new curators."""
    deals = session.scalars(
        select(Deal).where(Deal.manager_id == from_user.id, Deal.outcome == Outcome.OPEN.value)
    ).all()
    for deal in deals:
        curator = session.scalar(select(Client.curator_id).where(Client.id == deal.client_id))
        deal.manager_id = curator if curator and curator != from_user.id else to_users[0].id
    session.flush()
    return {"открытых сделок": len(deals)}


def move_deals_on_merge(session: Session, survivor: Client, duplicate: Client, actor: User) -> None:
    session.execute(
        update(Deal).where(Deal.client_id == duplicate.id).values(client_id=survivor.id)
    )


def took_part_in_project(project_id: int, outcome: str) -> ColumnElement[bool]:
    """The client list's "participation in our project": a deal of the client in the project,
    of any outcome or the one asked ("won": a participant)."""
    condition = exists().where(Deal.client_id == Client.id, Deal.project_id == project_id)
    if outcome:
        condition = condition.where(Deal.outcome == outcome)
    return condition


def install() -> None:
    """Called once at app creation."""
    if took_part_in_project not in client_search.project_conditions:
        client_search.project_conditions.append(took_part_in_project)
    if deal_events in client_services.timeline_sources:
        return
    client_services.sales_counters.append(services.won_deals_count)
    client_services.interest_sources.append(services.has_open_deal)
    client_services.timeline_sources.append(deal_events)
    client_services.reassign_hooks.append(move_open_deals)
    try:
        from erp_crm.clients import dedupe
    except ImportError:  # pragma: no cover - dedupe ships with the client base
        return
    hooks = getattr(dedupe, "merge_hooks", None)
    if hooks is not None and move_deals_on_merge not in hooks:
        hooks.append(move_deals_on_merge)
