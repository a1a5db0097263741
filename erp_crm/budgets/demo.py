"""Demo budgets: every demo project gets an approved budget built through the services, and
accounting's actuals for the months already past (some articles slightly overspent, so the
plan-vs-actual page has something to show). The first project also keeps a superseded version.

Amounts follow the project's demo price list and sales plan (projects.demo.PROJECTS): space
income rises towards the opening like the sales plan, the venue is paid before and in the
month of the show, advertising runs over the last half year.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.budgets import services
from erp_crm.budgets.models import BudgetArticle
from erp_crm.core.guids import guid_for
from erp_crm.projects import plans
from erp_crm.projects.demo import PROJECTS, ProjectSpec
from erp_crm.projects.models import Project, StandType

CENT = Decimal("0.01")
THOUSAND = Decimal(1000)


def _round(value: Decimal) -> Decimal:
    """Budgets are planned in whole thousands of roubles."""
    return (value / THOUSAND).quantize(Decimal(1)) * THOUSAND


def _spread(total: Decimal, months: list[dt.date], weights: list[int]) -> dict[dt.date, Decimal]:
    cells: dict[dt.date, Decimal] = {}
    weight_sum = sum(weights)
    left = total
    for i, (month, weight) in enumerate(zip(months, weights, strict=True)):
        share = left if i == len(months) - 1 else _round(total * weight / weight_sum)
        left -= share
        if share > 0:
            cells[month] = share
    return cells


def _plan(project: Project, spec: ProjectSpec) -> dict[str, dict[dt.date, Decimal]]:
    """{article code: {month: amount}} of the demo budget."""
    opening = plans.month_start(project.opening_date)
    selling = plans.months_between(plans.add_months(opening, -8), plans.add_months(opening, -1))
    rising = list(range(1, len(selling) + 1))
    space = Decimal(spec.plan_m2) * spec.prices[StandType.RAW.value]
    participants = Decimal(spec.plan_m2 // 18)
    before = plans.add_months(opening, -1)
    after = plans.add_months(opening, 1)
    last_six = plans.months_between(plans.add_months(opening, -6), opening)
    return {
        "INC-SPACE": _spread(_round(space * Decimal("0.92")), selling, rising),
        "INC-REG": _spread(_round(participants * spec.registration_fee), selling, rising),
        "INC-SERV": _spread(_round(space * Decimal("0.08")), [before, opening], [1, 2]),
        "INC-SPONSOR": _spread(
            _round(space * Decimal("0.05")), [plans.add_months(opening, -3), before], [1, 1]
        ),
        "EXP-VENUE": _spread(
            _round(space * Decimal("0.32")), [plans.add_months(opening, -3), opening], [1, 2]
        ),
        "EXP-BUILD": _spread(_round(space * Decimal("0.14")), [opening], [1]),
        "EXP-ADV": _spread(_round(space * Decimal("0.09")), last_six, [1, 1, 1, 2, 2, 3, 1]),
        "EXP-PRINT": _spread(
            _round(space * Decimal("0.02")), [plans.add_months(opening, -2), before], [2, 1]
        ),
        "EXP-PROGRAM": _spread(_round(space * Decimal("0.03")), [before, opening], [1, 2]),
        "EXP-TRAVEL": _spread(
            _round(space * Decimal("0.012")), selling[-4:] + [opening], [1, 1, 1, 1, 1]
        ),
        "EXP-OTHER": _spread(_round(space * Decimal("0.015")), [opening, after], [2, 1]),
    }


def _cells(
    plan: dict[str, dict[dt.date, Decimal]], articles: dict[str, BudgetArticle], factor: Decimal
) -> list[services.BudgetCell]:
    return [
        services.BudgetCell(articles[code].id, month, (amount * factor).quantize(CENT))
        for code, months in plan.items()
        if code in articles
        for month, amount in months.items()
    ]


def seed_demo_budgets(session: Session, actor: User, today: dt.date | None = None) -> int:
    """An approved budget for every demo project, actuals for its past months. Returns the
    number of budgets approved. Projects that already have a budget are left alone."""
    today = today or dt.date.today()
    current = plans.month_start(today)
    articles = {a.code: a for a in session.scalars(select(BudgetArticle))}
    approved = 0
    for index, spec in enumerate(PROJECTS):
        project = session.scalar(select(Project).where(Project.code == spec.code))
        if project is None or services.list_versions(session, project):
            continue
        plan = _plan(project, spec)
        if index == 0:  # a first version, revised later: the superseded one stays readable
            first = services.create_version(
                session, project, actor=actor, comment="Первый вариант бюджета."
            )
            services.save_lines(session, first, _cells(plan, articles, Decimal("0.9")), actor=actor)
            services.approve_version(session, first, actor=actor)
        version = services.create_version(
            session,
            project,
            actor=actor,
            copy_latest=False,
            comment="Бюджет по плану продаж и смете площадки.",
        )
        services.save_lines(session, version, _cells(plan, articles, Decimal(1)), actor=actor)
        services.approve_version(session, version, actor=actor)
        approved += 1
        # Accounting's actuals of the months already past: close to the plan, some overspent.
        rng = random.Random(spec.code)
        project_guid = guid_for("projects", project.id)
        for code, months in plan.items():
            article = articles.get(code)
            if article is None:
                continue
            for month, amount in months.items():
                if month >= current:
                    continue
                low, high = (85, 105) if article.direction == "income" else (90, 115)
                factor = Decimal(rng.randint(low, high)) / 100
                services.apply_actual(
                    session,
                    project_guid=project_guid,
                    article_code=code,
                    direction=article.direction,
                    month=month,
                    amount=(amount * factor).quantize(CENT),
                )
    return approved
