"""How deals answer the client base's signals: relationship type, timeline, reassignment, the
list's «participation in our project» filter. Connected when erp_crm.deals is imported.

(Merging clients needs nothing here: the merge moves every foreign key to the duplicate,
deals.client_id included, and its undo points them back.)"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients import timeline as client_timeline
from erp_crm.clients.models import Client
from erp_crm.deals.models import Deal, DealStageChange, Outcome, Stage
from erp_crm.deals.queries import client_deals
from erp_crm.projects import plans
from erp_crm.projects.models import Project, Stand


@signals.client_card_sections.connect
def deals_block(
    client: Client, *, session: Session, actor: User, **_: object
) -> signals.CardSection | None:
    if not has_permission(actor, Perm.DEALS_VIEW):
        return None
    return signals.CardSection("deals/_client_deals.html", client_deals(session, client), order=10)


@signals.client_timeline.connect
def deal_events(
    client: Client, *, session: Session, **_: object
) -> list[client_timeline.TimelineEvent]:
    rows = session.execute(
        select(DealStageChange, Deal, Stage)
        .join(Deal, Deal.id == DealStageChange.deal_id)
        .join(Stage, Stage.id == DealStageChange.to_stage_id)
        .where(Deal.client_id == client.id)
        .order_by(DealStageChange.id.desc())
        .limit(100)
    ).all()
    return [
        client_timeline.TimelineEvent(
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


@signals.clients_reassigned.connect
def move_open_deals(
    from_user: User, *, session: Session, to_users: list[User], **_: object
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


@signals.client_sales.connect
def sales_of_clients(
    _sender: object, *, session: Session, client_ids: set[int], **_: object
) -> dict[int, tuple[int, bool]]:
    """Won deals (sales) and open deals (interest shown) of the clients, in two grouped queries."""
    won = dict(
        session.execute(
            select(Deal.client_id, func.count())
            .where(Deal.client_id.in_(client_ids), Deal.outcome == Outcome.WON.value)
            .group_by(Deal.client_id)
        ).all()
    )
    open_ = set(
        session.scalars(
            select(Deal.client_id)
            .where(Deal.client_id.in_(client_ids), Deal.outcome == Outcome.OPEN.value)
            .distinct()
        )
    )
    return {
        client_id: (won.get(client_id, 0), client_id in open_) for client_id in won.keys() | open_
    }


@signals.client_project_condition.connect
def took_part_in_project(
    _sender: object, *, project_id: int, outcome: str, **_: object
) -> ColumnElement[bool]:
    """The client list's "participation in our project": a deal of the client in the project,
    of any outcome or the one asked ("won": a participant)."""
    condition = exists().where(Deal.client_id == Client.id, Deal.project_id == project_id)
    if outcome:
        condition = condition.where(Deal.outcome == outcome)
    return condition


# --- what the projects area asks about its stands and plans -------------------------------------


@signals.stand_deal_condition.connect
def deal_may_take_stand(
    _sender: object, *, deal_id: int, outcomes: tuple[str, ...], **_: object
) -> ColumnElement[bool]:
    """The deal exists, belongs to the stand's project and has one of `outcomes`."""
    return exists().where(
        Deal.id == deal_id, Deal.project_id == Stand.project_id, Deal.outcome.in_(outcomes)
    )


@signals.stand_deal_facts.connect
def deal_facts(
    _sender: object, *, session: Session, deal_id: int, refresh: bool = False, **_: object
) -> dict[str, object] | None:
    deal = session.get(Deal, deal_id, populate_existing=refresh)
    if deal is None:
        return None
    return {
        "project_id": deal.project_id,
        "outcome": deal.outcome,
        "label": deal.audit_label(),
        "client": deal.client.name,
        "manager": deal.manager.full_name,
    }


@signals.project_won_sellers.connect
def won_sellers(project: Project, **_: object) -> Select:
    return select(Deal.manager_id).where(
        Deal.project_id == project.id, Deal.outcome == Outcome.WON.value
    )


@signals.won_sales.connect
def won_sales_rows(
    _sender: object, *, session: Session, project_ids: list[int] | None = None, **_: object
) -> list[tuple[int, str, int, Decimal, Decimal, int]]:
    """(project id, 'YYYY-MM', manager id, m², amount, deals) of won deals: one GROUP BY."""
    month = plans.month_of_sql(Deal.closed_at, session.get_bind().dialect.name).label("month")
    query = (
        select(
            Deal.project_id,
            month,
            Deal.manager_id,
            func.coalesce(func.sum(Deal.area_m2), 0),
            func.coalesce(func.sum(Deal.amount), 0),
            func.count(Deal.id),
        )
        .where(Deal.outcome == Outcome.WON.value, Deal.closed_at.is_not(None))
        .group_by(Deal.project_id, month, Deal.manager_id)
    )
    if project_ids is not None:
        query = query.where(Deal.project_id.in_(project_ids))
    return [
        (pid, key, manager_id, plans.dec(area), plans.dec(amount), count)
        for pid, key, manager_id, area, amount, count in session.execute(query)
    ]


@signals.stand_exhibitors.connect
def exhibitors_of_deals(
    _sender: object, *, session: Session, deal_ids: set[int], **_: object
) -> dict[int, str]:
    return dict(
        session.execute(
            select(Deal.id, Client.name)
            .join(Client, Client.id == Deal.client_id)
            .where(Deal.id.in_(deal_ids))
        ).all()
    )
