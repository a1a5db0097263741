"""The reports area's receivers of the cross-area signals (connected on import)."""

from __future__ import annotations

from typing import Any

from erp_crm import signals
from erp_crm.db import utcnow
from erp_crm.reports.models import StageMove


@signals.deal_stage_changed.connect
def record_stage_move(deal: Any, **kwargs: Any) -> None:
    """Write the move into the ledger with the deal's m², amount, manager and outcome now."""
    session = kwargs["session"]
    change = kwargs.get("change")
    from_stage = kwargs.get("from_stage")
    to_stage = kwargs["to_stage"]
    actor = kwargs.get("actor")
    session.add(
        StageMove(
            change_id=change.id if change is not None else None,
            deal_id=deal.id,
            project_id=deal.project_id,
            pipeline_id=to_stage.pipeline_id,
            from_stage_id=from_stage.id if from_stage is not None else None,
            to_stage_id=to_stage.id,
            from_percent=from_stage.percent if from_stage is not None else None,
            to_percent=to_stage.percent,
            at=(change.at if change is not None and change.at is not None else utcnow()),
            actor_id=actor.id if actor is not None else None,
            manager_id=deal.manager_id,
            area_m2=deal.area_m2 or 0,
            amount=deal.amount or 0,
            outcome=deal.outcome,
        )
    )
    session.flush()
