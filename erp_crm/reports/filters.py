"""The reports' filters (pages, drill-downs, exports and the API read the same ones) and the SQL
helpers every report shares."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from erp_crm.errors import ValidationError

MOSCOW = ZoneInfo("Europe/Moscow")


def moscow_midnight(day: dt.date) -> dt.datetime:
    """The UTC moment a Moscow calendar day starts."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=MOSCOW).astimezone(dt.UTC)


def parse_id(raw: Any) -> int | None:
    """A record id from a query string, or None (malformed, not positive, beyond int4)."""
    try:
        value = int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return value if value is None or 0 < value < 2**31 else None


def _date(raw: Any, name: str, errors: dict[str, str]) -> dt.date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        errors[name] = "Дата в формате ГГГГ-ММ-ДД."
        return None


@dataclass(frozen=True)
class ReportFilter:
    """Period (Moscow calendar days, both ends included), project, pipeline, manager, client
    group; `client_id` and `type_id` narrow a drill-down (postponements per client × project,
    a contact type's row). Malformed ids are ignored; a malformed or reversed period is a
    ValidationError."""

    date_from: dt.date
    date_to: dt.date
    project_id: int | None = None
    pipeline_id: int | None = None
    manager_id: int | None = None
    group_id: int | None = None
    client_id: int | None = None
    type_id: int | None = None  # a contact type (the drill-down of the by-type table)
    stage_id: int | None = None  # a stage (the funnel's drill-downs)

    @classmethod
    def default(cls, today: dt.date | None = None) -> ReportFilter:
        today = today or dt.datetime.now(MOSCOW).date()
        return cls(date_from=today.replace(month=1, day=1), date_to=today.replace(month=12, day=31))

    @classmethod
    def from_args(cls, args: Any, today: dt.date | None = None) -> ReportFilter:
        base = cls.default(today)
        errors: dict[str, str] = {}
        date_from = _date(args.get("date_from"), "date_from", errors) or base.date_from
        date_to = _date(args.get("date_to"), "date_to", errors) or base.date_to
        if not errors and date_from > date_to:
            errors["date_to"] = "Конец периода раньше его начала."
        if not errors and (date_to - date_from).days > 366 * 5:
            errors["date_to"] = "Период — не длиннее пяти лет."
        if errors:
            raise ValidationError(fields=errors)
        return cls(
            date_from=date_from,
            date_to=date_to,
            project_id=parse_id(args.get("project_id")),
            pipeline_id=parse_id(args.get("pipeline_id")),
            manager_id=parse_id(args.get("manager_id")),
            group_id=parse_id(args.get("group_id")),
            client_id=parse_id(args.get("client_id")),
            type_id=parse_id(args.get("type_id")),
            stage_id=parse_id(args.get("stage_id")),
        )

    @property
    def starts(self) -> dt.datetime:
        return moscow_midnight(self.date_from)

    @property
    def ends(self) -> dt.datetime:  # exclusive
        return moscow_midnight(self.date_to + dt.timedelta(days=1))

    def months(self) -> tuple[dt.date, dt.date]:
        return self.date_from.replace(day=1), self.date_to.replace(day=1)

    def with_(self, **changes: Any) -> ReportFilter:
        return replace(self, **changes)

    def args(self, **extra: Any) -> dict[str, Any]:
        """Query-string arguments (for links and exports): only what is set."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value.isoformat() if isinstance(value, dt.date) else value
        out.update({k: v for k, v in extra.items() if v is not None})
        return out


class days_between(FunctionElement):  # noqa: N801 - reads as the SQL function it is
    """(end − start) in days, as a float, on PostgreSQL and SQLite."""

    type = Float()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between_pg(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (
        f"(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - "
        f"{compiler.process(start, **kw)})) / 86400.0)"
    )


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return (
        f"(julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}))"
    )
