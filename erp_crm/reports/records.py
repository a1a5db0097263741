"""The drill-down's page: the records behind a figure as plain rows with the list's columns (one
COUNT and one statement joining what each row shows; no ORM object per row — the page lists 50
of possibly thousands and is opened from every figure of every report)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from erp_crm.activities.models import Activity, ActivityType, Rating
from erp_crm.auth.models import User
from erp_crm.clients.models import Client
from erp_crm.core.pagination import Page, page_bounds
from erp_crm.deals.models import Deal, Stage
from erp_crm.reports.figures import FIGURES, records_query
from erp_crm.reports.filters import ReportFilter


def _columns(kind: str, query: Any) -> Any:
    """The figure's SELECT of records narrowed to the list's columns, with their joins."""
    if kind == "activity":
        return (
            query.with_only_columns(
                Activity.id,
                Activity.starts_at,
                Activity.goal,
                Activity.status,
                Activity.result_kind,
                ActivityType.name.label("type_name"),
                Client.name.label("client_name"),
                User.full_name.label("responsible_name"),
                maintain_column_froms=True,
            )
            .join(ActivityType, ActivityType.id == Activity.type_id)
            .join(Client, Client.id == Activity.client_id)
            .join(User, User.id == Activity.responsible_id)
        )
    if kind == "deal":
        return (
            query.with_only_columns(
                Deal.id,
                Deal.title,
                Deal.area_m2,
                Deal.amount,
                Deal.closed_at,
                Client.name.label("client_name"),
                User.full_name.label("manager_name"),
                Stage.name.label("stage_name"),
                maintain_column_froms=True,
            )
            .join(Client, Client.id == Deal.client_id)
            .join(User, User.id == Deal.manager_id)
            .join(Stage, Stage.id == Deal.stage_id)
        )
    return (
        query.with_only_columns(
            Rating.id,
            Rating.recorded_at,
            Rating.manager_score,
            Rating.project_score,
            Rating.company_score,
            Rating.comment,
            Client.name.label("client_name"),
            User.full_name.label("manager_name"),
            maintain_column_froms=True,
        )
        .join(Client, Client.id == Rating.client_id)
        .outerjoin(User, User.id == Rating.manager_id)
    )


def records_page(
    session: Session,
    f: ReportFilter,
    figure: str,
    *,
    page: int,
    per_page: int,
    now: dt.datetime | None = None,
) -> Page:
    """One page of the records behind `figure` (the pager's page is clamped to the last)."""
    query = records_query(f, figure, now)
    total = (
        session.scalar(
            query.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
        )
        or 0
    )
    page, offset = page_bounds(total, page, per_page)
    rows = session.execute(_columns(FIGURES[figure].kind, query).limit(per_page).offset(offset))
    return Page(items=list(rows), page=page, per_page=per_page, total=total)
