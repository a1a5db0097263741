"""The report figures: each is a named condition on one kind of record (contacts, deals,
ratings), with the scope every filter adds, and the drill-down that lists the records behind a
figure with the same condition — so a figure and its list can never disagree.

Attribution never doubles: a contact belongs to its responsible person, a deal to its current
manager (a reassigned deal moves with all its figures), a rating to the rated manager. A merged
client's contacts and deals are re-pointed to the survivor by the merge, so client × project
pairs are counted on the survivor once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from erp_crm.activities.models import Activity, Rating, ResultKind, Status
from erp_crm.clients.models import client_group_members
from erp_crm.db import utcnow
from erp_crm.deals.models import Deal, Outcome, Stage
from erp_crm.reports.filters import ReportFilter, days_between
from erp_crm.reports.models import StageMove

# --- definitions (shown on the pages) -----------------------------------------------------------

FORWARD_RESULTS = (
    ResultKind.INVITATION_SENT.value,
    ResultKind.MANUAL_SENT.value,
    ResultKind.SALE.value,
)
FORWARD_WINDOW_DAYS = 1
FORWARD_DEFINITION = (
    "Контакт продвинул клиента вперёд, если он выполнен и его результат — «Отправка "
    "приглашения», «Отправка руководства участника» или «Продажа», либо сделка контакта "
    "не позже чем через сутки после его выполнения перешла на этап с бо́льшим процентом. "
    "Эффективность — доля таких контактов среди выполненных."
)
ON_TIME_DAYS = 1
DEFINITIONS = {
    "planned": "Запланировано — контакты с началом в периоде (кроме отменённых).",
    "done": "Выполнено — из них выполненные (с формализованным результатом).",
    "overdue": "Просрочено — время прошло, а контакт не выполнен.",
    "on_time": "В срок — выполнен не позже чем через сутки после запланированного начала.",
    "forward": FORWARD_DEFINITION,
    "postponed": "Переносы — выполненные контакты с результатом «Перенос».",
    "opened": "Открыто — сделки, созданные в периоде.",
    "won": "Выиграно — сделки, закрытые продажей в периоде (м² и сумма — по ним).",
    "lost": "Проиграно — сделки, закрытые отказом в периоде.",
    "sale_days": "Дней до продажи — от первого выполненного контакта с клиентом по проекту "
    "(до продажи) до закрытия сделки продажей (в среднем по выигранным в периоде).",
    "rated": "Оценки — оценки менеджера клиентами, полученные в периоде.",
}


@dataclass(frozen=True)
class Figure:
    key: str
    kind: str  # 'activity' | 'deal' | 'rating'
    label: str
    condition: Callable[[ReportFilter, dt.datetime], Any]


def in_period(column: Any, f: ReportFilter) -> Any:
    return and_(column >= f.starts, column < f.ends)


def _done() -> Any:
    return Activity.status == Status.DONE.value


def _reached(stage_id: int | None) -> Any:
    """The deal's ledger has a move to this stage or a later one of its pipeline (a deal that
    jumped over a stage has passed it too)."""
    target = aliased(Stage)
    reached = aliased(Stage)
    return Deal.id.in_(
        select(StageMove.deal_id)
        .join(reached, reached.id == StageMove.to_stage_id)
        .join(target, target.id == stage_id)
        .where(reached.pipeline_id == target.pipeline_id, reached.position >= target.position)
    )


def _moved_after() -> Any:
    """The contact's deal moved to a higher-percent stage within a day after it was done."""
    return exists().where(
        StageMove.deal_id == Activity.deal_id,
        StageMove.from_percent.is_not(None),
        StageMove.to_percent > StageMove.from_percent,
        StageMove.at >= Activity.completed_at,
        days_between(Activity.completed_at, StageMove.at) <= FORWARD_WINDOW_DAYS,
    )


def _forward() -> Any:
    return and_(_done(), or_(Activity.result_kind.in_(FORWARD_RESULTS), _moved_after()))


FIGURES: dict[str, Figure] = {
    f.key: f
    for f in (
        Figure(
            "planned", "activity", "Запланировано", lambda f, now: Activity.status != "cancelled"
        ),
        Figure("done", "activity", "Выполнено", lambda f, now: _done()),
        Figure(
            "overdue",
            "activity",
            "Просрочено",
            lambda f, now: and_(Activity.status == Status.PLANNED.value, Activity.starts_at < now),
        ),
        Figure(
            "on_time",
            "activity",
            "В срок",
            lambda f, now: and_(
                _done(), days_between(Activity.starts_at, Activity.completed_at) <= ON_TIME_DAYS
            ),
        ),
        Figure("forward", "activity", "Продвинули вперёд", lambda f, now: _forward()),
        Figure(
            "postponed",
            "activity",
            "Переносы",
            lambda f, now: and_(_done(), Activity.result_kind == ResultKind.POSTPONED.value),
        ),
        Figure("opened", "deal", "Открыто сделок", lambda f, now: in_period(Deal.created_at, f)),
        Figure(
            "won",
            "deal",
            "Выиграно",
            lambda f, now: and_(Deal.outcome == Outcome.WON.value, in_period(Deal.closed_at, f)),
        ),
        Figure(
            "lost",
            "deal",
            "Проиграно",
            lambda f, now: and_(Deal.outcome == Outcome.LOST.value, in_period(Deal.closed_at, f)),
        ),
        Figure("rated", "rating", "Оценки", lambda f, now: in_period(Rating.recorded_at, f)),
        Figure("at_stage", "deal", "Сделки на этапе", lambda f, now: Deal.stage_id == f.stage_id),
        Figure("reached", "deal", "Дошли до этапа", lambda f, now: _reached(f.stage_id)),
        Figure(
            "open", "deal", "Открытые сделки", lambda f, now: Deal.outcome == Outcome.OPEN.value
        ),
    )
}
ACTIVITY_FIGURES = [k for k, f in FIGURES.items() if f.kind == "activity"]
DEAL_FIGURES = ["opened", "won", "lost"]  # the per-manager deal figures (the rest: the funnel)


# --- the base conditions of each kind -----------------------------------------------------------


def _group_clients(group_id: int) -> Any:
    return select(client_group_members.c.client_id).where(
        client_group_members.c.group_id == group_id
    )


def _deals_of_pipeline(pipeline_id: int) -> Any:
    return select(Deal.id).where(Deal.pipeline_id == pipeline_id)


def activity_scope(f: ReportFilter) -> list[Any]:
    conds = [in_period(Activity.starts_at, f)]
    if f.project_id:
        conds.append(Activity.project_id == f.project_id)
    if f.pipeline_id:
        conds.append(Activity.deal_id.in_(_deals_of_pipeline(f.pipeline_id)))
    if f.manager_id:
        conds.append(Activity.responsible_id == f.manager_id)
    if f.group_id:
        conds.append(Activity.client_id.in_(_group_clients(f.group_id)))
    if f.client_id:
        conds.append(Activity.client_id == f.client_id)
    if f.type_id:
        conds.append(Activity.type_id == f.type_id)
    return conds


def deal_scope(f: ReportFilter) -> list[Any]:
    conds: list[Any] = []
    if f.project_id:
        conds.append(Deal.project_id == f.project_id)
    if f.pipeline_id:
        conds.append(Deal.pipeline_id == f.pipeline_id)
    if f.manager_id:
        conds.append(Deal.manager_id == f.manager_id)
    if f.group_id:
        conds.append(Deal.client_id.in_(_group_clients(f.group_id)))
    if f.client_id:
        conds.append(Deal.client_id == f.client_id)
    return conds


def rating_scope(f: ReportFilter) -> list[Any]:
    conds: list[Any] = [Rating.manager_id.is_not(None)]
    if f.project_id or f.pipeline_id:
        deals = select(Deal.id).where(
            *deal_scope(f.with_(manager_id=None, client_id=None, group_id=None))
        )
        if f.pipeline_id:
            contacts = select(Activity.id).where(Activity.deal_id.in_(deals))
        else:
            contacts = select(Activity.id).where(Activity.project_id == f.project_id)
        conds.append(or_(Rating.deal_id.in_(deals), Rating.activity_id.in_(contacts)))
    if f.manager_id:
        conds.append(Rating.manager_id == f.manager_id)
    if f.group_id:
        conds.append(Rating.client_id.in_(_group_clients(f.group_id)))
    if f.client_id:
        conds.append(Rating.client_id == f.client_id)
    return conds


def _first_contact() -> Any:
    """The first done contact with the deal's client in its project, before the sale (the
    contacts after it — handing over the stand, the follow-up — are not the way to the sale)."""
    return (
        select(func.min(Activity.starts_at))
        .where(
            Activity.client_id == Deal.client_id,
            Activity.project_id == Deal.project_id,
            Activity.status == Status.DONE.value,
            Activity.starts_at <= Deal.closed_at,
        )
        .scalar_subquery()
    )


# --- counting -----------------------------------------------------------------------------------


def count_if(cond: Any) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def sum_if(cond: Any, column: Any) -> Any:
    return func.coalesce(func.sum(case((cond, column), else_=0)), 0)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def prepare(session: Session) -> None:
    """Report queries aggregate many rows once: on PostgreSQL, compiling them with JIT costs more
    than it saves (measured by bench/reports.py: 0.7 s of a 2.3 s contacts query), so it is
    switched off for the rest of the request's transaction. The distinct client × project pairs
    of a year (300 000 at the bench's size) are hashed or sorted in memory, not on disk."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '32MB'"))


def pct(part: Any, whole: Any) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(str(part)) * 100 / Decimal(str(whole))).quantize(Decimal("0.1"))


# --- drill-down ---------------------------------------------------------------------------------

RECORD_KINDS = {"activity": Activity, "deal": Deal, "rating": Rating}


def records_query(f: ReportFilter, figure: str, now: dt.datetime | None = None) -> Any:
    """The SELECT of the records behind a figure (with the same filters as the figure)."""
    fig = FIGURES[figure]
    cond = fig.condition(f, now or utcnow())
    if fig.kind == "activity":
        return (
            select(Activity)
            .where(*activity_scope(f), cond)
            .order_by(Activity.starts_at.desc(), Activity.id.desc())
        )
    if fig.kind == "deal":
        return select(Deal).where(*deal_scope(f), cond).order_by(Deal.id.desc())
    return (
        select(Rating)
        .where(*rating_scope(f), cond)
        .order_by(Rating.recorded_at.desc(), Rating.id.desc())
    )


def count_records(session: Session, f: ReportFilter, figure: str, now=None) -> int:
    query = records_query(f, figure, now).order_by(None)
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0
