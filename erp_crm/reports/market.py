"""Market analytics («аналитические возможности для анализа рынка»): the client base by region,
industry, relationship type and readiness; participation in our projects and in competitors'
exhibitions; the rebook rate of a project against its previous edition.

Merged duplicates are never counted: their records were re-pointed to the survivor, and the
duplicate itself (merged_into_id set) is left out of every count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_crm.clients.models import (
    READINESS_LABELS,
    RELATIONSHIP_LABELS,
    Client,
    CompetitorExhibition,
    CompetitorParticipation,
    client_group_members,
)
from erp_crm.deals.models import Deal, LostReason, Outcome
from erp_crm.projects.models import Project

REBOOK_DEFINITION = (
    "Перебронирование — доля экспонентов прошлого выпуска (клиентов с выигранной сделкой в нём) "
    "по числу и по их м² в прошлом выпуске, у которых есть выигранная сделка в этом выпуске. "
    "У остальных показана причина отказа по этому выпуску, «в работе» или «сделки нет»."
)
NO_VALUE = "не указано"


def _live(group_id: int | None = None) -> list[Any]:
    conds: list[Any] = [Client.merged_into_id.is_(None)]
    if group_id:
        conds.append(
            Client.id.in_(
                select(client_group_members.c.client_id).where(
                    client_group_members.c.group_id == group_id
                )
            )
        )
    return conds


def breakdown(session: Session, column: Any, group_id: int | None = None) -> list[tuple[Any, int]]:
    rows = session.execute(
        select(column, func.count(Client.id))
        .where(*_live(group_id))
        .group_by(column)
        .order_by(func.count(Client.id).desc(), column)
    ).all()
    return [(value, n) for value, n in rows]


@dataclass
class MarketReport:
    total: int
    # (the stored value — the clients list's filter, its label, clients)
    by_region: list[tuple[Any, str, int]]
    by_industry: list[tuple[Any, str, int]]
    by_relationship: list[tuple[Any, str, int]]
    by_readiness: list[tuple[Any, str, int]]
    our_projects: list[dict[str, Any]]
    competitors: list[dict[str, Any]]


def market(session: Session, group_id: int | None = None) -> MarketReport:
    from erp_crm.reports.sales import prepare

    prepare(session)
    total = session.scalar(select(func.count(Client.id)).where(*_live(group_id))) or 0
    our = session.execute(
        select(
            Project.id,
            Project.name,
            func.count(func.distinct(Deal.client_id)),
            func.coalesce(func.sum(Deal.area_m2), 0),
        )
        .join(Deal, Deal.project_id == Project.id)
        .join(Client, Client.id == Deal.client_id)
        .where(Deal.outcome == Outcome.WON.value, *_live(group_id))
        .group_by(Project.id, Project.name, Project.opening_date)
        .order_by(Project.opening_date.desc())
    ).all()
    competitors = session.execute(
        select(
            CompetitorExhibition.id,
            CompetitorExhibition.name,
            CompetitorParticipation.year,
            func.count(func.distinct(CompetitorParticipation.client_id)),
        )
        .join(
            CompetitorExhibition, CompetitorExhibition.id == CompetitorParticipation.exhibition_id
        )
        .join(Client, Client.id == CompetitorParticipation.client_id)
        .where(*_live(group_id))
        .group_by(CompetitorExhibition.id, CompetitorExhibition.name, CompetitorParticipation.year)
        .order_by(CompetitorParticipation.year.desc(), CompetitorExhibition.name)
    ).all()
    return MarketReport(
        total=total,
        by_region=[(v, v or NO_VALUE, n) for v, n in breakdown(session, Client.region, group_id)],
        by_industry=[
            (v, v or NO_VALUE, n) for v, n in breakdown(session, Client.industry, group_id)
        ],
        by_relationship=[
            (v, RELATIONSHIP_LABELS.get(v, v or NO_VALUE), n)
            for v, n in breakdown(session, Client.relationship_type, group_id)
        ],
        by_readiness=[
            (v, READINESS_LABELS.get(v, (str(v), ""))[0], n)
            for v, n in breakdown(session, Client.readiness, group_id)
        ],
        our_projects=[
            {"project_id": pid, "name": name, "exhibitors": n, "area_m2": Decimal(str(m2))}
            for pid, name, n, m2 in our
        ],
        competitors=[
            {"id": cid, "name": name, "year": year, "clients": n}
            for cid, name, year, n in competitors
        ],
    )


# --- rebook rate --------------------------------------------------------------------------------


def _stem(code: str) -> str:
    return re.sub(r"[\d\W_]+$", "", code or "").upper()


def previous_edition(session: Session, project: Project) -> Project | None:
    """The latest earlier project of the same series (its code without the trailing year)."""
    stem = _stem(project.code)
    earlier = session.scalars(
        select(Project)
        .where(Project.opening_date < project.opening_date, Project.id != project.id)
        .order_by(Project.opening_date.desc())
    )
    return next((p for p in earlier if stem and _stem(p.code) == stem), None)


@dataclass
class Rebook:
    project: Project
    previous: Project
    exhibitors: int
    area_m2: Decimal
    rebooked: int
    rebooked_m2: Decimal
    not_rebooked: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[tuple[str, int, Decimal]] = field(default_factory=list)

    @property
    def rate_count(self) -> Decimal | None:
        if not self.exhibitors:
            return None
        return (Decimal(self.rebooked) * 100 / self.exhibitors).quantize(Decimal("0.1"))

    @property
    def rate_m2(self) -> Decimal | None:
        if not self.area_m2:
            return None
        return (self.rebooked_m2 * 100 / self.area_m2).quantize(Decimal("0.1"))


def rebook(session: Session, project: Project, previous: Project) -> Rebook:
    last = dict(
        session.execute(
            select(Deal.client_id, func.sum(Deal.area_m2))
            .join(Client, Client.id == Deal.client_id)
            .where(
                Deal.project_id == previous.id,
                Deal.outcome == Outcome.WON.value,
                Client.merged_into_id.is_(None),
            )
            .group_by(Deal.client_id)
        ).all()
    )
    now_deals = session.execute(
        select(Deal.client_id, Deal.outcome, LostReason.name)
        .outerjoin(LostReason, LostReason.id == Deal.lost_reason_id)
        .where(Deal.project_id == project.id, Deal.client_id.in_(list(last)))
    ).all()
    state: dict[int, tuple[int, str]] = {}
    rank = {Outcome.WON.value: 0, Outcome.OPEN.value: 1, Outcome.LOST.value: 2}
    for client_id, outcome, reason in now_deals:
        label = {"won": "", "open": "в работе"}.get(outcome) or (reason or "отказ")
        if client_id not in state or rank[outcome] < state[client_id][0]:
            state[client_id] = (rank[outcome], label)
    names = dict(
        session.execute(select(Client.id, Client.name).where(Client.id.in_(list(last)))).all()
    )
    area = sum((Decimal(str(v or 0)) for v in last.values()), Decimal("0"))
    rebooked = [cid for cid in last if state.get(cid, (9, ""))[0] == 0]
    result = Rebook(
        project,
        previous,
        len(last),
        area.quantize(Decimal("0.01")),
        len(rebooked),
        sum((Decimal(str(last[c] or 0)) for c in rebooked), Decimal("0")).quantize(Decimal("0.01")),
    )
    reasons: dict[str, list[Any]] = {}
    for cid, m2 in sorted(last.items(), key=lambda kv: names.get(kv[0], "")):
        if cid in rebooked:
            continue
        why = state.get(cid, (9, "сделки нет"))[1]
        m2 = Decimal(str(m2 or 0)).quantize(Decimal("0.01"))
        result.not_rebooked.append(
            {"client_id": cid, "client": names.get(cid, str(cid)), "area_m2": m2, "why": why}
        )
        entry = reasons.setdefault(why, [0, Decimal("0.00")])
        entry[0] += 1
        entry[1] += m2
    result.reasons = sorted(
        ((why, n, m2) for why, (n, m2) in reasons.items()), key=lambda r: (-r[1], r[0])
    )
    return result
