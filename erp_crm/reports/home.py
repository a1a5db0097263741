"""The home page per role: what each person should look at first, from the reports' figures.

- a sales manager: today's and overdue contacts, their open deals without a next step, their
  plan for this month;
- the head of sales (and the admin): the department's plan for this month, the open funnel of the
  sales pipeline, overdue contacts by manager;
- the accountant (whoever reconciles payments): unallocated payments, overdue invoices, exchange
  errors;
- a project manager: m² sold against the plan and the budget's deviations of their projects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_crm.activities import services as activities
from erp_crm.activities.models import Activity, Status
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.billing.models import Payment
from erp_crm.billing.receivables import receivables
from erp_crm.budgets.report import projects_summary
from erp_crm.db import utcnow
from erp_crm.deals import next_steps
from erp_crm.deals.models import Deal, Outcome, Pipeline
from erp_crm.integration.models import ExchangeEvent, OutboxMessage
from erp_crm.projects.models import Project
from erp_crm.reports import access, funnel, sales
from erp_crm.reports.filters import MOSCOW, ReportFilter


def month_filter(now: dt.datetime) -> ReportFilter:
    today = now.astimezone(MOSCOW).date()
    first = today.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return ReportFilter(date_from=first, date_to=last)


@dataclass
class Home:
    seller: dict[str, Any] | None = None
    head: dict[str, Any] | None = None
    accountant: dict[str, Any] | None = None
    projects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.seller or self.head or self.accountant or self.projects)


def _stuck_deals(session: Session, manager_id: int, limit: int = 20) -> tuple[int, list[Deal]]:
    open_deals = select(Deal.id).where(
        Deal.manager_id == manager_id, Deal.outcome == Outcome.OPEN.value
    )
    open_ids = list(session.scalars(open_deals))
    with_step = next_steps.with_next_step(session, open_deals)
    stuck = [i for i in open_ids if i not in with_step]
    deals = (
        list(session.scalars(select(Deal).where(Deal.id.in_(stuck[:limit])).order_by(Deal.id)))
        if stuck
        else []
    )
    return len(stuck), deals


def _seller(session: Session, user: User, now: dt.datetime) -> dict[str, Any]:
    day = activities.day_of(session, user, now=now, limit=50)
    stuck_count, stuck = _stuck_deals(session, user.id)
    month = month_filter(now)
    rows, _total = sales.manager_rows(session, month.with_(manager_id=user.id), [user], now=now)
    return {
        "overdue": day.overdue,
        "today": day.today,
        "stuck_count": stuck_count,
        "stuck": stuck,
        "plan": rows[0],
        "month": month,
    }


def _head(session: Session, now: dt.datetime) -> dict[str, Any]:
    month = month_filter(now)
    report = sales.department_report(session, month, now=now)
    pipeline = session.scalar(select(Pipeline).where(Pipeline.code == "sales"))
    stages = []
    if pipeline is not None:
        counts = {
            sid: (n, amount)
            for sid, n, amount in session.execute(
                select(Deal.stage_id, func.count(Deal.id), func.coalesce(func.sum(Deal.amount), 0))
                .where(Deal.pipeline_id == pipeline.id, Deal.outcome != Outcome.LOST.value)
                .group_by(Deal.stage_id)
            )
        }
        stages = [
            {
                "stage": s,
                "deals": counts.get(s.id, (0, 0))[0],
                "amount": Decimal(str(counts.get(s.id, (0, 0))[1])).quantize(Decimal("0.01")),
            }
            for s in pipeline.stages
            if s.is_active
        ]
    overdue = session.execute(
        select(User.id, User.full_name, func.count(Activity.id))
        .join(User, User.id == Activity.responsible_id)
        .where(Activity.status == Status.PLANNED.value, Activity.starts_at < now)
        .group_by(User.id, User.full_name)
        .order_by(func.count(Activity.id).desc(), User.full_name)
    ).all()
    return {
        "month": month,
        "total": report.total,
        "stages": stages,
        "overdue": [{"user_id": uid, "name": name, "count": n} for uid, name, n in overdue],
    }


def _accountant(session: Session, now: dt.datetime) -> dict[str, Any]:
    count, amount = session.execute(
        select(func.count(Payment.id), func.coalesce(func.sum(Payment.unallocated), 0)).where(
            Payment.unallocated > 0
        )
    ).one()
    debts = receivables(session, today=now.astimezone(MOSCOW).date())
    overdue = sum((v for k, v in debts.totals.items() if k != "not_due"), Decimal("0.00"))
    overdue_invoices = sum(
        1 for row in debts.rows if any(v for k, v in row.buckets.items() if k != "not_due")
    )
    dead = session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "dead")
    )
    failed = session.scalar(
        select(func.count(ExchangeEvent.id)).where(
            ExchangeEvent.ok.is_(False), ExchangeEvent.at >= now - dt.timedelta(days=7)
        )
    )
    return {
        "unallocated_count": count,
        "unallocated_amount": Decimal(str(amount)).quantize(Decimal("0.01")),
        "overdue_amount": overdue,
        "overdue_clients": overdue_invoices,
        "dead_messages": dead or 0,
        "failed_calls": failed or 0,
    }


def _projects(session: Session, user: User, now: dt.datetime) -> list[dict[str, Any]]:
    ids = access.led_projects(session, user)
    if not ids:
        return []
    projects = list(session.scalars(select(Project).where(Project.id.in_(ids))))
    budgets = projects_summary(session, projects)
    year = ReportFilter.default(now.astimezone(MOSCOW).date())
    return [
        {
            "project": p,
            "area": funnel.project_area(session, p, year, now),
            "budget": budgets.get(p.id),
        }
        for p in projects
    ]


def home_for(session: Session, user: User, *, now: dt.datetime | None = None) -> Home:
    now = now or utcnow()
    home = Home()
    if access.is_seller(user) and not access.sees_everything(user):
        home.seller = _seller(session, user, now)
    if access.sees_everything(user):
        home.head = _head(session, now)
    if has_permission(user, Perm.PAYMENTS_RECONCILE):
        home.accountant = _accountant(session, now)
    home.projects = _projects(session, user, now)
    return home
