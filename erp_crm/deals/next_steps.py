"""A deal's next step is its nearest planned contact (the activities area answers): no separate
date on the deal that could be lost. An open deal without one is flagged «без следующего шага»."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Select
from sqlalchemy.orm import Session

from erp_crm import signals

NO_NEXT_STEP = "Сделка без следующего шага: запланируйте контакт."


def next_contacts(session: Session, deal_ids: Iterable[int]) -> dict[int, dt.datetime]:
    """{deal id: start (UTC) of its nearest planned contact} for the deals that have one."""
    ids = sorted(set(deal_ids))
    found: dict[int, dt.datetime] = {}
    for answer in signals.answers(signals.deal_next_contacts, session=session, deal_ids=ids):
        for deal_id, start in answer.items():
            if deal_id not in found or start < found[deal_id]:
                found[deal_id] = start
    return found


def with_next_step(session: Session, deals: Select[tuple[int]]) -> set[int]:
    """The ids among `deals` (a SELECT of deal ids, run inside the answer's query, so thousands of
    deals cost no list of bound ids) that have a planned contact."""
    found: set[int] = set()
    for answer in signals.answers(signals.deal_next_contacts, session=session, deal_ids=deals):
        found.update(answer)
    return found


def next_contact(session: Session, deal_id: int) -> dt.datetime | None:
    return next_contacts(session, [deal_id]).get(deal_id)
