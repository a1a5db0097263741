"""Plan vs actual of a project's budget, the income cross-check against sales, and its XLSX.

Plan: the cells of one version (the approved one unless another is asked for). Actual: what
accounting reported (budget_actuals). Deviation = actual − plan, in roubles and in % of the plan.
For expense articles an actual above the plan is an overspending; for income a shortfall.

The cross-check puts the budget's income next to the sales side: the project's sales plan in
money and the won deals by month of closing (both from projects.plans, Moscow months).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_crm.budgets import articles as catalog
from erp_crm.budgets import services
from erp_crm.budgets.models import (
    BudgetActual,
    BudgetArticle,
    BudgetLine,
    BudgetVersion,
    Direction,
    VersionStatus,
)
from erp_crm.projects import plans
from erp_crm.projects.models import Project

ZERO = Decimal("0.00")


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (part * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class Cell:
    plan: Decimal = ZERO
    actual: Decimal = ZERO

    @property
    def deviation(self) -> Decimal:
        return self.actual - self.plan

    @property
    def deviation_percent(self) -> Decimal | None:
        """(actual − plan) / plan × 100, one decimal; None without a plan."""
        return _percent(self.deviation, self.plan)

    @property
    def is_empty(self) -> bool:
        return not self.plan and not self.actual

    def add(self, other: Cell) -> None:
        self.plan += other.plan
        self.actual += other.actual


@dataclass
class ArticleRow:
    article: BudgetArticle
    cells: dict[dt.date, Cell]
    total: Cell
    to_date: Cell = field(default_factory=Cell)  # the months before the current one

    def cell(self, month: dt.date) -> Cell:
        return self.cells.get(month) or Cell()

    def overspent(self, cell: Cell) -> bool:
        """An expense above its plan (an unplanned expense included)."""
        return self.article.direction == Direction.EXPENSE.value and cell.actual > cell.plan


@dataclass
class Section:
    direction: str
    rows: list[ArticleRow] = field(default_factory=list)
    by_month: dict[dt.date, Cell] = field(default_factory=dict)
    total: Cell = field(default_factory=Cell)
    to_date: Cell = field(default_factory=Cell)

    @property
    def label(self) -> str:
        return {"income": "Доходы", "expense": "Расходы"}[self.direction]

    def month(self, month: dt.date) -> Cell:
        return self.by_month.get(month) or Cell()

    def overspent(self, cell: Cell) -> bool:
        return self.direction == Direction.EXPENSE.value and cell.actual > cell.plan


@dataclass
class CrossRow:
    """One month of the income cross-check."""

    month: dt.date
    budget_plan: Decimal = ZERO  # income of the budget's plan
    budget_actual: Decimal = ZERO  # income accounting reported
    sales_plan: Decimal = ZERO  # the project's sales plan, ₽
    won: Decimal = ZERO  # won deals closed in the month, ₽
    deals: int = 0

    @property
    def diff_sales_plan(self) -> Decimal:
        """Budget income plan − sales plan."""
        return self.budget_plan - self.sales_plan

    @property
    def diff_won(self) -> Decimal:
        """Budget income plan − won deals."""
        return self.budget_plan - self.won

    def add(self, other: CrossRow) -> None:
        self.budget_plan += other.budget_plan
        self.budget_actual += other.budget_actual
        self.sales_plan += other.sales_plan
        self.won += other.won
        self.deals += other.deals


@dataclass
class BudgetReport:
    project: Project
    version: BudgetVersion | None
    months: list[dt.date]
    income: Section
    expense: Section
    result_by_month: dict[dt.date, Cell]
    result: Cell
    result_to_date: Cell
    cross: list[CrossRow]
    cross_total: CrossRow
    current_month: dt.date  # "to date" sums the months before it (closed by accounting)

    @property
    def sections(self) -> list[Section]:
        return [self.income, self.expense]

    def result_month(self, month: dt.date) -> Cell:
        return self.result_by_month.get(month) or Cell()


def _result(income: Cell, expense: Cell) -> Cell:
    return Cell(plan=income.plan - expense.plan, actual=income.actual - expense.actual)


def build_report(
    session: Session,
    project: Project,
    version: BudgetVersion | None = None,
    *,
    as_of: dt.date | None = None,
) -> BudgetReport:
    """Plan (the approved version unless `version` is given) vs actual, by article and month.

    Besides the totals, `to_date` sums the months before the month of `as_of` (today): the
    past months, where plan and actual are comparable.
    """
    current_month = plans.month_start(as_of or dt.date.today())
    if version is None:
        version = services.approved_version(session, project)
    planned = services.version_amounts(session, version) if version is not None else {}
    actual = services.actual_amounts(session, project)
    months = services.budget_months(project, [m for _, m in planned] + [m for _, m in actual])
    used = {a for a, _ in planned} | {a for a, _ in actual}
    sections = {d.value: Section(d.value) for d in Direction}
    for article in catalog.list_articles(session):
        if not article.is_active and article.id not in used:
            continue
        row = ArticleRow(article=article, cells={}, total=Cell())
        for month in months:
            cell = Cell(
                plan=planned.get((article.id, month), ZERO),
                actual=actual.get((article.id, month), ZERO),
            )
            row.cells[month] = cell
            row.total.add(cell)
            if month < current_month:
                row.to_date.add(cell)
            sections[article.direction].by_month.setdefault(month, Cell()).add(cell)
        sections[article.direction].rows.append(row)
        sections[article.direction].total.add(row.total)
        sections[article.direction].to_date.add(row.to_date)
    income, expense = sections["income"], sections["expense"]
    result_by_month = {m: _result(income.month(m), expense.month(m)) for m in months}
    cross, cross_total = _cross_check(session, project, months, income)
    return BudgetReport(
        project=project,
        version=version,
        months=months,
        income=income,
        expense=expense,
        result_by_month=result_by_month,
        result=_result(income.total, expense.total),
        result_to_date=_result(income.to_date, expense.to_date),
        cross=cross,
        cross_total=cross_total,
        current_month=current_month,
    )


def _cross_check(
    session: Session, project: Project, months: list[dt.date], income: Section
) -> tuple[list[CrossRow], CrossRow]:
    sales = plans.plan_vs_actual(session, project).by_month  # 'YYYY-MM' -> Figures
    sales_months = {
        plans.parse_month(key)
        for key, f in sales.items()
        if f.plan_amount or f.fact_amount or f.deals
    }
    rows = []
    total = CrossRow(month=months[0] if months else dt.date.today())
    for month in sorted(set(months) | {m for m in sales_months if m is not None}):
        figures = sales.get(plans.month_key(month))
        budget = income.month(month)
        row = CrossRow(
            month=month,
            budget_plan=budget.plan,
            budget_actual=budget.actual,
            sales_plan=figures.plan_amount if figures else ZERO,
            won=figures.fact_amount if figures else ZERO,
            deals=figures.deals if figures else 0,
        )
        rows.append(row)
        total.add(row)
    return rows, total


# --- XLSX -----------------------------------------------------------------------------------------

MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = '0.0"%"'


def _month_label(month: dt.date) -> str:
    return f"{month:%m.%Y}"


def export_xlsx(report: BudgetReport) -> bytes:
    """Sheets «План-факт» (article × month: plan, actual, deviation, %) and «Сверка доходов»."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    red = Font(color="B02A37", bold=True)
    header_fill = PatternFill("solid", fgColor="E9ECEF")
    book = Workbook()
    sheet = book.active
    sheet.title = "План-факт"
    version = report.version
    sheet.append([f"Бюджет проекта «{report.project.name}» ({report.project.code})"])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(
        [
            f"План: версия {version.number} ({version.status_label.lower()})"
            if version
            else "План: утверждённого бюджета нет"
        ]
    )
    sheet.append([])
    header = [
        "Статья",
        "Код",
        "Показатель",
        *(_month_label(m) for m in report.months),
        f"До {_month_label(report.current_month)}",
        "Итого",
    ]
    sheet.append(header)
    for cell in sheet[sheet.max_row]:
        cell.font, cell.fill = bold, header_fill

    def put(
        label: str, code: str, cells: list[Cell], to_date: Cell, total: Cell, row: ArticleRow | None
    ) -> None:
        for kind, title in (
            ("plan", "План"),
            ("actual", "Факт"),
            ("deviation", "Отклонение"),
            ("percent", "Отклонение, %"),
        ):
            values: list[object] = []
            for c in [*cells, to_date, total]:
                if kind == "percent":
                    p = c.deviation_percent
                    values.append(p)
                else:
                    values.append(getattr(c, kind))
            sheet.append(
                [label if kind == "plan" else "", code if kind == "plan" else "", title, *values]
            )
            excel_row = sheet.max_row
            for i, c in enumerate([*cells, to_date, total]):
                target = sheet.cell(row=excel_row, column=4 + i)
                target.number_format = PERCENT_FORMAT if kind == "percent" else MONEY_FORMAT
                if kind == "deviation" and row is not None and row.overspent(c):
                    target.font = red

    for section in report.sections:
        sheet.append([section.label])
        sheet.cell(row=sheet.max_row, column=1).font = bold
        for row in section.rows:
            put(
                row.article.name,
                row.article.code,
                [row.cell(m) for m in report.months],
                row.to_date,
                row.total,
                row,
            )
        put(
            f"Итого: {section.label.lower()}",
            "",
            [section.month(m) for m in report.months],
            section.to_date,
            section.total,
            None,
        )
        for r in range(sheet.max_row - 3, sheet.max_row + 1):
            sheet.cell(row=r, column=1).font = bold
    put(
        "Результат (доходы − расходы)",
        "",
        [report.result_month(m) for m in report.months],
        report.result_to_date,
        report.result,
        None,
    )
    sheet.cell(row=sheet.max_row - 3, column=1).font = bold
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 10
    sheet.column_dimensions["C"].width = 15
    for i in range(len(report.months) + 2):
        sheet.column_dimensions[get_column_letter(4 + i)].width = 14
    sheet.freeze_panes = "D5"

    cross = book.create_sheet("Сверка доходов")
    cross.append(
        [
            "Месяц",
            "Доходы по бюджету (план)",
            "Доходы по бюджету (факт)",
            "План продаж",
            "Разница: бюджет − план продаж",
            "Выиграно сделок, ₽",
            "Сделок",
            "Разница: бюджет − выиграно",
        ]
    )
    for cell in cross[1]:
        cell.font, cell.fill = bold, header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")

    def cross_line(label: str, r: CrossRow) -> None:
        cross.append(
            [
                label,
                r.budget_plan,
                r.budget_actual,
                r.sales_plan,
                r.diff_sales_plan,
                r.won,
                r.deals,
                r.diff_won,
            ]
        )
        for col in (2, 3, 4, 5, 6, 8):
            cross.cell(row=cross.max_row, column=col).number_format = MONEY_FORMAT

    for r in report.cross:
        cross_line(_month_label(r.month), r)
    cross_line("Итого", report.cross_total)
    for cell in cross[cross.max_row]:
        cell.font = bold
    cross.column_dimensions["A"].width = 12
    for col in "BCDEFGH":
        cross.column_dimensions[col].width = 18
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- list of projects -----------------------------------------------------------------------------


@dataclass
class ProjectSummary:
    approved: int | None = None  # number of the approved version
    draft: int | None = None
    income: Cell = field(default_factory=Cell)
    expense: Cell = field(default_factory=Cell)

    @property
    def result(self) -> Cell:
        return _result(self.income, self.expense)


def projects_summary(session: Session, projects: list[Project]) -> dict[int, ProjectSummary]:
    """Approved plan and actual totals by direction of many projects (three GROUP BY queries)."""
    ids = [p.id for p in projects]
    result = {pid: ProjectSummary() for pid in ids}
    if not ids:
        return result
    for pid, number, status in session.execute(
        select(BudgetVersion.project_id, BudgetVersion.number, BudgetVersion.status).where(
            BudgetVersion.project_id.in_(ids),
            BudgetVersion.status.in_([VersionStatus.APPROVED.value, VersionStatus.DRAFT.value]),
        )
    ):
        if status == VersionStatus.APPROVED.value:
            result[pid].approved = number
        else:
            result[pid].draft = number
    planned = session.execute(
        select(BudgetVersion.project_id, BudgetArticle.direction, func.sum(BudgetLine.amount))
        .join(BudgetLine, BudgetLine.version_id == BudgetVersion.id)
        .join(BudgetArticle, BudgetArticle.id == BudgetLine.article_id)
        .where(
            BudgetVersion.project_id.in_(ids),
            BudgetVersion.status == VersionStatus.APPROVED.value,
        )
        .group_by(BudgetVersion.project_id, BudgetArticle.direction)
    )
    for pid, direction, amount in planned:
        getattr(result[pid], direction).plan += Decimal(str(amount or 0))
    actual = session.execute(
        select(BudgetActual.project_id, BudgetArticle.direction, func.sum(BudgetActual.amount))
        .join(BudgetArticle, BudgetArticle.id == BudgetActual.article_id)
        .where(BudgetActual.project_id.in_(ids))
        .group_by(BudgetActual.project_id, BudgetArticle.direction)
    )
    for pid, direction, amount in actual:
        getattr(result[pid], direction).actual += Decimal(str(amount or 0))
    return result
