"""Demo documents: a full package for a few deals and invoices for the deals that reached the
contract stage, so the registry, the accountant's pages and the exchange have something real."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.deals.models import Deal, Outcome, Stage
from erp_crm.errors import DomainError
from erp_crm.sales_documents import services


def load_demo_documents(session: Session, users: dict[str, User], *, limit: int = 12) -> int:
    accountant = users["accountant"]
    deals = session.scalars(
        select(Deal)
        .join(Stage, Stage.id == Deal.stage_id)
        .where(Deal.outcome != Outcome.LOST.value, Deal.amount > 0, Stage.percent >= 60)
        .order_by(Deal.id)
        .limit(limit)
    ).all()
    issued = 0
    today = dt.date.today()
    # In date order, as an accountant issues them: numbers grow with the dates. The older
    # invoices first (31, 28 … 7 days ago), then today's full packages.
    dated = [
        (today - dt.timedelta(days=40 - 3 * n), deal) for n, deal in enumerate(deals) if n >= 3
    ]
    for day, deal in [*dated, *((None, deal) for deal in deals[:3])]:
        try:
            with session.begin_nested():
                if day is None:
                    issued += len(services.issue_package(session, deal, actor=accountant))
                else:
                    services.issue_document(session, deal, "invoice", actor=accountant, on=day)
                    issued += 1
        except DomainError:
            continue  # a demo deal without ИНН, say: skip it
    return issued
