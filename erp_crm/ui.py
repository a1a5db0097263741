"""Template helpers: Russian formatting filters, the role-based navigation, permission checks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date
from babel.numbers import get_decimal_symbol, get_group_symbol
from flask import Flask, current_app, request, url_for
from flask_login import current_user

from erp_crm.auth.permissions import ROLE_LABELS, Perm, Role, permissions_of
from erp_crm.core.text import display_phone

LOCAL_TZ = ZoneInfo("Europe/Moscow")


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    perm: Perm | None
    icon: str
    group: str | None = None  # "settings": shown in the settings drop-down of the menu


# The menu: an item shows only to users whose role grants its permission.
NAVIGATION: list[NavItem] = [
    NavItem("Главная", "main.index", None, "house"),
    NavItem("Контрагенты", "clients.index", Perm.CLIENTS_VIEW, "people-fill"),
    NavItem("Группы", "groups.index", Perm.CLIENTS_VIEW, "collection"),
    NavItem("Проекты", "projects.index", Perm.PROJECTS_VIEW, "calendar-event"),
    NavItem("Планы", "plans.index", Perm.PROJECTS_VIEW, "graph-up"),
    NavItem("Бюджеты", "budgets.index", Perm.BUDGETS_VIEW, "cash-stack"),
    NavItem("Сделки", "deals.index", Perm.DEALS_VIEW, "briefcase"),
    NavItem("Канбан", "kanban.board", Perm.DEALS_VIEW, "kanban"),
    NavItem("Мой день", "activities.index", Perm.ACTIVITIES_VIEW, "list-check"),
    NavItem("Календарь", "calendar.index", Perm.ACTIVITIES_VIEW, "calendar3"),
    NavItem("Лиды", "leads.index", Perm.LEADS_WORK, "inbox"),
    NavItem("Отчёты", "reports.index", Perm.DEALS_VIEW, "bar-chart-line"),
    NavItem("Документы", "documents.index", Perm.DOCUMENTS_VIEW, "file-earmark-text"),
    NavItem("Платежи", "billing.index", Perm.PAYMENTS_VIEW, "cash-coin"),
    NavItem("Рассылки", "mailing.index", Perm.MAILING_WORK, "envelope"),
    NavItem("Организации", "organizations.index", Perm.ORGANIZATIONS_VIEW, "building", "settings"),
    NavItem("Пользователи", "users.index", Perm.USERS_MANAGE, "person-gear", "settings"),
    NavItem("Воронки", "pipelines.index", Perm.PIPELINES_MANAGE, "funnel", "settings"),
    NavItem(
        "Шаблоны документов",
        "document_templates.index",
        Perm.TEMPLATES_MANAGE,
        "file-earmark-code",
        "settings",
    ),
    NavItem(
        "Справочники контактов",
        "activities.catalogs",
        Perm.ACTIVITY_CATALOGS_MANAGE,
        "card-checklist",
        "settings",
    ),
    NavItem("Почта (SMTP)", "mailing.settings", Perm.MAILING_SETTINGS, "envelope-at", "settings"),
    NavItem("Журнал изменений", "audit.index", Perm.AUDIT_VIEW_ALL, "clock-history", "settings"),
    NavItem("Обмен с 1С", "exchange.index", Perm.EXCHANGE_VIEW, "arrow-left-right", "settings"),
    NavItem("Фоновые задания", "jobs.index", Perm.JOBS_MANAGE, "cpu", "settings"),
]


def ru_date(value: dt.date | dt.datetime | None, fmt: str = "d MMMM y г.") -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(LOCAL_TZ).date()
    return format_date(value, fmt, locale="ru")


def ru_datetime(value: dt.datetime | None) -> str:
    """«07.12.2026 15:30», Moscow time: Babel's Russian "dd.MM.yyyy HH:mm" has only numbers, so
    strftime prints the same text without the locale machinery (a list formats hundreds)."""
    if value is None:
        return ""
    return value.astimezone(LOCAL_TZ).strftime("%d.%m.%Y %H:%M")


# Russian separators from babel's locale data, looked up once: formatting goes through Python's
# own grouping, ~100x cheaper than format_decimal per call (a kanban page formats thousands).
_GROUP = get_group_symbol("ru")
_DECIMAL = get_decimal_symbol("ru")


def ru_number(value: Decimal | int | float | None, digits: int = 2) -> str:
    """1234567.891 -> «1 234 567,89» (no-break spaces), rounded half up."""
    if value is None:
        return ""
    quantum = Decimal(1).scaleb(-digits)
    number = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    text = f"{number:,.{digits}f}"
    return text.replace(",", "\x00").replace(".", _DECIMAL).replace("\x00", _GROUP)


_RU = Locale("ru")


def ru_plural(count: int, one: str, few: str, many: str) -> str:
    """«1 клиент», «2 клиента», «5 клиентов», by babel's Russian plural rules."""
    form = _RU.plural_form(count)
    return f"{count} {one if form == 'one' else few if form == 'few' else many}"


def page_href(number: int) -> str:
    """The current list's URL on page `number`: every other argument kept, repeated ones too
    (a filter by several statuses); built by hand — a pager has a dozen links on every list."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]
    args.append(("page", str(number)))
    return f"{request.script_root}{request.path}?{urlencode(args)}"


def fixed_url(endpoint: str, **values: str) -> str:
    """url_for of what is the same on every request (the layout's navigation and assets), built
    once per app and script root: the layout has some thirty links on every page."""
    cache = current_app.extensions.setdefault("erp_fixed_urls", {})
    key = (request.script_root, endpoint, *sorted(values.items()))
    url = cache.get(key)
    if url is None:
        url = cache[key] = url_for(endpoint, **values)
    return url


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(display_phone, "phone")
    app.add_template_filter(ru_date, "ru_date")
    app.add_template_filter(ru_datetime, "ru_datetime")
    app.add_template_filter(ru_number, "ru_number")
    app.add_template_global(ru_plural, "ru_plural")
    app.add_template_global(page_href, "page_href")
    app.add_template_global(fixed_url, "fixed_url")

    @app.context_processor
    def _inject() -> dict:
        # The user's permissions are looked up once per page, not at every `can()` of it.
        granted = permissions_of(current_user._get_current_object())

        def can(perm: Perm | str) -> bool:
            return Perm(perm) in granted

        nav = [i for i in NAVIGATION if i.perm is None or i.perm in granted]
        return {
            "can": can,
            "navigation": nav,
            "main_nav": [i for i in nav if i.group is None],
            "settings_nav": [i for i in nav if i.group == "settings"],
            "Perm": Perm,
            "ROLE_LABELS": ROLE_LABELS,
            "Role": Role,
        }
