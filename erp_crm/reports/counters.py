"""Pre-aggregated report counters: the contact and deal figures per manager × project × (contact
type) × Moscow calendar month, so a year's department report sums a few thousand rows instead of
scanning a million contacts. A period's whole months come from the counters; the days of a month
the period covers only in part are counted live, with the same conditions (`split`).

A counter row is never edited by arithmetic: a change to a contact, a deal or the stage ledger
marks the buckets it touches (the old and the new key), and the bucket is recomputed from its
records with the very conditions of `figures.FIGURES` — in the same transaction, after the
flush that wrote the change. The migration's back-fill runs the same SELECT over every bucket at
once (`rebuild`), so live maintenance and the back-fill cannot disagree. What a key omits (the
client) never matters to a counter, except «days to the sale», which reads the client's first
contact: a merge or its undo re-points contacts by client, so it marks the clients' won deals.

Kinds: 'a' — contacts by the month of their start (planned, done, on_time, postponed,
forward); 'd' — deals: opened by the creation month; won / lost with m² and money, and the days
to the sale, by the closing month. Overdue depends on «now» and stays a live count; so do the
figures under a filter a key does not carry (pipeline, client group, client).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    and_,
    case,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from erp_crm.activities.models import Activity
from erp_crm.clients.models import Client
from erp_crm.deals.models import Deal, Outcome
from erp_crm.reports.figures import FIGURES, _first_contact
from erp_crm.reports.filters import MOSCOW, ReportFilter, days_between, moscow_midnight
from erp_crm.reports.models import ReportCounter, StageMove

ACTIVITY_COUNTERS = ("planned", "done", "on_time", "postponed", "forward")
DEAL_COUNTERS = ("opened", "won", "lost")
MONEY = ("won_m2", "won_amount", "lost_m2", "lost_amount")
ALL = (*ACTIVITY_COUNTERS, *DEAL_COUNTERS, *MONEY, "sale_days_sum", "sale_days_n")


COLUMNS = ["kind", "month", "manager_id", "project_id", "type_id", *ALL]


class moscow_month(FunctionElement):  # noqa: N801 - reads as the SQL function it is
    """The first day of the Moscow calendar month of a UTC moment (UTC+3, Moscow's offset
    since 2014)."""

    type = Date()
    inherit_cache = True
    name = "moscow_month"


@compiles(moscow_month)
def _moscow_month_pg(element: moscow_month, compiler: Any, **kw: Any) -> str:
    (moment,) = list(element.clauses)
    return (
        f"CAST(date_trunc('month', timezone('Europe/Moscow', {compiler.process(moment, **kw)}))"
        " AS DATE)"
    )


@compiles(moscow_month, "sqlite")
def _moscow_month_sqlite(element: moscow_month, compiler: Any, **kw: Any) -> str:
    (moment,) = list(element.clauses)
    return f"date({compiler.process(moment, **kw)}, '+3 hours', 'start of month')"


def _count(cond: Any) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _sum(cond: Any, column: Any) -> Any:
    return func.coalesce(func.sum(case((cond, column), else_=0)), 0)


def _zeros(names: tuple[str, ...]) -> list[Any]:
    return [literal(0).label(n) for n in names]


def _activity_select(where: list[Any]) -> Any:
    """The contact counters of the buckets the conditions select, grouped by bucket."""
    project = func.coalesce(Activity.project_id, 0)
    type_id = func.coalesce(Activity.type_id, 0)
    month = moscow_month(Activity.starts_at)
    never = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    now = never  # no contact counter depends on «now» (overdue is live)
    f = ReportFilter(date_from=dt.date(1970, 1, 1), date_to=dt.date(1970, 1, 1))
    return (
        select(
            literal("a").label("kind"),
            month.label("month"),
            Activity.responsible_id.label("manager_id"),
            project.label("project_id"),
            type_id.label("type_id"),
            *[_count(FIGURES[k].condition(f, now)).label(k) for k in ACTIVITY_COUNTERS],
            *_zeros((*DEAL_COUNTERS, *MONEY, "sale_days_sum", "sale_days_n")),
        )
        .where(*where)
        .group_by(month, Activity.responsible_id, project, type_id)
    )


def _deal_select(where_created: list[Any], where_closed: list[Any]) -> Any:
    """The deal counters: opened by the creation month; won / lost, m², money and the days to
    the sale by the closing month (two parts, summed by bucket)."""
    won = Deal.outcome == Outcome.WON.value
    lost = Deal.outcome == Outcome.LOST.value
    created = select(
        Deal.manager_id.label("manager_id"),
        func.coalesce(Deal.project_id, 0).label("project_id"),
        moscow_month(Deal.created_at).label("month"),
        literal(1).label("opened"),
        *[literal(0).label(n) for n in ("won", "lost", *MONEY, "sale_days_sum", "sale_days_n")],
    ).where(*where_created)
    sale_days = days_between(_first_contact(), Deal.closed_at)
    closed = select(
        Deal.manager_id.label("manager_id"),
        func.coalesce(Deal.project_id, 0).label("project_id"),
        moscow_month(Deal.closed_at).label("month"),
        literal(0).label("opened"),
        case((won, 1), else_=0).label("won"),
        case((lost, 1), else_=0).label("lost"),
        case((won, Deal.area_m2), else_=0).label("won_m2"),
        case((won, Deal.amount), else_=0).label("won_amount"),
        case((lost, Deal.area_m2), else_=0).label("lost_m2"),
        case((lost, Deal.amount), else_=0).label("lost_amount"),
        case((won, func.coalesce(sale_days, 0.0)), else_=0.0).label("sale_days_sum"),
        case((and_(won, sale_days.is_not(None)), 1), else_=0).label("sale_days_n"),
    ).where(Deal.outcome.in_([Outcome.WON.value, Outcome.LOST.value]), *where_closed)
    parts = union_all(created, closed).subquery()
    return select(
        literal("d").label("kind"),
        parts.c.month,
        parts.c.manager_id,
        parts.c.project_id,
        literal(0).label("type_id"),
        *_zeros(ACTIVITY_COUNTERS),
        *[func.sum(parts.c[k]).label(k) for k in DEAL_COUNTERS],
        *[func.sum(parts.c[k]).label(k) for k in MONEY],
        func.sum(parts.c.sale_days_sum).label("sale_days_sum"),
        func.sum(parts.c.sale_days_n).label("sale_days_n"),
    ).group_by(parts.c.month, parts.c.manager_id, parts.c.project_id)


def _insert(connection: Any, query: Any) -> None:
    connection.execute(insert(ReportCounter.__table__).from_select(COLUMNS, query))


def rebuild(connection: Any) -> None:
    """Every counter from the records (the migration's back-fill; also after a bulk load)."""
    connection.execute(delete(ReportCounter.__table__))
    _insert(connection, _activity_select([]))
    _insert(connection, _deal_select([], [Deal.closed_at.is_not(None)]))


# --- live maintenance ---------------------------------------------------------------------------

Bucket = tuple[str, int, int, int, dt.date]  # kind, manager, project, type, month


def month_of(moment: dt.datetime | None) -> dt.date | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(MOSCOW).date().replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1)


def _span(column: Any, month: dt.date) -> Any:
    return and_(column >= moscow_midnight(month), column < moscow_midnight(next_month(month)))


def recompute(connection: Any, buckets: set[Bucket]) -> None:
    """Each bucket's counter row again from its records (deleted when it has none)."""
    table = ReportCounter.__table__
    for kind, manager, project, type_id, month in sorted(buckets, key=repr):
        connection.execute(
            delete(table).where(
                table.c.kind == kind,
                table.c.month == month,
                table.c.manager_id == manager,
                table.c.project_id == project,
                table.c.type_id == type_id,
            )
        )
        if kind == "a":
            query = _activity_select(
                [
                    Activity.responsible_id == manager,
                    func.coalesce(Activity.project_id, 0) == project,
                    func.coalesce(Activity.type_id, 0) == type_id,
                    _span(Activity.starts_at, month),
                ]
            )
        else:
            mine = [Deal.manager_id == manager, func.coalesce(Deal.project_id, 0) == project]
            query = _deal_select(
                [*mine, _span(Deal.created_at, month)], [*mine, _span(Deal.closed_at, month)]
            )
        _insert(connection, query)


ACTIVITY_KEY = ("responsible_id", "project_id", "type_id", "starts_at", "client_id")
DEAL_KEY = ("manager_id", "project_id", "created_at", "closed_at", "client_id")


def _activity_buckets(keys: list[tuple[Any, ...]]) -> set[Bucket]:
    out: set[Bucket] = set()
    for manager, project, type_id, starts_at, _client in keys:
        month = month_of(starts_at)
        if manager is not None and month is not None:
            out.add(("a", manager, project or 0, type_id or 0, month))
    return out


def _deal_buckets(keys: list[tuple[Any, ...]]) -> set[Bucket]:
    out: set[Bucket] = set()
    for manager, project, created_at, closed_at, _client in keys:
        if manager is None:
            continue
        for moment in (created_at, closed_at):
            month = month_of(moment)
            if month is not None:
                out.add(("d", manager, project or 0, 0, month))
    return out


def _pending(session: Session) -> dict[str, set]:
    return session.info.setdefault(
        "report_counters", {"buckets": set(), "deals": set(), "pairs": set(), "clients": set()}
    )


def _stored_keys(session: Session, model: Any, names: tuple[str, ...], ids: list[int]) -> list:
    """The keys of the rows as the database has them before this flush writes (an attribute
    set while expired has no old value in its history)."""
    if not ids:
        return []
    columns = [getattr(model, n) for n in names]
    with session.no_autoflush:
        return [
            tuple(r)
            for r in session.connection().execute(select(*columns).where(model.id.in_(ids)))
        ]


@event.listens_for(Session, "before_flush")
def _collect(session: Session, _context: Any, _instances: Any) -> None:
    pending = _pending(session)
    changed = [*session.new, *session.dirty, *session.deleted]
    activities = [o for o in changed if isinstance(o, Activity)]
    deals = [o for o in changed if isinstance(o, Deal)]
    moves = [o for o in changed if isinstance(o, StageMove)]
    if not (activities or deals or moves or any(isinstance(o, Client) for o in changed)):
        return
    stored = [o.id for o in activities if o.id is not None]
    keys = [tuple(getattr(o, n) for n in ACTIVITY_KEY) for o in activities]
    keys += _stored_keys(session, Activity, ACTIVITY_KEY, stored)
    pending["buckets"] |= _activity_buckets(keys)
    # «days to the sale» of the won deals of the contacts' client × project
    pending["pairs"] |= {(k[4], k[1]) for k in keys if k[4] is not None}
    stored = [o.id for o in deals if o.id is not None]
    keys = [tuple(getattr(o, n) for n in DEAL_KEY) for o in deals]
    keys += _stored_keys(session, Deal, DEAL_KEY, stored)
    pending["buckets"] |= _deal_buckets(keys)
    pending["deals"] |= {o.deal_id for o in moves if o.deal_id is not None}
    # A merge (merged_into_id set) or its undo (cleared): the merge re-points the clients'
    # contacts and deals afterwards, by SQL; their won deals are recomputed at the commit.
    merged = [
        o
        for o in changed
        if isinstance(o, Client)
        and o.id is not None
        and inspect(o).attrs.merged_into_id.history.has_changes()
    ]
    if merged:
        ids = {o.id for o in merged} | {o.merged_into_id for o in merged}
        ids |= {r[0] for r in _stored_keys(session, Client, ("merged_into_id",), list(ids))}
        pending["clients"] |= {i for i in ids if i is not None}


@event.listens_for(Session, "after_flush")
def _apply(session: Session, _context: Any) -> None:
    refresh(session, clients=False)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.info.get("report_counters"):
        refresh(session)


def refresh(session: Session, *, clients: bool = True) -> None:
    """Recompute the marked buckets now (in the session's transaction). The clients a merge
    marked wait for the commit (`clients=True`): the merge re-points their records after the
    flush that follows its signal."""
    pending = session.info.get("report_counters")
    if not pending or not any(pending.values()):
        return
    session.info.pop("report_counters", None)
    if not clients and pending["clients"]:
        _pending(session)["clients"] = pending["clients"]
        pending = {**pending, "clients": set()}
    connection = session.connection()
    buckets: set[Bucket] = set(pending["buckets"])
    if pending["deals"]:
        # a stage move can make a contact of its deal «forward» (done within a day before it)
        rows = connection.execute(
            select(
                Activity.responsible_id,
                Activity.project_id,
                Activity.type_id,
                Activity.starts_at,
                Activity.client_id,
            ).where(Activity.deal_id.in_(pending["deals"]), Activity.completed_at.is_not(None))
        ).all()
        buckets |= _activity_buckets([tuple(r) for r in rows])
    deal_where = []
    if pending["pairs"]:
        deal_where.append(
            or_(
                *[
                    and_(Deal.client_id == c, func.coalesce(Deal.project_id, 0) == (p or 0))
                    for c, p in pending["pairs"]
                ]
            )
        )
    if pending["clients"]:
        deal_where.append(Deal.client_id.in_(pending["clients"]))
    if deal_where:
        rows = connection.execute(
            select(
                Deal.manager_id, Deal.project_id, Deal.created_at, Deal.closed_at, Deal.client_id
            ).where(or_(*deal_where), Deal.outcome == Outcome.WON.value)
        ).all()
        buckets |= {b for b in _deal_buckets([tuple(r) for r in rows])}
    recompute(connection, buckets)


# --- reading ------------------------------------------------------------------------------------


def usable(f: ReportFilter) -> bool:
    """The counters' keys carry the period, project, manager and contact type only."""
    return not (f.pipeline_id or f.group_id or f.client_id or f.stage_id)


def split(f: ReportFilter) -> tuple[tuple[dt.date, dt.date] | None, list[ReportFilter]]:
    """The period's whole months as (first, last) month read from the counters (None when it
    has none), and the filters of the edge days counted live."""
    first = f.date_from if f.date_from.day == 1 else next_month(f.date_from.replace(day=1))
    end = next_month(f.date_to.replace(day=1))  # the first month after the last whole one
    if end - dt.timedelta(days=1) != f.date_to:
        end = f.date_to.replace(day=1)
    if first >= end:
        return None, [f]
    edges = []
    if f.date_from < first:
        edges.append(f.with_(date_to=first - dt.timedelta(days=1)))
    if end <= f.date_to:
        edges.append(f.with_(date_from=end))
    last = end - dt.timedelta(days=1)
    return (first, last.replace(day=1)), edges


def _scope(f: ReportFilter, kind: str, months: tuple[dt.date, dt.date]) -> list[Any]:
    c = ReportCounter
    conds = [c.kind == kind, c.month >= months[0], c.month <= months[1]]
    if f.project_id:
        conds.append(c.project_id == f.project_id)
    if f.manager_id:
        conds.append(c.manager_id == f.manager_id)
    if f.type_id and kind == "a":
        conds.append(c.type_id == f.type_id)
    return conds


def activity_sums(
    session: Session, f: ReportFilter, months: tuple[dt.date, dt.date], *, by_type: bool
) -> dict[tuple, dict]:
    refresh(session)  # what this transaction marked and has not recomputed yet (a merge)
    c = ReportCounter
    keys = [c.manager_id, c.type_id] if by_type else [c.manager_id]
    rows = session.execute(
        select(*keys, *[func.sum(getattr(c, k)) for k in ACTIVITY_COUNTERS])
        .where(*_scope(f, "a", months))
        .group_by(*keys)
    ).all()
    return {
        tuple(r[: len(keys)]): {
            k: int(v or 0) for k, v in zip(ACTIVITY_COUNTERS, r[len(keys) :], strict=True)
        }
        for r in rows
    }


def deal_sums(
    session: Session, f: ReportFilter, months: tuple[dt.date, dt.date]
) -> dict[int, dict[str, Any]]:
    refresh(session)
    c = ReportCounter
    names = (*DEAL_COUNTERS, *MONEY, "sale_days_sum", "sale_days_n")
    rows = session.execute(
        select(c.manager_id, *[func.sum(getattr(c, k)) for k in names])
        .where(*_scope(f, "d", months))
        .group_by(c.manager_id)
    ).all()
    out = {}
    for r in rows:
        values = dict(zip(names, r[1:], strict=True))
        out[r[0]] = {
            **{k: int(values[k] or 0) for k in DEAL_COUNTERS},
            **{k: Decimal(str(values[k] or 0)).quantize(Decimal("0.01")) for k in MONEY},
            "sale_days_sum": float(values["sale_days_sum"] or 0),
            "sale_days_n": int(values["sale_days_n"] or 0),
        }
    return out
