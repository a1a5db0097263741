"""Demo data of the reports: the ledger follows the deals demo's back-dated stage history.

The deals demo spreads each deal's stage changes over the past months after the services stamped
them «now»; the ledger rows written by the receiver take the same moments, so the demo funnel's
times in stage and velocity read like a real season.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from erp_crm.deals.models import DealStageChange
from erp_crm.reports.models import StageMove


def sync_demo_ledger(session: Session) -> int:
    """Give every ledger row its deal stage change's moment; returns the rows touched."""
    session.flush()
    moment = (
        select(DealStageChange.at)
        .where(DealStageChange.id == StageMove.change_id)
        .scalar_subquery()
    )
    result = session.execute(
        update(StageMove)
        .where(StageMove.change_id.is_not(None))
        .values(at=moment)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
