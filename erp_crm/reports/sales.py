"""The manager's personal report, the department report and the project group's report: the
figures of `figures.py` counted by manager, in one query per kind of record (or read from the
pre-aggregated counters of `counters.py` where the filters allow).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from erp_crm.activities.models import Activity, ActivityType, Rating
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Role
from erp_crm.clients.models import Client
from erp_crm.db import utcnow
from erp_crm.deals.models import Deal
from erp_crm.projects.models import Project, ProjectMember, SalesPlan
from erp_crm.reports import counters
from erp_crm.reports.figures import (  # noqa: F401 - re-exported: the reports' one namespace
    ACTIVITY_FIGURES,
    DEAL_FIGURES,
    DEFINITIONS,
    FIGURES,
    FORWARD_DEFINITION,
    FORWARD_RESULTS,
    RECORD_KINDS,
    Figure,
    _dec,
    _done,
    _first_contact,
    _moved_after,
    activity_scope,
    count_if,
    count_records,
    deal_scope,
    in_period,
    pct,
    prepare,
    rating_scope,
    records_query,
    sum_if,
)
from erp_crm.reports.filters import ReportFilter, days_between

# --- counting -----------------------------------------------------------------------------------


def activity_counts(
    session: Session, f: ReportFilter, now: dt.datetime, *, by_type: bool = False
) -> dict[tuple, dict[str, int]]:
    """The contact figures by manager (and type). «Forward» is counted in two parts that add up
    to its condition: by result in the main scan, and by a stage move of the contact's deal in a
    second query whose EXISTS the database can run as a semi-join."""
    if counters.usable(f):
        months, edges = counters.split(f)
        if months:
            return _counted_activities(session, f, months, edges, now, by_type=by_type)
    return _live_activity_counts(session, f, now, by_type=by_type)


def _live_activity_counts(
    session: Session, f: ReportFilter, now: dt.datetime, *, by_type: bool = False
) -> dict[tuple, dict[str, int]]:
    keys: list[Any] = [Activity.responsible_id]
    if by_type:
        keys.append(Activity.type_id)
    plain = [k for k in ACTIVITY_FIGURES if k != "forward"]
    columns = [count_if(FIGURES[k].condition(f, now)).label(k) for k in plain]
    by_result = and_(_done(), Activity.result_kind.in_(FORWARD_RESULTS))
    columns.append(count_if(by_result).label("forward"))
    rows = session.execute(select(*keys, *columns).where(*activity_scope(f)).group_by(*keys)).all()
    out = {
        tuple(row[: len(keys)]): {k: int(row._mapping[k]) for k in ACTIVITY_FIGURES} for row in rows
    }
    moved = session.execute(
        select(*keys, func.count())
        .where(
            *activity_scope(f),
            _done(),
            Activity.result_kind.not_in(FORWARD_RESULTS),
            Activity.deal_id.is_not(None),
            _moved_after(),
        )
        .group_by(*keys)
    ).all()
    for row in moved:
        out[tuple(row[: len(keys)])]["forward"] += int(row[-1])
    return out


def _add(into: dict, key: Any, values: dict[str, Any]) -> None:
    row = into.setdefault(key, {})
    for k, v in values.items():
        row[k] = row.get(k, 0) + v


def _counted_activities(
    session: Session,
    f: ReportFilter,
    months: tuple[dt.date, dt.date],
    edges: list[ReportFilter],
    now: dt.datetime,
    *,
    by_type: bool,
) -> dict[tuple, dict[str, int]]:
    """The whole months' contact figures from the counters, the edge days' counted live, and
    «overdue» (it depends on now) live over the period — through the index on (status, start):
    the planned contacts already past are few."""
    out: dict[tuple, dict[str, int]] = {}
    for key, counts in counters.activity_sums(session, f, months, by_type=by_type).items():
        _add(out, key, {**counts, "overdue": 0})
    for edge in edges:
        for key, counts in _live_activity_counts(session, edge, now, by_type=by_type).items():
            _add(out, key, {**counts, "overdue": 0})
    keys: list[Any] = [Activity.responsible_id]
    if by_type:
        keys.append(Activity.type_id)
    overdue = session.execute(
        select(*keys, func.count())
        .where(*activity_scope(f), FIGURES["overdue"].condition(f, now))
        .group_by(*keys)
    ).all()
    for row in overdue:
        _add(out, tuple(row[: len(keys)]), {**{k: 0 for k in ACTIVITY_FIGURES}, "overdue": row[-1]})
    return out


def pairs_worked(session: Session, f: ReportFilter) -> dict[int, int]:
    """{manager: distinct client × project pairs with a done contact in the period}."""
    pairs = (
        select(Activity.responsible_id, Activity.client_id, Activity.project_id)
        .where(*activity_scope(f), _done())
        .distinct()
        .subquery()
    )
    return dict(
        session.execute(
            select(pairs.c.responsible_id, func.count()).group_by(pairs.c.responsible_id)
        ).all()
    )


def deal_counts(session: Session, f: ReportFilter, now: dt.datetime) -> dict[int, dict[str, Any]]:
    if counters.usable(f):
        months, edges = counters.split(f)
        if months:
            out: dict[int, dict[str, Any]] = {}
            for manager_id, values in counters.deal_sums(session, f, months).items():
                _add(out, manager_id, values)
            for edge in edges:
                for manager_id, values in _live_deal_counts(session, edge, now).items():
                    _add(out, manager_id, values)
            return out
    return _live_deal_counts(session, f, now)


def _live_deal_counts(
    session: Session, f: ReportFilter, now: dt.datetime
) -> dict[int, dict[str, Any]]:
    won = FIGURES["won"].condition(f, now)
    lost = FIGURES["lost"].condition(f, now)
    sale_days = days_between(_first_contact(), Deal.closed_at)
    rows = session.execute(
        select(
            Deal.manager_id,
            *[count_if(FIGURES[k].condition(f, now)).label(k) for k in DEAL_FIGURES],
            sum_if(won, Deal.area_m2).label("won_m2"),
            sum_if(won, Deal.amount).label("won_amount"),
            sum_if(lost, Deal.area_m2).label("lost_m2"),
            sum_if(lost, Deal.amount).label("lost_amount"),
        )
        .where(*deal_scope(f), or_(in_period(Deal.created_at, f), in_period(Deal.closed_at, f)))
        .group_by(Deal.manager_id)
    ).all()
    out = {}
    for row in rows:
        m = row._mapping
        out[row.manager_id] = {
            **{k: int(m[k]) for k in DEAL_FIGURES},
            "won_m2": _dec(m["won_m2"]),
            "won_amount": _dec(m["won_amount"]),
            "lost_m2": _dec(m["lost_m2"]),
            "lost_amount": _dec(m["lost_amount"]),
            "sale_days_sum": 0.0,
            "sale_days_n": 0,
        }
    # Days to the sale in a query of their own: the first contact is looked up once per won deal.
    days = (
        select(Deal.manager_id.label("manager_id"), sale_days.label("days"))
        .where(*deal_scope(f), won)
        .subquery()
    )
    for manager_id, total, n in session.execute(
        select(days.c.manager_id, func.sum(days.c.days), func.count(days.c.days)).group_by(
            days.c.manager_id
        )
    ):
        row = out.setdefault(manager_id, {})
        row["sale_days_sum"], row["sale_days_n"] = float(total or 0), int(n or 0)
    return out


def rating_counts(session: Session, f: ReportFilter, now: dt.datetime) -> dict[int, dict]:
    rows = session.execute(
        select(Rating.manager_id, func.count(Rating.id), func.sum(Rating.manager_score))
        .where(*rating_scope(f), FIGURES["rated"].condition(f, now))
        .group_by(Rating.manager_id)
    ).all()
    return {m: {"rated": int(n), "score_sum": int(s or 0)} for m, n, s in rows}


def plan_totals(session: Session, f: ReportFilter) -> dict[int, tuple[Decimal, Decimal]]:
    """{manager: (m², money)} planned for the months the period touches."""
    first, last = f.months()
    query = (
        select(SalesPlan.user_id, func.sum(SalesPlan.area_m2), func.sum(SalesPlan.amount))
        .where(SalesPlan.user_id.is_not(None), SalesPlan.month >= first, SalesPlan.month <= last)
        .group_by(SalesPlan.user_id)
    )
    if f.project_id:
        query = query.where(SalesPlan.project_id == f.project_id)
    if f.manager_id:
        query = query.where(SalesPlan.user_id == f.manager_id)
    return {u: (_dec(a), _dec(m)) for u, a, m in session.execute(query).all()}


# --- rows ---------------------------------------------------------------------------------------

ADDITIVE = (
    *ACTIVITY_FIGURES,
    "pairs",
    *DEAL_FIGURES,
    "won_m2",
    "won_amount",
    "lost_m2",
    "lost_amount",
    "sale_days_sum",
    "sale_days_n",
    "rated",
    "score_sum",
    "plan_m2",
    "plan_amount",
)


@dataclass
class Row:
    """One manager's figures (or the total: the sum of the rows)."""

    user_id: int | None
    name: str
    values: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.values.get(key, 0)

    @property
    def effectiveness(self) -> Decimal | None:
        return pct(self["forward"], self["done"])

    @property
    def on_time_pct(self) -> Decimal | None:
        return pct(self["on_time"], self["done"])

    @property
    def postponements_per_pair(self) -> Decimal | None:
        if not self["pairs"]:
            return None
        return (Decimal(self["postponed"]) / Decimal(self["pairs"])).quantize(Decimal("0.01"))

    @property
    def sale_days(self) -> Decimal | None:
        if not self["sale_days_n"]:
            return None
        return (Decimal(str(self["sale_days_sum"])) / self["sale_days_n"]).quantize(Decimal("0.1"))

    @property
    def rating_avg(self) -> Decimal | None:
        if not self["rated"]:
            return None
        return (Decimal(self["score_sum"]) / self["rated"]).quantize(Decimal("0.01"))

    @property
    def plan_m2_pct(self) -> Decimal | None:
        return pct(self["won_m2"], self["plan_m2"])

    @property
    def plan_amount_pct(self) -> Decimal | None:
        return pct(self["won_amount"], self["plan_amount"])

    def as_dict(self) -> dict[str, Any]:
        out = {k: _json(self[k]) for k in ADDITIVE}
        out.update(
            {
                "effectiveness_pct": _json(self.effectiveness),
                "on_time_pct": _json(self.on_time_pct),
                "postponements_per_pair": _json(self.postponements_per_pair),
                "sale_days_avg": _json(self.sale_days),
                "rating_avg": _json(self.rating_avg),
                "plan_m2_pct": _json(self.plan_m2_pct),
                "plan_amount_pct": _json(self.plan_amount_pct),
            }
        )
        return out


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return round(value, 4)
    return value


def _zero() -> dict[str, Any]:
    values: dict[str, Any] = {k: 0 for k in ADDITIVE}
    for k in ("won_m2", "won_amount", "lost_m2", "lost_amount", "plan_m2", "plan_amount"):
        values[k] = Decimal("0.00")
    values["sale_days_sum"] = 0.0
    return values


@dataclass
class TeamReport:
    """The department's or a project group's report: a row per manager and their total."""

    filter: ReportFilter
    rows: list[Row]
    total: Row
    title: str
    project: Project | None = None

    @property
    def ranking(self) -> list[tuple[int, Row]]:
        """Managers ranked by money sold, then m², then effectiveness (ties share a place)."""

        def key(row: Row) -> tuple:
            return (row["won_amount"], row["won_m2"], row.effectiveness or Decimal(0))

        ordered = sorted(self.rows, key=lambda r: r.name)
        ordered.sort(key=key, reverse=True)  # stable: by name within a tie
        out: list[tuple[int, Row]] = []
        for n, row in enumerate(ordered, start=1):
            place = out[-1][0] if out and key(out[-1][1]) == key(row) else n
            out.append((place, row))
        return out


def manager_rows(
    session: Session,
    f: ReportFilter,
    managers: Iterable[User],
    *,
    now: dt.datetime | None = None,
) -> tuple[list[Row], Row]:
    now = now or utcnow()
    prepare(session)
    values: dict[int, dict[str, Any]] = {}

    def of(user_id: int) -> dict[str, Any]:
        return values.setdefault(user_id, _zero())

    for (user_id,), counts in activity_counts(session, f, now).items():
        of(user_id).update(counts)
    for user_id, n in pairs_worked(session, f).items():
        of(user_id)["pairs"] = n
    for user_id, counts in deal_counts(session, f, now).items():
        of(user_id).update(counts)
    for user_id, counts in rating_counts(session, f, now).items():
        of(user_id).update(counts)
    for user_id, (m2, money) in plan_totals(session, f).items():
        of(user_id).update(plan_m2=m2, plan_amount=money)
    users = {u.id: u for u in managers}
    missing = [uid for uid in values if uid not in users]
    if missing:
        users.update({u.id: u for u in session.scalars(select(User).where(User.id.in_(missing)))})
    if f.manager_id:
        users = {k: v for k, v in users.items() if k == f.manager_id}
    rows = [
        Row(u.id, u.full_name, values.get(u.id, _zero()))
        for u in sorted(users.values(), key=lambda u: (u.full_name, u.id))
    ]
    total = Row(None, "Итого", _zero())
    for row in rows:
        for k in ADDITIVE:
            total.values[k] += row.values[k]
    return rows, total


def sellers(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User).where(
                User.is_active.is_(True),
                User.role.in_([Role.SALES_MANAGER.value, Role.HEAD_OF_SALES.value]),
            )
        )
    )


def department_report(
    session: Session, f: ReportFilter, *, now: dt.datetime | None = None
) -> TeamReport:
    rows, total = manager_rows(session, f, sellers(session), now=now)
    return TeamReport(f, rows, total, "Отчёт отдела продаж")


def project_group_report(
    session: Session, project: Project, f: ReportFilter, *, now: dt.datetime | None = None
) -> TeamReport:
    f = f.with_(project_id=project.id)
    members = session.scalars(
        select(User)
        .join(ProjectMember, ProjectMember.user_id == User.id)
        .where(ProjectMember.project_id == project.id)
    )
    rows, total = manager_rows(session, f, members, now=now)
    return TeamReport(f, rows, total, f"Отчёт группы проекта «{project.name}»", project)


# --- the personal report ------------------------------------------------------------------------


@dataclass
class TypeRow:
    type_id: int
    name: str
    counts: dict[str, int]

    @property
    def effectiveness(self) -> Decimal | None:
        return pct(self.counts["forward"], self.counts["done"])


@dataclass
class Pair:
    client_id: int
    client: str
    project_id: int | None
    project: str
    postponed: int


@dataclass
class PersonalReport:
    filter: ReportFilter
    user: User
    row: Row
    by_type: list[TypeRow]
    pairs: list[Pair]


def postponement_pairs(session: Session, f: ReportFilter, limit: int = 50) -> list[Pair]:
    """Client × project pairs by their postponements in the period, most first."""
    cond = FIGURES["postponed"].condition(f, utcnow())
    rows = session.execute(
        select(Activity.client_id, Client.name, Activity.project_id, Project.name, func.count())
        .join(Client, Client.id == Activity.client_id)
        .outerjoin(Project, Project.id == Activity.project_id)
        .where(*activity_scope(f), cond)
        .group_by(Activity.client_id, Client.name, Activity.project_id, Project.name)
        .order_by(func.count().desc(), Client.name)
        .limit(limit)
    ).all()
    return [Pair(c, cn, p, pn or "без проекта", n) for c, cn, p, pn, n in rows]


def personal_report(
    session: Session, user: User, f: ReportFilter, *, now: dt.datetime | None = None
) -> PersonalReport:
    now = now or utcnow()
    f = f.with_(manager_id=user.id)
    rows, _total = manager_rows(session, f, [user], now=now)
    types = {t.id: t for t in session.scalars(select(ActivityType))}
    by_type = [
        TypeRow(type_id, types[type_id].name if type_id in types else "—", counts)
        for (_uid, type_id), counts in activity_counts(session, f, now, by_type=True).items()
    ]
    by_type.sort(key=lambda t: (types[t.type_id].position if t.type_id in types else 0, t.name))
    return PersonalReport(f, user, rows[0], by_type, postponement_pairs(session, f))
