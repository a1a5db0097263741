"""Sales plans (m² and money by month, per project and per manager) and plan vs actual.

A plan row with user_id NULL is the plan of the project as a whole; rows with a user are the
managers' own plans. The actual is what was won: deals with outcome 'won', by the month (Moscow
time) of `closed_at`, summed by the database (GROUP BY), never by looping over deals.

Paid amounts come from billing by the `project_payments` question; without a receiver (billing
not installed) the pages say that payments are not counted instead of showing zeros.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.audit import services as audit
from erp_crm.auth.models import User
from erp_crm.errors import PermissionDenied, ValidationError
from erp_crm.projects import access
from erp_crm.projects import values as v
from erp_crm.projects.models import Project, ProjectMember, SalesPlan

ZERO = Decimal("0.00")
MAX_MONTHS = 36
LOCAL_TZ_NAME = "Europe/Moscow"  # UTC+3 all year since 2014: SQLite shifts by '+3 hours'


# --- months -------------------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_month(value: Any) -> dt.date | None:
    """'2027-03' (or a date) -> 2027-03-01; None when it is not a month."""
    if isinstance(value, dt.date):
        return month_start(value)
    try:
        year, month = str(value or "").strip().split("-")[:2]
        return dt.date(int(year), int(month), 1)
    except (TypeError, ValueError):
        return None


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months_between(start: dt.date, end: dt.date) -> list[dt.date]:
    months, current = [], month_start(start)
    while current <= end and len(months) < MAX_MONTHS:
        months.append(current)
        current = add_months(current, 1)
    return months


def default_months(session: Session, project: Project) -> list[dt.date]:
    """A year of selling up to the opening, widened to every month that already has a plan."""
    end = month_start(project.opening_date)
    start = add_months(end, -11)
    first, last = session.execute(
        select(func.min(SalesPlan.month), func.max(SalesPlan.month)).where(
            SalesPlan.project_id == project.id
        )
    ).one()
    if first is not None:
        start, end = min(start, month_start(first)), max(end, month_start(last))
    return months_between(start, end)


# --- who has a plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanOwner:
    user_id: int | None  # None: the project as a whole
    label: str

    @property
    def key(self) -> str:
        return "all" if self.user_id is None else str(self.user_id)


def plan_owners(session: Session, project: Project) -> list[PlanOwner]:
    """The project, its team, and anyone else who already has a plan or a won deal in it."""
    member_ids = select(ProjectMember.user_id).where(ProjectMember.project_id == project.id)
    planned = select(SalesPlan.user_id).where(
        SalesPlan.project_id == project.id, SalesPlan.user_id.is_not(None)
    )
    won = signals.answers(signals.project_won_sellers, project, session=session)
    users = session.scalars(
        select(User).where(User.id.in_(member_ids.union(planned, *won))).order_by(User.full_name)
    )
    return [PlanOwner(None, "Весь проект")] + [PlanOwner(u.id, u.full_name) for u in users]


# --- editing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanCell:
    """One month of one owner's plan as typed in the grid (raw strings or numbers)."""

    user_id: int | None
    month: dt.date
    area_m2: Any
    amount: Any


def plan_values(
    session: Session, project_id: int
) -> dict[tuple[int | None, dt.date], tuple[Decimal, Decimal]]:
    rows = session.execute(
        select(SalesPlan.user_id, SalesPlan.month, SalesPlan.area_m2, SalesPlan.amount).where(
            SalesPlan.project_id == project_id
        )
    )
    return {(uid, month): (area, amount) for uid, month, area, amount in rows}


def cell_field(kind: str, owner_key: str, month: dt.date) -> str:
    return f"{kind}-{owner_key}-{month_key(month)}"


def save_plan(session: Session, project: Project, cells: list[PlanCell], *, actor: User) -> int:
    """Store the grid: an empty or zero pair deletes the month's plan. Returns changed cells.

    The project row is locked first (PostgreSQL), so two people saving the grid at once are
    applied one after the other and never create two rows of one month.
    """
    if not access.can_manage_plans(actor):
        raise PermissionDenied(
            "Планы продаж задают руководитель отдела продаж и руководитель проекта."
        )
    session.get(Project, project.id, with_for_update=True)
    allowed = {o.user_id for o in plan_owners(session, project)}
    errors: dict[str, str] = {}
    cleaned: dict[tuple[int | None, dt.date], tuple[Decimal, Decimal]] = {}
    for cell in cells:
        key = "all" if cell.user_id is None else str(cell.user_id)
        if cell.user_id not in allowed:
            errors[cell_field("area", key, cell.month)] = "Этот сотрудник не в команде проекта."
            continue
        area = v.decimal(
            cell.area_m2,
            cell_field("area", key, cell.month),
            errors,
            label="площадь",
            maximum=Decimal("9999999999.99"),
        )
        amount = v.decimal(
            cell.amount, cell_field("amount", key, cell.month), errors, label="сумму"
        )
        cleaned[(cell.user_id, month_start(cell.month))] = (area or ZERO, amount or ZERO)
    if errors:
        raise ValidationError("Проверьте отмеченные ячейки плана.", fields=errors)
    existing = {
        (row.user_id, row.month): row
        for row in session.scalars(select(SalesPlan).where(SalesPlan.project_id == project.id))
    }
    labels = {o.user_id: o.label for o in plan_owners(session, project)}
    changes: dict[str, list[Any]] = {}
    for (user_id, month), (area, amount) in cleaned.items():
        row = existing.get((user_id, month))
        old = (row.area_m2, row.amount) if row else (ZERO, ZERO)
        if old == (area, amount):
            continue
        changes[f"{month_key(month)} · {labels.get(user_id, user_id)}"] = [
            f"{old[0]} м², {old[1]} ₽",
            f"{area} м², {amount} ₽",
        ]
        if area == 0 and amount == 0:
            session.delete(row)
        elif row is None:
            session.add(
                SalesPlan(
                    project_id=project.id, user_id=user_id, month=month, area_m2=area, amount=amount
                )
            )
        else:
            row.area_m2, row.amount = area, amount
    session.flush()
    if changes:
        audit.record(session, project, "sales_plan", changes)
    return len(changes)


# --- plan vs actual -----------------------------------------------------------------------------


def _percent(actual: Decimal, plan: Decimal) -> Decimal | None:
    if not plan:
        return None
    return (actual * 100 / plan).quantize(Decimal("0.1"))


@dataclass
class Figures:
    plan_area: Decimal = ZERO
    plan_amount: Decimal = ZERO
    fact_area: Decimal = ZERO
    fact_amount: Decimal = ZERO
    deals: int = 0
    paid: Decimal | None = None  # None until payments are counted (see project_payments)

    @property
    def area_percent(self) -> Decimal | None:
        return _percent(self.fact_area, self.plan_area)

    @property
    def amount_percent(self) -> Decimal | None:
        return _percent(self.fact_amount, self.plan_amount)

    def add(self, other: Figures) -> None:
        self.plan_area += other.plan_area
        self.plan_amount += other.plan_amount
        self.fact_area += other.fact_area
        self.fact_amount += other.fact_amount
        self.deals += other.deals
        if other.paid is not None:
            self.paid = (self.paid or ZERO) + other.paid


@dataclass
class ManagerRow:
    owner: PlanOwner
    total: Figures
    by_month: dict[str, Figures] = field(default_factory=dict)


@dataclass
class PlanReport:
    months: list[dt.date]
    by_month: dict[str, Figures]  # the project as a whole, by 'YYYY-MM'
    managers: list[ManagerRow]
    total: Figures
    plan_source: str  # 'project': its own plan rows; 'managers': the sum of managers' plans
    paid_counted: bool


def month_of_sql(column: Any, dialect: str) -> Any:
    """'YYYY-MM' of a UTC timestamp in Moscow time, computed by the database."""
    if dialect == "postgresql":
        return func.to_char(
            func.timezone(literal_column(f"'{LOCAL_TZ_NAME}'"), column),
            literal_column("'YYYY-MM'"),
        )
    return func.strftime(literal_column("'%Y-%m'"), column, literal_column("'+3 hours'"))


def actual_rows(
    session: Session, project_ids: list[int] | None = None
) -> list[tuple[int, str, int, Decimal, Decimal, int]]:
    """(project id, 'YYYY-MM', manager id, m², amount, deals) of won deals: one GROUP BY."""
    return [
        row
        for rows in signals.answers(signals.won_sales, session=session, project_ids=project_ids)
        for row in rows
    ]


def plan_rows(
    session: Session, project_ids: list[int] | None = None
) -> list[tuple[int, str, int | None, Decimal, Decimal]]:
    """(project id, 'YYYY-MM', user id or None, m², amount) of the plans: one GROUP BY."""
    query = select(
        SalesPlan.project_id,
        SalesPlan.month,
        SalesPlan.user_id,
        func.sum(SalesPlan.area_m2),
        func.sum(SalesPlan.amount),
    ).group_by(SalesPlan.project_id, SalesPlan.month, SalesPlan.user_id)
    if project_ids is not None:
        query = query.where(SalesPlan.project_id.in_(project_ids))
    return [
        (pid, month_key(month), uid, dec(area), dec(amount))
        for pid, month, uid, area, amount in session.execute(query)
    ]


def dec(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def paid_by_month(session: Session, project: Project) -> dict[tuple[str, int], Decimal] | None:
    """{('YYYY-MM', manager id): paid} from the areas that know payments; None if none answers."""
    found = signals.answers(signals.project_payments, project, session=session)
    if not found:
        return None
    paid: dict[tuple[str, int], Decimal] = {}
    for answer in found:
        for key, amount in answer.items():
            paid[key] = paid.get(key, ZERO) + amount
    return paid


def plan_vs_actual(session: Session, project: Project) -> PlanReport:
    plans = plan_rows(session, [project.id])
    actuals = actual_rows(session, [project.id])
    paid = paid_by_month(session, project)
    owners = {o.user_id: o for o in plan_owners(session, project)}

    has_project_plan = any(uid is None for _, _, uid, _, _ in plans)
    by_month: dict[str, Figures] = {}
    managers: dict[int, ManagerRow] = {}

    def manager(uid: int) -> ManagerRow:
        if uid not in managers:
            owner = owners.get(uid) or PlanOwner(uid, f"Пользователь #{uid}")
            managers[uid] = ManagerRow(owner=owner, total=Figures())
        return managers[uid]

    for _, key, uid, area, amount in plans:
        if uid is None or not has_project_plan:
            figures = by_month.setdefault(key, Figures())
            figures.plan_area += area
            figures.plan_amount += amount
        if uid is not None:
            row = manager(uid).by_month.setdefault(key, Figures())
            row.plan_area += area
            row.plan_amount += amount
    for _, key, uid, area, amount, count in actuals:
        for figures in (
            by_month.setdefault(key, Figures()),
            manager(uid).by_month.setdefault(key, Figures()),
        ):
            figures.fact_area += area
            figures.fact_amount += amount
            figures.deals += count
    if paid is not None:
        for (key, uid), amount in paid.items():
            month = by_month.setdefault(key, Figures())
            month.paid = (month.paid or ZERO) + amount
            if uid is not None:
                row = manager(uid).by_month.setdefault(key, Figures())
                row.paid = (row.paid or ZERO) + amount
    total = Figures(paid=ZERO if paid is not None else None)
    for figures in by_month.values():
        total.add(figures)
    for row in managers.values():
        for figures in row.by_month.values():
            row.total.add(figures)
    months = default_months(session, project)
    seen = {month_key(m) for m in months}
    extra = sorted(k for k in by_month if k not in seen)
    all_months = sorted({*months, *(parse_month(k) for k in extra)})  # type: ignore[misc]
    return PlanReport(
        months=all_months,
        by_month=by_month,
        managers=sorted(managers.values(), key=lambda r: r.owner.label),
        total=total,
        plan_source="project" if has_project_plan or not plans else "managers",
        paid_counted=paid is not None,
    )


def projects_summary(session: Session, projects: list[Project]) -> dict[int, Figures]:
    """Plan vs actual totals of many projects at once (two GROUP BY queries)."""
    ids = [p.id for p in projects]
    result = {pid: Figures() for pid in ids}
    plans = plan_rows(session, ids)
    with_project_plan = {pid for pid, _, uid, _, _ in plans if uid is None}
    for pid, _, uid, area, amount in plans:
        if (uid is None) == (pid in with_project_plan):
            result[pid].plan_area += area
            result[pid].plan_amount += amount
    for pid, _, _, area, amount, count in actual_rows(session, ids):
        result[pid].fact_area += area
        result[pid].fact_amount += amount
        result[pid].deals += count
    return result
