"""The funnel of a project's pipeline from the stage-transition ledger, the weighted forecast, the
project's m² against capacity and plan, leads by source and tasks per person.

Definitions (shown on the page):
- reached a stage: the ledger has a move of the deal to that stage or a later one of the
  pipeline (a deal that jumped over a stage passed it); conversion = reached the next stage /
  reached this one; drop-off = the difference;
- time in a stage: from the move into it to the deal's next move (stays still going are not
  counted); the median of those;
- average sale length: days from the deal's creation to its closing by a sale (won in the period);
- velocity: open deals × win rate × average won amount / average sale length (₽ a day);
- weighted forecast: open deals' amount × their stage's percentage, in the month the project
  opens (an exhibition is sold by its opening).
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from erp_crm.activities.models import Task, TaskStatus
from erp_crm.auth.models import User
from erp_crm.db import utcnow
from erp_crm.deals import next_steps
from erp_crm.deals.models import (
    LEAD_SOURCE_LABELS,
    Deal,
    Lead,
    LeadStatus,
    LostReason,
    Outcome,
    Pipeline,
    Stage,
)
from erp_crm.projects.models import Project, SalesPlan, Stand, StandStatus
from erp_crm.reports import sales
from erp_crm.reports.filters import ReportFilter, days_between
from erp_crm.reports.models import StageMove

DEFINITIONS = {
    "reached": "Дошли до этапа — в журнале переходов есть переход сделки на этот этап или "
    "дальше по воронке (перескочившая этап сделка его прошла).",
    "conversion": "Конверсия — доля дошедших до следующего этапа среди дошедших до этого; "
    "отсев — разница.",
    "median": "Время на этапе — от перехода на этап до следующего перехода сделки (незаконченные "
    "пребывания не считаются); медиана, в днях.",
    "sale_length": "Средняя длительность продажи — дней от создания сделки до её закрытия "
    "продажей (выигранные в периоде).",
    "velocity": "Скорость продаж — открытые сделки × доля выигранных среди закрытых × средняя "
    "сумма выигранной / средняя длительность продажи, ₽ в день.",
    "forecast": "Взвешенный прогноз — сумма открытой сделки × процент её этапа, в месяце открытия "
    "выставки.",
    "stuck": "Без следующего шага — открытые сделки без запланированного контакта.",
    "area": "Продано — м² выигранных сделок; в брони — м² стендов в действующей брони; "
    "взвешено — м² открытых сделок × процент этапа; свободно — ёмкость − продано − в брони.",
}


def _dec(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


@dataclass
class StageRow:
    stage: Stage
    reached: int
    current: int
    lost_here: int
    median_days: Decimal | None
    conversion: Decimal | None = None  # to the next stage
    drop_off: int | None = None


@dataclass
class Funnel:
    filter: ReportFilter
    project: Project
    pipeline: Pipeline
    stages: list[StageRow]
    deals: int
    won: int
    lost: int
    open: int
    avg_sale_days: Decimal | None
    avg_won_amount: Decimal | None
    velocity: Decimal | None
    lost_reasons: list[dict[str, Any]]
    lost_amount: Decimal
    stuck: list[Deal]
    area: dict[str, Decimal]
    forecast: list[dict[str, Any]] = field(default_factory=list)


def _scope(f: ReportFilter, pipeline_id: int) -> list[Any]:
    return [*sales.deal_scope(f.with_(pipeline_id=None)), Deal.pipeline_id == pipeline_id]


def furthest_positions(session: Session, scope: list[Any], pipeline_id: int) -> dict[int, int]:
    """{position: deals whose furthest move in the ledger is to a stage at that position}, in
    one pass over the ledger (the figure «reached» — a move to the stage or a later one — of a
    stage is then the deals furthest at its position or beyond; its drill-down,
    `figures._reached`, lists the same deals)."""
    furthest = (
        select(Deal.id, func.max(Stage.position).label("position"))
        .join(StageMove, StageMove.deal_id == Deal.id)
        .join(Stage, Stage.id == StageMove.to_stage_id)
        .where(*scope, Stage.pipeline_id == pipeline_id)
        .group_by(Deal.id)
        .subquery()
    )
    return dict(
        session.execute(
            select(furthest.c.position, func.count()).group_by(furthest.c.position)
        ).all()
    )


def _stays(project_id: int) -> Any:
    following = (
        func.lead(StageMove.at)
        .over(partition_by=StageMove.deal_id, order_by=(StageMove.at, StageMove.id))
        .label("next_at")
    )
    return (
        select(StageMove.to_stage_id, StageMove.at, following)
        .where(StageMove.project_id == project_id)
        .subquery()
    )


def stage_durations(session: Session, project_id: int) -> dict[int, list[float]]:
    """{stage id: days of each finished stay} from the ledger (LEAD over each deal's moves)."""
    stays = _stays(project_id)
    rows = session.execute(
        select(stays.c.to_stage_id, days_between(stays.c.at, stays.c.next_at)).where(
            stays.c.next_at.is_not(None)
        )
    ).all()
    out: dict[int, list[float]] = {}
    for stage_id, days in rows:
        out.setdefault(stage_id, []).append(float(days))
    return out


def median_days(session: Session, project_id: int) -> dict[int, Decimal]:
    """{stage id: the median of its finished stays, days}: on PostgreSQL by percentile_cont in
    the database (the stays of a project are tens of thousands), elsewhere in Python."""
    if session.get_bind().dialect.name != "postgresql":
        return {
            stage_id: Decimal(str(statistics.median(days))).quantize(Decimal("0.1"))
            for stage_id, days in stage_durations(session, project_id).items()
        }
    stays = _stays(project_id)
    days = days_between(stays.c.at, stays.c.next_at)
    rows = session.execute(
        select(stays.c.to_stage_id, func.percentile_cont(0.5).within_group(days))
        .where(stays.c.next_at.is_not(None))
        .group_by(stays.c.to_stage_id)
    ).all()
    return {sid: Decimal(str(float(m))).quantize(Decimal("0.1")) for sid, m in rows}


def funnel(
    session: Session,
    project: Project,
    pipeline: Pipeline,
    f: ReportFilter,
    *,
    now: dt.datetime | None = None,
) -> Funnel:
    now = now or utcnow()
    sales.prepare(session)
    f = f.with_(project_id=project.id, pipeline_id=pipeline.id)
    stages = [s for s in pipeline.stages if s.is_active]
    scope = _scope(f, pipeline.id)
    current = dict(
        session.execute(
            select(Deal.stage_id, func.count())
            .where(*scope, Deal.outcome != Outcome.LOST.value)
            .group_by(Deal.stage_id)
        ).all()
    )
    lost_at = dict(
        session.execute(
            select(Deal.stage_id, func.count())
            .where(*scope, Deal.outcome == Outcome.LOST.value)
            .group_by(Deal.stage_id)
        ).all()
    )
    medians = median_days(session, project.id)
    rows = []
    furthest = furthest_positions(session, scope, pipeline.id)
    for stage in stages:
        reached = sum(n for position, n in furthest.items() if position >= stage.position)
        rows.append(
            StageRow(
                stage,
                reached,
                current.get(stage.id, 0),
                lost_at.get(stage.id, 0),
                medians.get(stage.id),
            )
        )
    for row, after in zip(rows, rows[1:], strict=False):
        row.drop_off = row.reached - after.reached
        row.conversion = sales.pct(after.reached, row.reached)

    totals = session.execute(
        select(
            func.count(Deal.id),
            sales.count_if(Deal.outcome == Outcome.WON.value),
            sales.count_if(Deal.outcome == Outcome.LOST.value),
            sales.count_if(Deal.outcome == Outcome.OPEN.value),
            func.avg(case((Deal.outcome == Outcome.WON.value, Deal.amount), else_=None)),
        ).where(*scope)
    ).one()
    deals, won, lost, open_, avg_won = totals
    won_in_period = and_(Deal.outcome == Outcome.WON.value, sales.in_period(Deal.closed_at, f))
    avg_days = session.scalar(
        select(func.avg(days_between(Deal.created_at, Deal.closed_at))).where(*scope, won_in_period)
    )
    avg_sale_days = None if avg_days is None else Decimal(str(avg_days)).quantize(Decimal("0.1"))
    avg_won_amount = None if avg_won is None else _dec(avg_won)
    velocity = None
    if avg_sale_days and avg_won_amount is not None and (won + lost):
        velocity = (
            Decimal(open_) * Decimal(won) / Decimal(won + lost) * avg_won_amount / avg_sale_days
        ).quantize(Decimal("0.01"))

    reasons = session.execute(
        select(
            LostReason.id,
            LostReason.name,
            func.count(Deal.id),
            func.coalesce(func.sum(Deal.area_m2), 0),
            func.coalesce(func.sum(Deal.amount), 0),
        )
        .join(LostReason, LostReason.id == Deal.lost_reason_id)
        .where(
            *sales.deal_scope(f.with_(pipeline_id=None)),
            sales.FIGURES["lost"].condition(f, now),
        )
        .group_by(LostReason.id, LostReason.name)
        .order_by(func.count(Deal.id).desc(), LostReason.name)
    ).all()
    lost_reasons = [
        {"id": rid, "name": name, "count": n, "area_m2": _dec(m2), "amount": _dec(money)}
        for rid, name, n, m2, money in reasons
    ]

    open_deals = select(Deal.id).where(*sales.deal_scope(f.with_(pipeline_id=None)), _open())
    open_ids = list(session.scalars(open_deals))
    with_step = next_steps.with_next_step(session, open_deals)
    stuck_ids = [i for i in open_ids if i not in with_step]
    stuck = (
        list(session.scalars(select(Deal).where(Deal.id.in_(stuck_ids[:100])).order_by(Deal.id)))
        if stuck_ids
        else []
    )
    funnel_ = Funnel(
        f,
        project,
        pipeline,
        rows,
        deals,
        int(won),
        int(lost),
        int(open_),
        avg_sale_days,
        avg_won_amount,
        velocity,
        lost_reasons,
        sum((r["amount"] for r in lost_reasons), Decimal("0.00")),
        stuck,
        project_area(session, project, f, now),
    )
    funnel_.area["stuck_count"] = Decimal(len(stuck_ids))
    funnel_.forecast = forecast(session, f.with_(pipeline_id=None))
    return funnel_


def _open() -> Any:
    return Deal.outcome == Outcome.OPEN.value


def project_area(
    session: Session, project: Project, f: ReportFilter, now: dt.datetime
) -> dict[str, Decimal]:
    capacity, reserved = session.execute(
        select(
            func.coalesce(func.sum(Stand.area_m2), 0),
            func.coalesce(
                func.sum(
                    case(
                        (
                            and_(
                                Stand.status == StandStatus.RESERVED.value,
                                (Stand.reserved_until.is_(None)) | (Stand.reserved_until > now),
                            ),
                            Stand.area_m2,
                        ),
                        else_=0,
                    )
                ),
                0,
            ),
        ).where(Stand.project_id == project.id, Stand.is_active.is_(True))
    ).one()
    joined = (
        select(Deal).join(Stage, Stage.id == Deal.stage_id).where(Deal.project_id == project.id)
    )
    sold, weighted = session.execute(
        joined.with_only_columns(
            sales.sum_if(Deal.outcome == Outcome.WON.value, Deal.area_m2),
            sales.sum_if(_open(), Deal.area_m2 * Stage.percent / 100),
        )
    ).one()
    project_plan, managers_plan = session.execute(
        select(
            sales.sum_if(SalesPlan.user_id.is_(None), SalesPlan.area_m2),
            sales.sum_if(SalesPlan.user_id.is_not(None), SalesPlan.area_m2),
        ).where(SalesPlan.project_id == project.id)
    ).one()
    capacity, reserved, sold = _dec(capacity), _dec(reserved), _dec(sold)
    plan = _dec(project_plan) or _dec(managers_plan)
    return {
        "capacity": capacity,
        "sold": sold,
        "reserved": reserved,
        "weighted": _dec(weighted),
        "free": max(capacity - sold - reserved, Decimal("0.00")),
        "plan": plan,
    }


def forecast(session: Session, f: ReportFilter) -> list[dict[str, Any]]:
    """[{month 'YYYY-MM', open amount, weighted amount, weighted m², deals}] by the month the
    project opens, for the open deals in the filter."""
    rows = session.execute(
        select(
            Project.opening_date,
            func.count(Deal.id),
            func.coalesce(func.sum(Deal.amount), 0),
            func.coalesce(func.sum(Deal.amount * Stage.percent / 100), 0),
            func.coalesce(func.sum(Deal.area_m2 * Stage.percent / 100), 0),
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .join(Project, Project.id == Deal.project_id)
        .where(*sales.deal_scope(f), _open())
        .group_by(Project.opening_date)
    ).all()
    months: dict[str, dict[str, Any]] = {}
    for opening, n, amount, weighted, area in rows:
        key = f"{opening:%Y-%m}"
        month = months.setdefault(
            key,
            {
                "month": key,
                "deals": 0,
                "amount": Decimal("0.00"),
                "weighted": Decimal("0.00"),
                "weighted_m2": Decimal("0.00"),
            },
        )
        month["deals"] += n
        month["amount"] += _dec(amount)
        month["weighted"] += _dec(weighted)
        month["weighted_m2"] += _dec(area)
    return [months[k] for k in sorted(months)]


def leads_by_source(session: Session, f: ReportFilter) -> list[dict[str, Any]]:
    query = (
        select(
            Lead.source,
            func.count(Lead.id),
            sales.count_if(Lead.status == LeadStatus.CONVERTED.value),
            sales.count_if(Lead.status == LeadStatus.REJECTED.value),
        )
        .where(sales.in_period(Lead.created_at, f))
        .group_by(Lead.source)
        .order_by(func.count(Lead.id).desc())
    )
    if f.project_id:
        query = query.where(Lead.project_id == f.project_id)
    return [
        {
            "source": source,
            "label": LEAD_SOURCE_LABELS.get(source, source),
            "leads": n,
            "converted": int(conv),
            "rejected": int(rej),
            "conversion_pct": sales.pct(conv, n),
        }
        for source, n, conv, rej in session.execute(query).all()
    ]


def tasks_by_person(session: Session, f: ReportFilter, today: dt.date) -> list[dict[str, Any]]:
    """Requests forwarded to colleagues with their due date in the period: done and overdue."""
    pending = Task.status.in_([TaskStatus.NEW.value, TaskStatus.ACCEPTED.value])
    query = (
        select(
            User.id,
            User.full_name,
            func.count(Task.id),
            sales.count_if(Task.status == TaskStatus.DONE.value),
            sales.count_if(and_(pending, Task.due_on < today)),
        )
        .join(User, User.id == Task.assignee_id)
        .where(Task.due_on >= f.date_from, Task.due_on <= f.date_to)
        .group_by(User.id, User.full_name)
        .order_by(User.full_name)
    )
    if f.manager_id:
        query = query.where(Task.assignee_id == f.manager_id)
    return [
        {"user_id": uid, "name": name, "tasks": n, "done": int(done), "overdue": int(late)}
        for uid, name, n, done, late in session.execute(query).all()
    ]
