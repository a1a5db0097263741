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
    for n, deal in enumerate(deals):
        try:
            with session.begin_nested():
                if n < 3:
                    issued += len(services.issue_package(session, deal, actor=accountant))
                else:
                    services.issue_document(session, deal, "invoice", actor=accountant,
                                            on=today - dt.timedelta(days=40 - 3 * n))
                    issued += 1
        except DomainError:
            continue  # a demo deal without ИНН, say: skip it
    return issued
