"""XLSX of each report (openpyxl, write-only: the department report of a big base stays fast)."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from erp_crm.reports import sales

# (header, how to read it from a Row)
TEAM_COLUMNS: list[tuple[str, Any]] = [
    ("Запланировано контактов", lambda r: r["planned"]),
    ("Выполнено", lambda r: r["done"]),
    ("Просрочено", lambda r: r["overdue"]),
    ("В срок", lambda r: r["on_time"]),
    ("Продвинули вперёд", lambda r: r["forward"]),
    ("Эффективность, %", lambda r: r.effectiveness),
    ("Переносы", lambda r: r["postponed"]),
    ("Пар клиент × проект", lambda r: r["pairs"]),
    ("Переносов на пару", lambda r: r.postponements_per_pair),
    ("Дней до продажи", lambda r: r.sale_days),
    ("Открыто сделок", lambda r: r["opened"]),
    ("Выиграно", lambda r: r["won"]),
    ("Проиграно", lambda r: r["lost"]),
    ("Продано м²", lambda r: r["won_m2"]),
    ("Продано, ₽", lambda r: r["won_amount"]),
    ("План м²", lambda r: r["plan_m2"]),
    ("План, ₽", lambda r: r["plan_amount"]),
    ("Выполнение плана по м², %", lambda r: r.plan_m2_pct),
    ("Выполнение плана по сумме, %", lambda r: r.plan_amount_pct),
    ("Оценок", lambda r: r["rated"]),
    ("Средняя оценка", lambda r: r.rating_avg),
]


def _cell(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _period(f: Any) -> str:
    return f"Период: {f.date_from:%d.%m.%Y} — {f.date_to:%d.%m.%Y}"


def team_xlsx(report: sales.TeamReport) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Отчёт")
    sheet.append([report.title])
    sheet.append([_period(report.filter)])
    sheet.append(["Менеджер", *[h for h, _ in TEAM_COLUMNS]])
    for row in [*report.rows, report.total]:
        sheet.append([row.name, *[_cell(read(row)) for _, read in TEAM_COLUMNS]])
    sheet.append([])
    sheet.append([sales.FORWARD_DEFINITION])
    return _save(workbook)


def personal_xlsx(report: sales.PersonalReport) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Отчёт")
    sheet.append([f"Персональный отчёт: {report.user.full_name}"])
    sheet.append([_period(report.filter)])
    for header, read in TEAM_COLUMNS:
        sheet.append([header, _cell(read(report.row))])
    types = workbook.create_sheet("По типам")
    types.append(["Тип", "Запланировано", "Выполнено", "Просрочено", "В срок", "Вперёд", "%"])
    for t in report.by_type:
        c = t.counts
        types.append(
            [
                t.name,
                c["planned"],
                c["done"],
                c["overdue"],
                c["on_time"],
                c["forward"],
                _cell(t.effectiveness),
            ]
        )
    pairs = workbook.create_sheet("Переносы")
    pairs.append(["Клиент", "Проект", "Переносов"])
    for p in report.pairs:
        pairs.append([p.client, p.project, p.postponed])
    return _save(workbook)


def _save(workbook: Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def funnel_xlsx(report: Any, leads: list[dict], tasks: list[dict]) -> bytes:
    """The funnel page's tables, a sheet each."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Воронка")
    sheet.append([f"Воронка: {report.project.name} · {report.pipeline.name}"])
    sheet.append([_period(report.filter)])
    sheet.append(
        ["Этап", "%", "Дошли", "Конверсия, %", "Отсев", "Сейчас", "Проиграно", "Медиана, дн."]
    )
    for r in report.stages:
        sheet.append(
            [
                r.stage.name,
                r.stage.percent,
                r.reached,
                _cell(r.conversion),
                r.drop_off,
                r.current,
                r.lost_here,
                _cell(r.median_days),
            ]
        )
    sheet.append([])
    for label, value in (
        ("Сделок", report.deals),
        ("Открыто", report.open),
        ("Выиграно", report.won),
        ("Проиграно", report.lost),
        ("Средняя длительность продажи, дн.", _cell(report.avg_sale_days)),
        ("Скорость продаж, ₽/день", _cell(report.velocity)),
        ("Упущенная выручка, ₽", _cell(report.lost_amount)),
        *[(f"м²: {k}", _cell(v)) for k, v in report.area.items()],
    ):
        sheet.append([label, value])
    reasons = workbook.create_sheet("Причины отказов")
    reasons.append(["Причина", "Сделок", "м²", "₽"])
    for r in report.lost_reasons:
        reasons.append([r["name"], r["count"], _cell(r["area_m2"]), _cell(r["amount"])])
    forecast = workbook.create_sheet("Прогноз")
    forecast.append(["Месяц", "Сделок", "Сумма, ₽", "Прогноз, ₽", "Прогноз, м²"])
    for m in report.forecast:
        forecast.append(
            [
                m["month"],
                m["deals"],
                _cell(m["amount"]),
                _cell(m["weighted"]),
                _cell(m["weighted_m2"]),
            ]
        )
    sources = workbook.create_sheet("Лиды")
    sources.append(["Источник", "Лидов", "В сделку", "Отклонено", "Конверсия, %"])
    for lead in leads:
        sources.append(
            [
                lead["label"],
                lead["leads"],
                lead["converted"],
                lead["rejected"],
                _cell(lead["conversion_pct"]),
            ]
        )
    people = workbook.create_sheet("Поручения")
    people.append(["Исполнитель", "Всего", "Выполнено", "Просрочено"])
    for t in tasks:
        people.append([t["name"], t["tasks"], t["done"], t["overdue"]])
    return _save(workbook)
